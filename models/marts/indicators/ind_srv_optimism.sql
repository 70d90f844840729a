with

final as (

    {{ weighted_survey_share(indicator_id='srv_optimism', question='q_future') }}

)

select * from final
