-- A derived indicator (registry: derived_from, derived_dimension, derived_minuend,
-- derived_subtrahend) equals the value of its minuend cell minus that of its subtrahend cell
-- (the bagrut gap: eligibility of `other` minus `ethiopian_origin`), and exists exactly when
-- both cells do. Disclosure control reads the same columns: what it protects is what is computed.
with

registry as (

    select * from {{ ref('indicator_registry') }}
    where derived_from is not null

),

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

source_cells as (

    select
        registry.indicator_id,
        indicator_values.locality_code,
        indicator_values.period,
        max(indicator_values.value) filter (
            where indicator_values.dimension_value = registry.derived_minuend
        ) as minuend_value,
        max(indicator_values.value) filter (
            where indicator_values.dimension_value = registry.derived_subtrahend
        ) as subtrahend_value
    from registry
    inner join indicator_values
        on registry.derived_from = indicator_values.indicator_id
        and registry.derived_dimension = indicator_values.dimension
    group by registry.indicator_id, indicator_values.locality_code, indicator_values.period

),

derived as (

    select
        indicator_values.indicator_id,
        indicator_values.locality_code,
        indicator_values.period,
        indicator_values.value
    from indicator_values
    inner join registry
        on indicator_values.indicator_id = registry.indicator_id
    where indicator_values.dimension = 'total'

),

final as (

    select
        coalesce(derived.indicator_id, source_cells.indicator_id) as indicator_id,
        coalesce(derived.locality_code, source_cells.locality_code) as locality_code,
        coalesce(derived.period, source_cells.period) as period,
        derived.value,
        source_cells.minuend_value,
        source_cells.subtrahend_value
    from source_cells
    full outer join derived
        on source_cells.indicator_id = derived.indicator_id
        and source_cells.locality_code = derived.locality_code
        and source_cells.period = derived.period
    where
        (derived.value is null)
        <> (source_cells.minuend_value is null or source_cells.subtrahend_value is null)
        or abs(derived.value - (source_cells.minuend_value - source_cells.subtrahend_value)) > 1e-9

)

select * from final
