with

pupils as (

    select * from {{ ref('int_pupils_enriched') }}
    where grade between 7 and 12

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
        'edu_dropout' as indicator_id,
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
