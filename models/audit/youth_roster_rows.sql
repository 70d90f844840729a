{#- Youth-movement roster rows as loaded, exact repeats removed, for the GX suite `youth`.
    Read from raw, not staging: staging turns an unset is_active into false. -#}

with

members as (

    select * from {{ source('raw', 'youth_members') }}
    where {{ in_changed_localities() }}

),

final as (

    select distinct
        locality_code,
        period,
        movement,
        member_key,
        birth_date,
        birth_year,
        age,
        is_active
    from members

)

select * from final
