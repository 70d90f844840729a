with

migration as (

    select * from {{ ref('int_register_migration') }}
    where {{ in_changed_localities() }}
        and residents_on_jan1 > 0

),

final as (

    select
        'dem_net_migration' as indicator_id,
        cast(period as integer) as period,
        cast(locality_code as integer) as locality_code,
        'total' as dimension,
        'all' as dimension_value,
        cast(net_migration as double) as numerator,
        cast(residents_on_jan1 as double) as denominator,
        1000.0 * net_migration / residents_on_jan1 as value,
        cast(residents_on_jan1 as bigint) as unweighted_count,
        cast(null as double) as sum_weight_squared,
        -- the net's two counts: its interval treats them as independent Poisson counts
        cast(arrivals as double) as inflow,
        cast(departures as double) as outflow
    from migration

)

select * from final
