with

grade_12_pupils as (

    select * from {{ ref('int_pupils_enriched') }}
    where grade = 12

),

pupils_by_dimension as (

    {{ explode_dimensions('grade_12_pupils', {
        'school': 'school_code',
        'gender': 'gender',
        'community': 'community',
        'neighborhood': 'neighborhood'
    }) }}

),

cells as (

    select
        locality_code,
        period,
        dimension,
        dimension_value,
        count(distinct pupil_key) filter (where is_bagrut_eligible) as numerator,
        count(distinct pupil_key) as denominator
    from pupils_by_dimension
    group by locality_code, period, dimension, dimension_value

),

final as (

    select
        'edu_bagrut_eligibility' as indicator_id,
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
