with

periods as (

    select * from {{ ref('int_locality_periods') }}
    where {{ in_changed_localities() }}

),

residents as (

    select * from {{ ref('int_residents_on_jan1') }}
    where {{ in_changed_localities() }}

),

welfare_files as (

    select * from {{ ref('int_welfare_files_linked') }}
    where {{ in_changed_localities() }}
        and household_number is not null

),

neighborhood_counts as (

    select
        locality_code,
        period,
        household_number,
        coalesce(neighborhood, 'unknown') as neighborhood,
        count(*) as resident_count
    from residents
    where household_number is not null
    group by locality_code, period, household_number, coalesce(neighborhood, 'unknown')

),

households as (

    -- a household's neighborhood is that of most of its residents on the day
    -- (alphabetically first on a tie; in a register a household has one address)
    select
        locality_code,
        period,
        household_number,
        neighborhood,
        sum(resident_count) over (partition by locality_code, period, household_number) as resident_count
    from neighborhood_counts
    qualify
        row_number() over (
            partition by locality_code, period, household_number
            order by resident_count desc, neighborhood asc
        ) = 1

),

households_known_to_welfare as (

    select distinct
        periods.locality_code,
        periods.period,
        welfare_files.household_number
    from periods
    inner join welfare_files
        on periods.locality_code = welfare_files.locality_code
        and {{ is_open_during_year('welfare_files.opened_on', 'welfare_files.closed_on', 'periods.period') }}

),

final as (

    select
        households.locality_code,
        households.period,
        households.household_number,
        households.neighborhood,
        cast(households.resident_count as integer) as resident_count,
        periods.is_welfare_year_complete,
        -- null when the welfare snapshot does not cover the whole year
        case
            when periods.is_welfare_year_complete
                then households_known_to_welfare.household_number is not null
        end as is_known_to_welfare

    from households
    inner join periods
        on households.locality_code = periods.locality_code
        and households.period = periods.period
    left join households_known_to_welfare
        on households.locality_code = households_known_to_welfare.locality_code
        and households.period = households_known_to_welfare.period
        and households.household_number = households_known_to_welfare.household_number

)

select * from final
