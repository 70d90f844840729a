{#- What a publish records of marts.indicator_progress: every published column, the run, and
    a digest of the row (figures rounded below any published precision). -#}
with

indicator_progress as (

    select * from {{ ref('indicator_progress') }}

),

final as (

    select
        indicator_id,
        locality_code,
        unit,
        polarity,
        baseline_period,
        baseline_value,
        target_period,
        target_rule,
        target_parameter,
        target_value,
        latest_period,
        latest_value,
        change_since_baseline,
        change_since_baseline_ci_lower,
        change_since_baseline_ci_upper,
        is_change_since_baseline_significant,
        previous_period,
        previous_value,
        change_since_previous,
        change_since_previous_ci_lower,
        change_since_previous_ci_upper,
        is_change_since_previous_significant,
        share_of_way_to_target_pct,
        periods_measured,
        trend_slope_per_year,
        projected_value_at_target,
        status,
        {{ publishing_run_id() }} as run_id,
        md5(cast(row(
            unit,
            polarity,
            baseline_period,
            round(baseline_value, 6),
            target_period,
            target_rule,
            round(target_parameter, 6),
            round(target_value, 6),
            latest_period,
            round(latest_value, 6),
            round(change_since_baseline, 6),
            round(change_since_baseline_ci_lower, 6),
            round(change_since_baseline_ci_upper, 6),
            is_change_since_baseline_significant,
            previous_period,
            round(previous_value, 6),
            round(change_since_previous, 6),
            round(change_since_previous_ci_lower, 6),
            round(change_since_previous_ci_upper, 6),
            is_change_since_previous_significant,
            round(share_of_way_to_target_pct, 6),
            periods_measured,
            round(trend_slope_per_year, 6),
            round(projected_value_at_target, 6),
            status
        ) as varchar)) as recorded_digest

    from indicator_progress

)

select * from final
