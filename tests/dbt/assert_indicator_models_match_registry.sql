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

    select
        unnest(cast([
            {%- for id in model_ids %}
            '{{ id }}'{{ ',' if not loop.last }}
            {%- endfor %}
        ] as varchar[])) as indicator_id

),

final as (

    select
        coalesce(registry.indicator_id, indicator_models.indicator_id) as indicator_id,
        case
            when indicator_models.indicator_id is null then 'registry row without a model tagged indicator'
            else 'indicator model without a registry row'
        end as problem
    from registry
    full outer join indicator_models
        on registry.indicator_id = indicator_models.indicator_id
    where registry.indicator_id is null
        or indicator_models.indicator_id is null

)

select * from final
