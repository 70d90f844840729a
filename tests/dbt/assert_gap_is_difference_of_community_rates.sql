-- The bagrut gap equals the eligibility rate of `other` minus that of `ethiopian_origin`.
with

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

rates as (

    select
        locality_code,
        period,
        max(value) filter (where dimension_value = 'other') as other_rate,
        max(value) filter (where dimension_value = 'ethiopian_origin') as ethiopian_origin_rate
    from indicator_values
    where indicator_id = 'edu_bagrut_eligibility'
        and dimension = 'community'
    group by locality_code, period

),

gaps as (

    select
        locality_code,
        period,
        value as gap
    from indicator_values
    where indicator_id = 'edu_bagrut_gap_ethiopian'

),

final as (

    select
        rates.*,
        gaps.gap
    from rates
    full outer join gaps
        on rates.locality_code = gaps.locality_code
        and rates.period = gaps.period
    where (gaps.gap is null) <> (rates.other_rate is null or rates.ethiopian_origin_rate is null)
        or abs(gaps.gap - (rates.other_rate - rates.ethiopian_origin_rate)) > 1e-9

)

select * from final
