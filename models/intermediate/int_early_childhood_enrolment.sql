with

periods as (

    select * from {{ ref('int_locality_periods') }}
    where {{ in_changed_localities() }}
        and has_early_childhood_data

),

residents as (

    select * from {{ ref('int_residents_on_jan1') }}
    where {{ in_changed_localities() }}

),

enrolments as (

    select * from {{ ref('stg_early_childhood__enrolments') }}
    where {{ in_changed_localities() }}

),

young_children as (

    select residents.*
    from residents
    inner join periods
        on residents.locality_code = periods.locality_code
        and residents.period = periods.period
    where residents.age_in_year between 1 and 4

),

-- Enrolled on 1 January of Y: a row of the file of activity year Y registered on or before
-- the day and not left on or before it. A child enrolled twice counts once.
enrolled_on_first_day as (

    select
        enrolments.locality_code,
        enrolments.period,
        enrolments.child_key,
        bool_or(enrolments.framework_kind = 'daycare') as is_in_daycare,
        bool_or(enrolments.framework_kind in ('pre_pre_compulsory', 'pre_compulsory')) as is_in_preschool
    from enrolments
    where enrolments.registered_on <= make_date(enrolments.period, 1, 1)
        and (enrolments.left_on is null or enrolments.left_on > make_date(enrolments.period, 1, 1))
    group by enrolments.locality_code, enrolments.period, enrolments.child_key

),

final as (

    select
        young_children.locality_code,
        young_children.period,
        young_children.person_key,
        young_children.age_in_year,
        young_children.community,
        young_children.neighborhood,
        coalesce(enrolled_on_first_day.is_in_daycare, false) as is_in_daycare,
        coalesce(enrolled_on_first_day.is_in_preschool, false) as is_in_preschool

    from young_children
    left join enrolled_on_first_day
        on young_children.locality_code = enrolled_on_first_day.locality_code
        and young_children.period = enrolled_on_first_day.period
        and young_children.person_key = enrolled_on_first_day.child_key

)

select * from final
