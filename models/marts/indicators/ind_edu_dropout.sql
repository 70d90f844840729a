with

pupils as (

    select * from {{ ref('int_pupils_enriched') }}
    where {{ in_changed_localities() }}
        and grade between 7 and 12

),

pupils_by_dimension as (

    {{ explode_dimensions('pupils', {}) }}

),

cells as (

    select
        locality_code,
        period,
        dimension,
        dimension_value,
        count(distinct pupil_key) filter (where has_dropped_out) as numerator,
        count(distinct pupil_key) as denominator
    from pupils_by_dimension
    group by locality_code, period, dimension, dimension_value

),

final as (

    select
        {{ indicator_value_columns(indicator_id='edu_dropout') }}
    from cells

)

select * from final
