{%- set questions = ['q_trust', 'q_future', 'q_stay'] -%}
{#- The columns that make two rows the same (lineage columns excluded). -#}
{%- set business_columns = [
    'locality_code', 'period', 'response_id', 'started_at', 'submitted_at', 'status',
    'language', 'weight', 'neighborhood', 'age_group', 'gender', 'origin'
] + questions -%}

with

source as (

    select * from {{ source('raw', 'survey_responses') }}
    where {{ in_changed_localities() }}

),

deduplicated as (

    -- a response repeated exactly (same file received twice, or a line duplicated) counts once
    {{ deduplicate_exact_repeats('source', business_columns) }}

),

final as (

    select
        cast(locality_code as integer) as locality_code,
        cast(period as integer) as period,
        {{ clean_text('response_id') }} as response_id,
        started_at,
        submitted_at,
        status,
        coalesce(status = 'Complete', false) as is_complete,
        language,
        -- Exact decimals: weighted sums then do not depend on the order in which threads
        -- add them up, so a re-run gives the same bits (the vendor sends 4 decimals).
        cast(weight as decimal(18, 6)) as weight,
        {{ clean_text('neighborhood') }} as neighborhood,
        {{ clean_text('age_group') }} as age_group,
        case trim(gender) when 'גבר' then 'male' when 'אישה' then 'female' end as gender,
        -- INDICATORS.md: ethiopian_origin when the answer is אתיופיה, otherwise other
        case when trim(origin) = 'אתיופיה' then 'ethiopian_origin' else 'other' end as community,
        {%- for question in questions %}
        case when {{ question }} between 1 and 5 then cast({{ question }} as integer) end
            as {{ question }}_score,
        case
            when {{ question }} between 1 and 5 then 'answered'
            when {{ question }} = -99 then 'dont_know'
            else 'skipped'
        end as {{ question }}_status,
        {%- endfor %}
        _file_name as source_file_name,
        _row_number as source_row_number

    from deduplicated

)

select * from final
