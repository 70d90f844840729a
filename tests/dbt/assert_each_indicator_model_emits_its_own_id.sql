-- An indicator model ind_<id> emits rows of indicator <id> only.
with

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

final as (

    select distinct indicator_id
    from indicator_values
    where indicator_id not in (
        {%- for name in indicator_model_names() %}
        '{{ name[4:] }}'{% if not loop.last %},{% endif %}
        {%- endfor %}
    )

)

select * from final
