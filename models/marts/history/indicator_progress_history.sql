{#- Every version of every published progress row (the snapshot, under the planning unit's
    names). -#}
with

progress_versions as (

    select * from {{ ref('indicator_progress_snapshot') }}

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
        valid_from,
        valid_to,
        run_id

    from progress_versions

)

select * from final
