with

eligibility as (

    select * from {{ ref('ind_edu_bagrut_eligibility') }}
    where {{ in_changed_localities() }}
        and dimension = 'community'

),

rates as (

    select
        locality_code,
        period,
        max(value) filter (where dimension_value = 'other') as other_rate,
        max(value) filter (where dimension_value = 'ethiopian_origin') as ethiopian_origin_rate,
        sum(unweighted_count) filter (
            where dimension_value in ('other', 'ethiopian_origin')
        ) as unweighted_count
    from eligibility
    group by locality_code, period

),

final as (

    select
        'edu_bagrut_gap_ethiopian' as indicator_id,
        cast(period as integer) as period,
        cast(locality_code as integer) as locality_code,
        'total' as dimension,
        'all' as dimension_value,
        cast(null as double) as numerator,
        cast(null as double) as denominator,
        other_rate - ethiopian_origin_rate as value,
        cast(unweighted_count as bigint) as unweighted_count,
        cast(null as double) as sum_weight_squared,
        cast(null as double) as inflow,
        cast(null as double) as outflow
    from rates
    where other_rate is not null
        and ethiopian_origin_rate is not null

)

select * from final
