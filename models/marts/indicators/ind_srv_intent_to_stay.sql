with

answers as (

    select * from {{ ref('int_survey_answers') }}
    where question = 'q_stay'
        and is_in_share

),

answers_by_dimension as (

    {{ explode_dimensions('answers', {
        'community': 'community',
        'neighborhood': 'neighborhood',
        'age_group': 'age_group'
    }) }}

),

cells as (

    select
        locality_code,
        period,
        dimension,
        dimension_value,
        sum(weight) filter (where is_agreement) as numerator,
        sum(weight) as denominator,
        count(*) as unweighted_count
    from answers_by_dimension
    group by locality_code, period, dimension, dimension_value

),

final as (

    select
        'srv_intent_to_stay' as indicator_id,
        cast(period as integer) as period,
        cast(locality_code as integer) as locality_code,
        dimension,
        dimension_value,
        cast(coalesce(numerator, 0) as double) as numerator,
        cast(denominator as double) as denominator,
        100.0 * coalesce(numerator, 0) / nullif(denominator, 0) as value,
        cast(unweighted_count as bigint) as unweighted_count
    from cells

)

select * from final
