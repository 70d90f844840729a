with

periods as (

    select * from {{ ref('int_locality_periods') }}
    where {{ in_changed_localities() }}
        and has_youth_data

),

residents as (

    select * from {{ ref('int_residents_on_jan1') }}
    where {{ in_changed_localities() }}

),

active_members as (

    select * from {{ ref('int_youth_active_members') }}
    where {{ in_changed_localities() }}

),

youth as (

    select residents.*
    from residents
    inner join periods
        on residents.locality_code = periods.locality_code
        and residents.period = periods.period
    where residents.age_in_year between {{ var('youth_min_age', 9) }} and {{ var('youth_max_age', 18) }}

),

final as (

    select
        youth.locality_code,
        youth.period,
        youth.person_key,
        youth.age_in_year,
        youth.gender,
        youth.community,
        youth.neighborhood,
        active_members.member_key is not null as is_active_member,
        coalesce(active_members.active_movement_count, 0) as active_movement_count

    from youth
    left join active_members
        on youth.locality_code = active_members.locality_code
        and youth.period = active_members.period
        and youth.person_key = active_members.member_key

)

select * from final
