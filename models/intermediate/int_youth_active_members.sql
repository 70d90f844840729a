with

members as (

    select * from {{ ref('stg_youth__members') }}
    where {{ in_changed_localities() }}
        and is_active

),

final as (

    -- a child active in two movements is one active member
    select
        locality_code,
        period,
        member_key,
        count(distinct movement) as active_movement_count,
        string_agg(distinct movement, ', ' order by movement) as active_movements
    from members
    group by locality_code, period, member_key

)

select * from final
