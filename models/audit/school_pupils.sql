{#- Pupil rows of the school files, for the GX suite `schools`: the ministry's eligibility
    answer where it belongs, and pupils listed by two schools in one year. -#}

with

pupils as (

    select * from {{ ref('stg_schools__achievement') }}
    where {{ in_changed_localities() }}

),

schools_per_pupil as (

    select
        locality_code,
        period,
        pupil_key,
        count(distinct school_code) as schools_in_year
    from pupils
    group by locality_code, period, pupil_key

),

final as (

    select
        pupils.locality_code,
        pupils.period,
        pupils.school_code,
        pupils.pupil_key,
        pupils.grade,
        schools_per_pupil.schools_in_year,
        -- eligibility is answered (כן / לא) for grade 12, and only for grade 12
        case
            when pupils.grade = 12 then pupils.is_bagrut_eligible is not null
        end as grade_12_has_eligibility,
        case
            when pupils.grade <> 12 then pupils.is_bagrut_eligible is not null
        end as lower_grade_has_eligibility
    from pupils
    inner join schools_per_pupil
        on pupils.locality_code = schools_per_pupil.locality_code
        and pupils.period = schools_per_pupil.period
        and pupils.pupil_key = schools_per_pupil.pupil_key

)

select * from final
