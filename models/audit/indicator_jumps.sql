{#- Change of each indicator's total from one period to the next, for the GX suite `jumps`:
    a jump beyond the threshold is not impossible, but a person should look before it goes
    on a billboard. The threshold is GX's (setting jump_threshold_points). -#}

with

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

totals as (

    select
        indicator_id,
        locality_code,
        period,
        value
    from indicator_values
    where
        dimension = 'total'
        and value is not null

),

compared as (

    select
        indicator_id,
        locality_code,
        period,
        value,
        lag(period) over (
            partition by indicator_id, locality_code
            order by period
        ) as previous_period,
        lag(value) over (
            partition by indicator_id, locality_code
            order by period
        ) as previous_value
    from totals

),

final as (

    select
        indicator_id,
        locality_code,
        period,
        value,
        previous_period,
        previous_value,
        abs(value - previous_value) as change_from_previous
    from compared

)

select * from final
