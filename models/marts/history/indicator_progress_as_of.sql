{#- marts.indicator_progress as it was published at the moment held in the DuckDB variable
    `ci_metrics_as_of` (UTC; see indicator_values_as_of). Unset: no rows. -#}
with

progress_versions as (

    select * from {{ ref('indicator_progress_history') }}

),

as_of as (

    select cast(getvariable('ci_metrics_as_of') as timestamp) as moment

),

final as (

    select
        progress_versions.indicator_id,
        progress_versions.locality_code,
        progress_versions.unit,
        progress_versions.polarity,
        progress_versions.baseline_period,
        progress_versions.baseline_value,
        progress_versions.target_period,
        progress_versions.target_rule,
        progress_versions.target_parameter,
        progress_versions.target_value,
        progress_versions.latest_period,
        progress_versions.latest_value,
        progress_versions.change_since_baseline,
        progress_versions.change_since_baseline_ci_lower,
        progress_versions.change_since_baseline_ci_upper,
        progress_versions.is_change_since_baseline_significant,
        progress_versions.previous_period,
        progress_versions.previous_value,
        progress_versions.change_since_previous,
        progress_versions.change_since_previous_ci_lower,
        progress_versions.change_since_previous_ci_upper,
        progress_versions.is_change_since_previous_significant,
        progress_versions.share_of_way_to_target_pct,
        progress_versions.periods_measured,
        progress_versions.trend_slope_per_year,
        progress_versions.projected_value_at_target,
        progress_versions.status

    from progress_versions
    inner join as_of
        on
        progress_versions.valid_from <= as_of.moment
        and (progress_versions.valid_to is null or progress_versions.valid_to > as_of.moment)

)

select * from final
