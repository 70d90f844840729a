with

pupils as (

    select * from {{ ref('stg_schools__achievement') }}
    where {{ in_changed_localities() }}

),

members as (

    select * from {{ ref('stg_youth__members') }}
    where {{ in_changed_localities() }}

),

responses as (

    select * from {{ ref('stg_surveys__responses') }}
    where {{ in_changed_localities() }}

),

residents as (

    select * from {{ ref('stg_residents__persons') }}
    where {{ in_changed_localities() }}

),

welfare_files as (

    select * from {{ ref('stg_welfare__files') }}
    where {{ in_changed_localities() }}

),

enrolments as (

    select * from {{ ref('stg_early_childhood__enrolments') }}
    where {{ in_changed_localities() }}

),

period_sources as (

    select distinct
        locality_code,
        period,
        'schools' as source_name
    from pupils
    union all
    select distinct
        locality_code,
        period,
        'youth' as source_name
    from members
    union all
    select distinct
        locality_code,
        period,
        'surveys' as source_name
    from responses
    union all
    select distinct
        locality_code,
        period,
        'early_childhood' as source_name
    from enrolments

),

period_sources_by_year as (

    select
        locality_code,
        period,
        bool_or(source_name = 'schools') as has_school_data,
        bool_or(source_name = 'youth') as has_youth_data,
        bool_or(source_name = 'surveys') as has_survey_data,
        bool_or(source_name = 'early_childhood') as has_early_childhood_data
    from period_sources
    group by locality_code, period

),

calendar_bounds as (

    select
        locality_code,
        min(period) as first_period,
        max(period) as last_period
    from period_sources
    group by locality_code

),

calendar as (

    select
        locality_code,
        cast(unnest(generate_series(first_period, last_period)) as integer) as period
    from calendar_bounds

),

register_snapshots as (

    select
        locality_code,
        max(snapshot_date) as register_snapshot_date
    from residents
    group by locality_code

),

welfare_snapshots as (

    select
        locality_code,
        max(snapshot_date) as welfare_snapshot_date
    from welfare_files
    group by locality_code

),

final as (

    select
        calendar.locality_code,
        calendar.period,
        make_date(calendar.period, 1, 1) as first_day,
        make_date(calendar.period, 12, 31) as last_day,
        coalesce(period_sources_by_year.has_school_data, false) as has_school_data,
        coalesce(period_sources_by_year.has_youth_data, false) as has_youth_data,
        coalesce(period_sources_by_year.has_survey_data, false) as has_survey_data,
        coalesce(period_sources_by_year.has_early_childhood_data, false) as has_early_childhood_data,
        register_snapshots.register_snapshot_date,
        welfare_snapshots.welfare_snapshot_date,
        coalesce(register_snapshots.register_snapshot_date >= make_date(calendar.period, 1, 1), false)
            as is_register_known_on_first_day,
        coalesce(register_snapshots.register_snapshot_date > make_date(calendar.period, 12, 31), false)
            as is_register_year_complete,
        coalesce(welfare_snapshots.welfare_snapshot_date > make_date(calendar.period, 12, 31), false)
            as is_welfare_year_complete

    from calendar
    left join period_sources_by_year
        on calendar.locality_code = period_sources_by_year.locality_code
        and calendar.period = period_sources_by_year.period
    left join register_snapshots
        on calendar.locality_code = register_snapshots.locality_code
    left join welfare_snapshots
        on calendar.locality_code = welfare_snapshots.locality_code

)

select * from final
