{#- Whether each indicator of the registry has values, and a total value in the latest
    period of the data, for the GX suite `registry`. -#}

with

indicators as (

    select * from {{ ref('indicators') }}

),

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

latest_periods as (

    -- the latest period of the data, whatever the indicator
    select
        locality_code,
        max(period) as latest_period
    from indicator_values
    group by locality_code

),

last_totals as (

    select
        indicator_id,
        locality_code,
        max(period) as last_period_with_value
    from indicator_values
    where
        dimension = 'total'
        and value is not null
    group by indicator_id, locality_code

),

final as (

    select
        indicators.indicator_id,
        latest_periods.locality_code,
        latest_periods.latest_period,
        last_totals.last_period_with_value,
        last_totals.last_period_with_value is not null as has_any_value,
        coalesce(
            last_totals.last_period_with_value = latest_periods.latest_period, false
        ) as has_latest_value
    from indicators
    cross join latest_periods
    left join last_totals
        on indicators.indicator_id = last_totals.indicator_id
        and latest_periods.locality_code = last_totals.locality_code

)

select * from final
