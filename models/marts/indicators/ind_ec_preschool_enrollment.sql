with

final as (

    {{ resident_share(
        indicator_id='ec_preschool_enrollment',
        people='int_early_childhood_enrolment',
        flag='is_in_preschool',
        dimensions={
            'community': 'community',
            'neighborhood': "coalesce(neighborhood, 'unknown')"
        },
        where='age_in_year between 3 and 4'
    ) }}

)

select * from final
