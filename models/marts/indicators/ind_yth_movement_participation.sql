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
        {{ indicator_value_columns(indicator_id='yth_movement_participation') }}
    from cells

)

select * from final
