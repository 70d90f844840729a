{#- Every indicator model (every model under models/marts/indicators/) is unioned by the
    macro below; declare_indicator_models() gives dbt the edges to them while parsing
    (macros/union_indicator_models.sql). -#}
{{ declare_indicator_models() }}

with

indicator_rows as (

    {{ union_indicator_models([
        'indicator_id', 'period', 'locality_code', 'dimension', 'dimension_value',
        'numerator', 'denominator', 'value', 'unweighted_count',
        'sum_weight_squared', 'inflow', 'outflow'
    ]) }}

),

final as (

    select
        indicator_id,
        cast(period as integer) as period,
        cast(locality_code as integer) as locality_code,
        cast(dimension as varchar) as dimension,
        cast(dimension_value as varchar) as dimension_value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        cast(value as double) as value,
        cast(unweighted_count as bigint) as unweighted_count,
        cast(sum_weight_squared as double) as sum_weight_squared,
        cast(inflow as double) as inflow,
        cast(outflow as double) as outflow

    from indicator_rows

)

select * from final
