with

final as (

    {{ resident_share(
        indicator_id='ec_daycare_enrollment',
        people='int_early_childhood_enrolment',
        flag='is_in_daycare',
        dimensions={
            'community': 'community',
            'neighborhood': "coalesce(neighborhood, 'unknown')"
        },
        where='age_in_year between 1 and 2'
    ) }}

)

select * from final
