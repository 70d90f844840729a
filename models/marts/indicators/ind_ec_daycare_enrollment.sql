with

children as (

    select * from {{ ref('int_early_childhood_enrolment') }}
    where age_in_year between 1 and 2

),

children_by_dimension as (

    {{ explode_dimensions('children', {
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
        count(distinct person_key) filter (where is_in_daycare) as numerator,
        count(distinct person_key) as denominator
    from children_by_dimension
    group by locality_code, period, dimension, dimension_value

),

final as (

    select
        {{ indicator_value_columns(indicator_id='ec_daycare_enrollment') }}
    from cells

)

select * from final
