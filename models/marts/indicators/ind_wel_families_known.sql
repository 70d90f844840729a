with

households as (

    select * from {{ ref('int_households_on_jan1') }}
    where {{ in_changed_localities() }}
        and is_known_to_welfare is not null

),

households_by_dimension as (

    {{ explode_dimensions('households', {
        'neighborhood': 'neighborhood'
    }) }}

),

cells as (

    select
        locality_code,
        period,
        dimension,
        dimension_value,
        count(distinct household_number) filter (where is_known_to_welfare) as numerator,
        count(distinct household_number) as denominator
    from households_by_dimension
    group by locality_code, period, dimension, dimension_value

),

final as (

    select
        {{ indicator_value_columns(indicator_id='wel_families_known') }}
    from cells

)

select * from final
