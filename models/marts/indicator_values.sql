{#- Every indicator model (every model under models/marts/indicators/) is unioned by the
    macro below; declare_indicator_models() gives dbt the edges to them while parsing
    (macros/union_indicator_models.sql). -#}
{{ declare_indicator_models() }}

with

indicator_rows as (

    {{ union_indicator_models([
        'indicator_id', 'period', 'locality_code', 'dimension', 'dimension_value',
        'numerator', 'denominator', 'value', 'unweighted_count'
    ]) }}

),

registry as (

    select * from {{ ref('indicator_registry') }}

),

final as (

    select
        indicator_rows.indicator_id,
        cast(indicator_rows.period as integer) as period,
        cast(indicator_rows.locality_code as integer) as locality_code,
        cast(indicator_rows.dimension as varchar) as dimension,
        cast(indicator_rows.dimension_value as varchar) as dimension_value,
        cast(indicator_rows.numerator as double) as numerator,
        cast(indicator_rows.denominator as double) as denominator,
        cast(indicator_rows.value as double) as value,
        registry.unit,
        cast(indicator_rows.unweighted_count as bigint) as unweighted_count,
        registry.min_cell_size,
        coalesce(indicator_rows.unweighted_count < registry.min_cell_size, false) as is_below_min_cell_size

    from indicator_rows
    left join registry
        on indicator_rows.indicator_id = registry.indicator_id

)

select * from final
