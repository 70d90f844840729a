{#- Which inbox sources each indicator is computed from (dbt's lineage, macro
    indicator_inputs): a revision names only the files of these sources as its cause. -#}
{%- set pairs = indicator_inputs() %}

with

lineage as (

    {% for indicator_id, source in pairs -%}
    select
        '{{ indicator_id }}' as indicator_id,
        '{{ source }}' as source_folder
    {% if not loop.last %}union all{% endif %}
    {% endfor -%}
    {% if not pairs -%}
    select
        cast(null as varchar) as indicator_id,
        cast(null as varchar) as source_folder
    where false
    {%- endif %}

),

final as (

    select
        indicator_id,
        source_folder
    from lineage

)

select * from final
