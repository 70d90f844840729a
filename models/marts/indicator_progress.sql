with

registry as (

    select * from {{ ref('indicator_registry') }}

),

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

locality_periods as (

    select * from {{ ref('int_locality_periods') }}

),

localities as (

    select distinct locality_code from locality_periods
    union
    select distinct locality_code from indicator_values

),

totals as (

    select
        indicator_id,
        locality_code,
        period,
        value,
        ci_lower,
        ci_upper,
        ci_method
    from indicator_values
    where dimension = 'total'
        and value is not null

),

indicator_localities as (

    select
        registry.indicator_id,
        localities.locality_code,
        registry.polarity,
        registry.unit,
        coalesce(registry.baseline_period, {{ var('baseline_period', 2016) }}) as baseline_period,
        registry.baseline_value as fixed_baseline_value,
        coalesce(registry.target_period, {{ var('target_period', 2025) }}) as target_period,
        registry.target_rule,
        registry.target_parameter
    from registry
    cross join localities

),

ranked as (

    -- 1 = the latest period with a total value, 2 = the one before it
    select
        *,
        row_number() over (partition by indicator_id, locality_code order by period desc) as recency
    from totals

),

latest as (

    select
        indicator_id,
        locality_code,
        period as latest_period,
        value as latest_value,
        ci_lower as latest_ci_lower,
        ci_upper as latest_ci_upper
    from ranked
    where recency = 1

),

previous as (

    select
        indicator_id,
        locality_code,
        period as previous_period,
        value as previous_value,
        ci_lower as previous_ci_lower,
        ci_upper as previous_ci_upper
    from ranked
    where recency = 2

),

trends as (

    -- least-squares line through the total values of the periods from the baseline on
    select
        totals.indicator_id,
        totals.locality_code,
        count(*) as periods_measured,
        -- ordered aggregates: the same input gives the same bits, whatever the threads do
        regr_slope(totals.value, totals.period order by totals.period) as trend_slope_per_year,
        regr_intercept(totals.value, totals.period order by totals.period) as trend_intercept
    from totals
    inner join indicator_localities
        on totals.indicator_id = indicator_localities.indicator_id
        and totals.locality_code = indicator_localities.locality_code
    where totals.period >= indicator_localities.baseline_period
    group by totals.indicator_id, totals.locality_code

),

combined as (

    select
        indicator_localities.*,
        coalesce(indicator_localities.fixed_baseline_value, measured_baseline.value) as baseline_value,
        -- a fixed baseline is a number, not a measurement: an interval of no width
        coalesce(indicator_localities.fixed_baseline_value, measured_baseline.ci_lower) as baseline_ci_lower,
        coalesce(indicator_localities.fixed_baseline_value, measured_baseline.ci_upper) as baseline_ci_upper,
        latest.latest_period,
        latest.latest_value,
        latest.latest_ci_lower,
        latest.latest_ci_upper,
        previous.previous_period,
        previous.previous_value,
        previous.previous_ci_lower,
        previous.previous_ci_upper,
        coalesce(trends.periods_measured, 0) as periods_measured,
        trends.trend_slope_per_year,
        case
            when trends.periods_measured >= 2
                then trends.trend_intercept + trends.trend_slope_per_year * indicator_localities.target_period
        end as projected_value_at_target

    from indicator_localities
    left join totals as measured_baseline
        on indicator_localities.indicator_id = measured_baseline.indicator_id
        and indicator_localities.locality_code = measured_baseline.locality_code
        and indicator_localities.baseline_period = measured_baseline.period
    left join latest
        on indicator_localities.indicator_id = latest.indicator_id
        and indicator_localities.locality_code = latest.locality_code
    left join previous
        on indicator_localities.indicator_id = previous.indicator_id
        and indicator_localities.locality_code = previous.locality_code
    left join trends
        on indicator_localities.indicator_id = trends.indicator_id
        and indicator_localities.locality_code = trends.locality_code

),

with_target as (

    select
        *,
        {{ target_from_rule('target_rule', 'target_parameter', 'baseline_value') }} as target_value
    from combined

),

