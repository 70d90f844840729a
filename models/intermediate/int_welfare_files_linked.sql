with

welfare_files as (

    select * from {{ ref('stg_welfare__files') }}
    where {{ in_changed_localities() }}

),

persons as (

    select * from {{ ref('int_register_persons') }}
    where {{ in_changed_localities() }}

),

final as (

    -- a family file reaches a household through the head's ID: the household the head
    -- belongs to in the register (the department's own neighborhood is not used)
    select
        welfare_files.locality_code,
        welfare_files.file_number,
        welfare_files.head_key,
        welfare_files.opened_on,
        welfare_files.closed_on,
        welfare_files.persons,
        welfare_files.referral_category,
        persons.person_key is not null as is_head_in_register,
        persons.household_number

    from welfare_files
    left join persons
        on welfare_files.locality_code = persons.locality_code
        and welfare_files.head_key = persons.person_key

)

select * from final
