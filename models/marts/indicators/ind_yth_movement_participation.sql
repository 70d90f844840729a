with

youth as (

    select * from {{ ref('int_youth_participation') }}

),

youth_by_dimension as (

    {{ explode_dimensions('youth', {
        'gender': 'gender',
        'community': 'community',
        'neighborhood': "coalesce(neighborhood, 'unknown')"
    }) }}

),

cells as (

    select
        locality_code,
        period,
        dimension,
        dimension_value,
        count(distinct person_key) filter (where is_active_member) as numerator,
        count(distinct person_key) as denominator
    from youth_by_dimension
    group by locality_code, period, dimension, dimension_value

),

final as (

    select
        'yth_movement_participation' as indicator_id,
        cast(period as integer) as period,
        cast(locality_code as integer) as locality_code,
        dimension,
        dimension_value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        100.0 * numerator / denominator as value,
        cast(denominator as bigint) as unweighted_count
    from cells

)

select * from final
