-- value = scale x numerator / denominator for every indicator whose registry row has a
-- scale (100 for a percentage, 1000 for a rate per 1000).
with

registry as (

    select * from {{ ref('indicator_registry') }}
    where scale is not null

),

indicator_values as (

    select * from {{ ref('indicator_values') }}
    where denominator is not null
        and denominator <> 0

),

final as (

    select
        indicator_values.indicator_id,
        indicator_values.period,
        indicator_values.locality_code,
        indicator_values.dimension,
        indicator_values.dimension_value,
        indicator_values.value,
        registry.scale
    from indicator_values
    inner join registry
        on indicator_values.indicator_id = registry.indicator_id
    where abs(
            indicator_values.value
            - registry.scale * indicator_values.numerator / indicator_values.denominator
        ) > 1e-9

)

select * from final
