{#- The indicator cells with the registry's unit and minimum cell size, and the 95% interval
    of each value by the registry's ci_method (macros/confidence_intervals.sql). -#}
with

cells as (

    select * from {{ ref('indicator_cells') }}

),

registry as (

    select * from {{ ref('indicator_registry') }}

),

cells_with_method as (

    select
        cells.*,
        registry.unit,
        registry.scale,
        registry.min_cell_size,
        registry.ci_method,
        cells.numerator / nullif(cells.denominator, 0) as proportion,
        -- the n of the Wilson interval: the units counted, or the weighted responses' Kish n
        case registry.ci_method
            when 'wilson' then cells.denominator
            when 'wilson_kish'
                then {{ kish_effective_sample_size('cells.denominator', 'cells.sum_weight_squared') }}
        end as interval_sample_size

    from cells
    left join registry
        on cells.indicator_id = registry.indicator_id

),

cell_intervals as (

    -- every method but newcombe: from the cell's own counts
    select
        *,
        case
            when ci_method in ('wilson', 'wilson_kish')
                then scale * {{ wilson_lower('proportion', 'interval_sample_size') }}
            when ci_method = 'poisson_difference'
                then value - scale * {{ poisson_difference_half_width('inflow', 'outflow', 'denominator') }}
        end as cell_ci_lower,
        case
            when ci_method in ('wilson', 'wilson_kish')
                then scale * {{ wilson_upper('proportion', 'interval_sample_size') }}
            when ci_method = 'poisson_difference'
                then value + scale * {{ poisson_difference_half_width('inflow', 'outflow', 'denominator') }}
        end as cell_ci_upper

    from cells_with_method

),

derived_intervals as (

    -- newcombe: a derived indicator's difference, from the intervals of its two source cells
    -- (registry: derived_from, derived_dimension, derived_minuend, derived_subtrahend)
    select
        derived.indicator_id,
        derived.period,
        derived.locality_code,
        derived.dimension,
        derived.dimension_value,
        {{ newcombe_lower(
            'derived.value', 'minuend.value', 'minuend.cell_ci_lower',
            'subtrahend.value', 'subtrahend.cell_ci_upper'
        ) }} as ci_lower,
        {{ newcombe_upper(
            'derived.value', 'minuend.value', 'minuend.cell_ci_upper',
            'subtrahend.value', 'subtrahend.cell_ci_lower'
        ) }} as ci_upper

    from cell_intervals as derived
    inner join registry
        on derived.indicator_id = registry.indicator_id
    inner join cell_intervals as minuend
        on
        registry.derived_from = minuend.indicator_id
        and registry.derived_dimension = minuend.dimension
        and registry.derived_minuend = minuend.dimension_value
        and derived.locality_code = minuend.locality_code
        and derived.period = minuend.period
    inner join cell_intervals as subtrahend
        on
        registry.derived_from = subtrahend.indicator_id
        and registry.derived_dimension = subtrahend.dimension
        and registry.derived_subtrahend = subtrahend.dimension_value
        and derived.locality_code = subtrahend.locality_code
        and derived.period = subtrahend.period
    where
        derived.ci_method = 'newcombe'
        and derived.dimension = 'total'

),

final as (

    select
        cell_intervals.indicator_id,
        cell_intervals.period,
        cell_intervals.locality_code,
        cell_intervals.dimension,
        cell_intervals.dimension_value,
        cell_intervals.numerator,
        cell_intervals.denominator,
        cell_intervals.value,
        cell_intervals.unit,
        cell_intervals.unweighted_count,
        cell_intervals.min_cell_size,
        coalesce(cell_intervals.unweighted_count < cell_intervals.min_cell_size, false)
            as is_below_min_cell_size,
        cast(coalesce(derived_intervals.ci_lower, cell_intervals.cell_ci_lower) as double) as ci_lower,
        cast(coalesce(derived_intervals.ci_upper, cell_intervals.cell_ci_upper) as double) as ci_upper,
        cell_intervals.ci_method

    from cell_intervals
    left join derived_intervals
        on
        cell_intervals.indicator_id = derived_intervals.indicator_id
        and cell_intervals.period = derived_intervals.period
        and cell_intervals.locality_code = derived_intervals.locality_code
        and cell_intervals.dimension = derived_intervals.dimension
        and cell_intervals.dimension_value = derived_intervals.dimension_value

)

select * from final
