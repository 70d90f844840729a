-- An indicator is one model and one registry row: every registry row has an indicator model
-- (ind_<indicator_id>, tagged `indicator`), every indicator model has a registry row, and
-- every indicator model is declared in indicator_cells.sql (its `-- depends_on:` line, the
-- edge dbt needs to build it first). A disagreement stops the test with a message naming
-- each id and what is missing (the run record keeps dbt's message, not the rows).
{%- set problems = [] -%}
{#- the seed's table exists when the test runs (it refs the seed); not for the SQL linter -#}
{%- if execute and load_relation(ref('indicator_registry')) is not none -%}
{%- set declared = graph.nodes['model.' ~ project_name ~ '.indicator_cells'].depends_on.nodes -%}
{%- set model_ids = [] -%}
{%- for name in indicator_model_names() -%}
{%- set id = name[4:] if name.startswith('ind_') else name -%}
{%- do model_ids.append(id) -%}
{%- if ('model.' ~ project_name ~ '.' ~ name) not in declared -%}
{%- do problems.append(id ~ ": indicator model not declared in indicator_cells.sql (run dbt through ci-metrics dbt: it lists models/marts/indicators/ in CI_METRICS_INDICATOR_MODELS)") -%}
{%- endif -%}
{%- endfor -%}
{%- set registry_ids = run_query('select indicator_id from ' ~ ref('indicator_registry') ~ ' order by 1').columns[0].values() -%}
{%- for id in registry_ids if id not in model_ids -%}
{%- do problems.append(id ~ ": registry row without a model ind_" ~ id ~ " tagged indicator (models/marts/indicators/)") -%}
{%- endfor -%}
{%- for id in model_ids if id not in registry_ids -%}
{%- do problems.append(id ~ ": indicator model without a registry row (seeds/indicator_registry.csv)") -%}
{%- endfor -%}
{%- if problems -%}
{%- do exceptions.raise_compiler_error("indicator models and the registry disagree: " ~ (problems | join("; "))) -%}
{%- endif -%}
{%- endif %}

with

registry as (

    select indicator_id from {{ ref('indicator_registry') }}

),

final as (

    -- reached only when everything agrees (above): no row
    select indicator_id
    from registry
    where false

)

select * from final
