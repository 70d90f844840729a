{#- A view, not a table: a row per resident per year (15 million at 100 cities) is cheaper to
    recompute inside each of its three consumers, where DuckDB pushes their filters (ages
    9-18, one household column...) into the join, than to write once and read back: at 100
    cities `dbt run` went from 34 s to 30 s with this alone (bench/RESULTS.md). -#}
{{ config(materialized="view") }}

with

persons as (

    select * from {{ ref('int_register_persons') }}

),

periods as (

    select * from {{ ref('int_locality_periods') }}
    where is_register_known_on_first_day

),

residents_on_first_day as (

    select
        periods.locality_code,
        periods.period,
        periods.first_day as reference_date,
        persons.person_key,
        persons.birth_date,
        {{ age_in_year('persons.birth_date', 'periods.period') }} as age_in_year,
        persons.gender,
        persons.community,
        persons.neighborhood,
        persons.household_number

    from periods
    inner join persons
        on periods.locality_code = persons.locality_code
        and {{ is_resident_on('periods.first_day', 'persons.resident_from', 'persons.resident_until') }}

),

final as (

    select
        locality_code,
        period,
        reference_date,
        person_key,
        birth_date,
        cast(age_in_year as integer) as age_in_year,
        gender,
        community,
        neighborhood,
        household_number
    from residents_on_first_day

)

select * from final
