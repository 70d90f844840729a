{#- The indicator models (every model under models/marts/indicators/, one per registry row),
    each emitting the long format of `indicator_values`, unioned without a hand-kept list.

    dbt learns a model's dependencies only while parsing, when the graph is still empty: the
    calling model declares the indicator models with `declare_indicator_models()`, from the
    environment variable CI_METRICS_INDICATOR_MODELS that ci-metrics sets for every dbt
    command (the folder's file names: src/ci_metrics/publish/dbt.py). The union itself reads
    the graph at run time; a model of the folder that is not declared (dbt run by hand without the
    variable) stops `dbt build`/`dbt run` naming it. -#}
{% macro declare_indicator_models() -%}
    {%- for name in env_var('CI_METRICS_INDICATOR_MODELS', '').split(',') if name.strip() %}
-- depends_on: {{ ref(name.strip()) }}
    {%- endfor %}
{%- endmacro %}

{% macro indicator_model_names() -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model'
                and node.original_file_path.replace('\\', '/').startswith('models/marts/indicators/') -%}
                {%- do names.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names | sort) }}
{%- endmacro %}

{% macro union_indicator_models(columns) -%}
    {%- set names = indicator_model_names() -%}
    {%- set missing = [] -%}
    {%- if execute -%}
        {%- set declared = model.depends_on.nodes -%}
        {%- for name in names -%}
            {%- if ('model.' ~ project_name ~ '.' ~ name) not in declared -%}
                {%- do missing.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing and flags.WHICH in ('build', 'run') -%}
            {%- do exceptions.raise_compiler_error(
                "Indicator models not declared in " ~ model.name ~ " (" ~ (missing | join(", "))
                ~ "): run dbt through `ci-metrics dbt ...`, which lists models/marts/indicators/ in "
                ~ "CI_METRICS_INDICATOR_MODELS for dbt's parser") -%}
        {%- endif -%}
        {%- if not names -%}
            {%- do exceptions.raise_compiler_error("No model is tagged 'indicator'.") -%}
        {%- endif -%}
    {%- endif -%}
    {%- for name in names %}
    {% if not loop.first %}union all{% endif %}
    select
        {{ columns | join(',\n        ') }}
    {#- undeclared (dbt compile or the SQL linter without the variable): the relation by name #}
    from {{ graph.nodes['model.' ~ project_name ~ '.' ~ name].relation_name if name in missing else ref(name) }}
    {%- endfor %}
{%- endmacro %}
