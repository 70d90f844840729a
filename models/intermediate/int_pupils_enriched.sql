with

pupils as (

    select * from {{ ref('stg_schools__achievement') }}
    where {{ in_changed_localities() }}

),

persons as (

    select * from {{ ref('int_register_persons') }}
    where {{ in_changed_localities() }}

),

joined as (

    -- a pupil is linked to the register of the school's locality through the pseudonymous
    -- key, whatever the dates of residence; a pupil not found (e.g. living elsewhere) keeps
    -- community and neighborhood 'unknown'
    select
        pupils.locality_code,
        pupils.period,
        pupils.school_code,
        pupils.school_name,
        pupils.pupil_key,
        pupils.grade,
        pupils.gender,
        pupils.is_bagrut_eligible,
        pupils.meets_university_threshold,
        pupils.math_units,
        pupils.has_dropped_out,
        persons.person_key is not null as is_in_register,
        coalesce(persons.community, 'unknown') as community,
        coalesce(persons.neighborhood, 'unknown') as neighborhood

    from pupils
    left join persons
        on pupils.locality_code = persons.locality_code
        and pupils.pupil_key = persons.person_key

),

final as (

    select
        locality_code,
        period,
        school_code,
        school_name,
        pupil_key,
        grade,
        gender,
        coalesce(is_bagrut_eligible, false) as is_bagrut_eligible,
        coalesce(meets_university_threshold, false) as meets_university_threshold,
        math_units,
        coalesce(math_units = 5, false) as takes_math_5_units,
        has_dropped_out,
        is_in_register,
        community,
        neighborhood
    from joined

)

select * from final
