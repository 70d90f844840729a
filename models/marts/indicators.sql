with

registry as (

    select * from {{ ref('indicator_registry') }}

),

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

measured_baselines as (

    -- the measured baseline of an indicator is its total value in the baseline period; it is
    -- one number only when the warehouse holds one locality (the partnership's city), else
    -- see indicator_progress for each locality's baseline
    select
        registry.indicator_id,
        count(distinct indicator_values.locality_code) as locality_count,
        max(indicator_values.value) as baseline_value
    from registry
    inner join indicator_values
        on registry.indicator_id = indicator_values.indicator_id
        and coalesce(registry.baseline_period, {{ var('baseline_period', 2016) }}) = indicator_values.period
        and indicator_values.dimension = 'total'
    group by registry.indicator_id

),

with_baseline as (

    select
        registry.*,
        coalesce(
            registry.baseline_value,
            case when measured_baselines.locality_count = 1 then measured_baselines.baseline_value end
        ) as resolved_baseline_value
    from registry
    left join measured_baselines
        on registry.indicator_id = measured_baselines.indicator_id

),

final as (

    select
        indicator_id,
        name_he,
        name_en,
        domain,
        domain_he,
        unit,
        scale,
        polarity,
        definition,
        definition_he,
        source,
        owner_partner,
        owner_partner_he,
        coalesce(baseline_period, {{ var('baseline_period', 2016) }}) as baseline_period,
        resolved_baseline_value as baseline_value,
        coalesce(target_period, {{ var('target_period', 2025) }}) as target_period,
        cast({{ target_from_rule('target_rule', 'target_parameter', 'resolved_baseline_value') }} as double)
            as target_value,
        target_rule,
        target_parameter,
        target_text,
        min_cell_size,
        display_order,
        dimensions,
        gender_labels,
        derived_from,
        derived_dimension,
        derived_minuend,
        derived_subtrahend,
        ci_method,
        ci_note
    from with_baseline

)

select * from final
