with

final as (

    {{ grade_12_share(indicator_id='edu_bagrut_eligibility', flag='is_bagrut_eligible') }}

)

select * from final
