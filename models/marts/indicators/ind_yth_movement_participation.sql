with

final as (

    {{ resident_share(
        indicator_id='yth_movement_participation',
        people='int_youth_participation',
        flag='is_active_member',
        dimensions={
            'gender': 'gender',
            'community': 'community',
            'neighborhood': "coalesce(neighborhood, 'unknown')"
        }
    ) }}

)

select * from final
