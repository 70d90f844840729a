with

final as (

    {{ grade_12_share(indicator_id='edu_math_5_units', flag='takes_math_5_units') }}

)

select * from final
