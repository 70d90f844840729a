with

periods as (

    select * from {{ ref('int_locality_periods') }}
    where {{ in_changed_localities() }}
        and is_register_year_complete

),

persons as (

    select * from {{ ref('int_register_persons') }}
    where {{ in_changed_localities() }}

),

residents as (

    select * from {{ ref('int_residents_on_jan1') }}
    where {{ in_changed_localities() }}

),

population as (

    select
        locality_code,
        period,
        count(*) as residents_on_jan1
    from residents
    group by locality_code, period

),

movements as (

    -- register arrivals are dated moves into the locality (births are not arrivals);
    -- departures are dated moves out
    select
        periods.locality_code,
        periods.period,
        count(*) filter (
            where persons.arrival_date between periods.first_day and periods.last_day
        ) as arrivals,
        count(*) filter (
            where persons.departure_date between periods.first_day and periods.last_day
        ) as departures
    from periods
    inner join persons
        on periods.locality_code = persons.locality_code
    group by periods.locality_code, periods.period

),

final as (

    select
        periods.locality_code,
        periods.period,
        cast(coalesce(population.residents_on_jan1, 0) as integer) as residents_on_jan1,
        cast(coalesce(movements.arrivals, 0) as integer) as arrivals,
        cast(coalesce(movements.departures, 0) as integer) as departures,
        cast(coalesce(movements.arrivals, 0) - coalesce(movements.departures, 0) as integer) as net_migration

    from periods
    left join population
        on periods.locality_code = population.locality_code
        and periods.period = population.period
    left join movements
        on periods.locality_code = movements.locality_code
        and periods.period = movements.period

)

select * from final
