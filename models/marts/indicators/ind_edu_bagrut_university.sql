with

final as (

    {{ grade_12_share(indicator_id='edu_bagrut_university', flag='meets_university_threshold') }}

)

select * from final
