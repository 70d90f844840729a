{%- set questions = ['q_trust', 'q_future', 'q_stay'] -%}

with

responses as (

    select * from {{ ref('stg_surveys__responses') }}
    where {{ in_changed_localities() }}

),

answers as (

    {%- for question in questions %}
    {% if not loop.first %}union all{% endif %}
    select
        locality_code,
        period,
        response_id,
        '{{ question }}' as question,
        {{ question }}_score as score,
        {{ question }}_status as answer_status,
        is_complete,
        weight,
        community,
        neighborhood,
        age_group
    from responses
    {%- endfor %}

),

final as (

    select
        locality_code,
        period,
        response_id,
        question,
        score,
        answer_status,
        is_complete,
        weight,
        -- a response counts in a survey share when complete and answered 1-5
        -- (don't know = -99 and skipped answers are left out)
        coalesce(is_complete and score between 1 and 5, false) as is_in_share,
        coalesce(score >= 4, false) as is_agreement,
        community,
        coalesce(neighborhood, 'unknown') as neighborhood,
        coalesce(age_group, 'unknown') as age_group
    from answers

)

select * from final
