with

residents as (

    select * from {{ ref('stg_residents__persons') }}
    where {{ in_changed_localities() }}

),

one_row_per_person as (

    -- the register lists each person once; should a snapshot list someone twice with
    -- different data, the later row of the file is kept
    select *
    from residents
    qualify
        row_number() over (
            partition by locality_code, person_key
            order by source_file_name desc, source_row_number desc
        ) = 1

),

final as (

    select
        locality_code,
        person_key,
        birth_date,
        gender,
        neighborhood,
        household_number,
        case
            when birth_country = 'אתיופיה' or father_birth_country = 'אתיופיה' then 'ethiopian_origin'
            else 'other'
        end as community,
        arrival_date,
        departure_date,
        -- resident from: the arrival date, or birth for people born here or here before 2015
        coalesce(arrival_date, birth_date) as resident_from,
        departure_date as resident_until,
        snapshot_date

    from one_row_per_person

)

select * from final
