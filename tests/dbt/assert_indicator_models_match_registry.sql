-- Every registry row has an indicator model (ind_<indicator_id>, tagged `indicator`) and
-- every indicator model has a registry row: adding an indicator = one model + one row.
{%- set model_ids = [] -%}
{%- for name in indicator_model_names() -%}
    {%- do model_ids.append(name[4:] if name.startswith('ind_') else name) -%}
{%- endfor %}

with

registry as (

    select indicator_id from {{ ref('indicator_registry') }}

),

indicator_models as (

    select unnest([{% for id in model_ids %}'{{ id }}'{% if not loop.last %}, {% endif %}{% endfor %}]::varchar[]) as indicator_id

),

final as (

    select indicator_id, 'registry row without a model tagged indicator' as problem
    from registry
    where indicator_id not in (select indicator_id from indicator_models)
    union all
    select indicator_id, 'indicator model without a registry row' as problem
    from indicator_models
    where indicator_id not in (select indicator_id from registry)

)

select * from final
