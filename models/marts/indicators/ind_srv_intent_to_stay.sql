with

final as (

    {{ weighted_survey_share(indicator_id='srv_intent_to_stay', question='q_stay') }}

)

select * from final
