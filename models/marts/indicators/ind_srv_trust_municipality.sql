with

final as (

    {{ weighted_survey_share(indicator_id='srv_trust_municipality', question='q_trust') }}

)

select * from final