with_changes as (

    -- the changes, each with the 95% interval of a difference of two independent values from
    -- their own intervals (square-and-add, MOVER: Newcombe's hybrid score interval when both
    -- are Wilson intervals); none when the latest period is the baseline period itself
    select
        *,
        latest_value - baseline_value as change_since_baseline,
        latest_value - previous_value as change_since_previous,
        case
            when latest_period > baseline_period
                then {{ newcombe_lower(
                    'latest_value - baseline_value', 'latest_value', 'latest_ci_lower',
                    'baseline_value', 'baseline_ci_upper'
                ) }}
        end as change_since_baseline_ci_lower,
        case
            when latest_period > baseline_period
                then {{ newcombe_upper(
                    'latest_value - baseline_value', 'latest_value', 'latest_ci_upper',
                    'baseline_value', 'baseline_ci_lower'
                ) }}
        end as change_since_baseline_ci_upper,
        {{ newcombe_lower(
            'latest_value - previous_value', 'latest_value', 'latest_ci_lower',
            'previous_value', 'previous_ci_upper'
        ) }} as change_since_previous_ci_lower,
        {{ newcombe_upper(
            'latest_value - previous_value', 'latest_value', 'latest_ci_upper',
            'previous_value', 'previous_ci_lower'
        ) }} as change_since_previous_ci_upper
    from with_target

),

with_significance as (

    -- null: no change to test (a value missing, or the latest period is the baseline);
    -- false: a change without an interval (ci_method none) is not shown to be real
    select
        *,
        case
            when change_since_baseline is null or latest_period <= baseline_period then null
            else coalesce({{ interval_excludes_zero(
                'change_since_baseline_ci_lower', 'change_since_baseline_ci_upper'
            ) }}, false)
        end as is_change_since_baseline_significant,
        case
            when change_since_previous is null then null
            else coalesce({{ interval_excludes_zero(
                'change_since_previous_ci_lower', 'change_since_previous_ci_upper'
            ) }}, false)
        end as is_change_since_previous_significant
    from with_changes

),

with_status as (

    select
        *,
        100.0 * (latest_value - baseline_value) / nullif(target_value - baseline_value, 0)
            as share_of_way_to_target_pct,
        case
            when latest_value is null or target_value is null then 'no data'
            when (polarity = 'higher_is_better' and latest_value >= target_value)
                or (polarity = 'lower_is_better' and latest_value <= target_value)
                then 'achieved'
            when not is_change_since_baseline_significant then 'no detectable change'
            when (polarity = 'higher_is_better' and projected_value_at_target >= target_value)
                or (polarity = 'lower_is_better' and projected_value_at_target <= target_value)
                then 'on track'
            else 'off track'
        end as status
    from with_significance

),

final as (

    -- cast to the enforced contract (models/marts/indicator_progress.yml)
    select
        cast(indicator_id as varchar) as indicator_id,
        cast(locality_code as integer) as locality_code,
        cast(unit as varchar) as unit,
        cast(polarity as varchar) as polarity,
        cast(baseline_period as integer) as baseline_period,
        cast(baseline_value as double) as baseline_value,
        cast(target_period as integer) as target_period,
        cast(target_rule as varchar) as target_rule,
        cast(target_parameter as double) as target_parameter,
        cast(target_value as double) as target_value,
        cast(latest_period as integer) as latest_period,
        cast(latest_value as double) as latest_value,
        cast(change_since_baseline as double) as change_since_baseline,
        cast(change_since_baseline_ci_lower as double) as change_since_baseline_ci_lower,
        cast(change_since_baseline_ci_upper as double) as change_since_baseline_ci_upper,
        cast(is_change_since_baseline_significant as boolean) as is_change_since_baseline_significant,
        cast(previous_period as integer) as previous_period,
        cast(previous_value as double) as previous_value,
        cast(change_since_previous as double) as change_since_previous,
        cast(change_since_previous_ci_lower as double) as change_since_previous_ci_lower,
        cast(change_since_previous_ci_upper as double) as change_since_previous_ci_upper,
        cast(is_change_since_previous_significant as boolean) as is_change_since_previous_significant,
        cast(share_of_way_to_target_pct as double) as share_of_way_to_target_pct,
        cast(periods_measured as bigint) as periods_measured,
        cast(trend_slope_per_year as double) as trend_slope_per_year,
        cast(projected_value_at_target as double) as projected_value_at_target,
        cast(status as varchar) as status
    from with_status

)

select * from final
