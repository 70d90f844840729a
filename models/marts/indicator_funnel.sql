{#- Funnel plots (issue 15): each locality's total against the all-localities value, with the
    95% and 99.8% control limits for its size. Proportions only; empty with one locality. -#}
with

cells as (

    select * from {{ ref('indicator_cells') }}

),

registry as (

    select * from {{ ref('indicator_registry') }}

),

totals as (

    -- the total of every proportion (unweighted or weighted) with a value
    select
        cells.indicator_id,
        cells.period,
        cells.locality_code,
        registry.ci_method,
        registry.scale,
        cells.numerator,
        cells.denominator,
        cells.value,
        cells.unweighted_count,
        -- the n of a weighted share is Kish's effective sample size, as in its interval
        case registry.ci_method
            when 'wilson' then cells.denominator
            when 'wilson_kish'
                then {{ kish_effective_sample_size('cells.denominator', 'cells.sum_weight_squared') }}
        end as n
    from cells
    inner join registry
        on cells.indicator_id = registry.indicator_id
    where cells.dimension = 'total'
        and registry.ci_method in ('wilson', 'wilson_kish')
        and cells.value is not null
        and cells.denominator > 0

),

pooled as (

    -- the all-localities proportion: the sums of the numerators over the sums of the
    -- denominators (weighted sums for a weighted share); only with more than one locality
    select
        indicator_id,
        period,
        count(*) as locality_count,
        sum(numerator order by locality_code) / sum(denominator order by locality_code) as p0
    from totals
    group by indicator_id, period
    having count(*) > 1

),

limits as (

    select
        totals.*,
        pooled.locality_count,
        pooled.p0,
        totals.scale * {{ funnel_limit('pooled.p0', 'totals.n', ci_z(), '-') }} as lower_95,
        totals.scale * {{ funnel_limit('pooled.p0', 'totals.n', ci_z(), '+') }} as upper_95,
        totals.scale * {{ funnel_limit('pooled.p0', 'totals.n', funnel_z_998(), '-') }} as lower_998,
        totals.scale * {{ funnel_limit('pooled.p0', 'totals.n', funnel_z_998(), '+') }} as upper_998
    from totals
    inner join pooled
        on totals.indicator_id = pooled.indicator_id
        and totals.period = pooled.period

),

final as (

    select
        cast(indicator_id as varchar) as indicator_id,
        cast(period as integer) as period,
        cast(locality_code as integer) as locality_code,
        cast(ci_method as varchar) as ci_method,
        cast(locality_count as bigint) as locality_count,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(unweighted_count as bigint) as unweighted_count,
        cast(n as double) as n,
        cast(value as double) as value,
        cast(scale * p0 as double) as p0,
        cast(lower_95 as double) as lower_95,
        cast(upper_95 as double) as upper_95,
        cast(lower_998 as double) as lower_998,
        cast(upper_998 as double) as upper_998,
        cast(case
            when value > upper_998 then 'above 99.8%'
            when value > upper_95 then 'above 95%'
            when value < lower_998 then 'below 99.8%'
            when value < lower_95 then 'below 95%'
            else 'within'
        end as varchar) as funnel_position
    from limits

)

select * from final
