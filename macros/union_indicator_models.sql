{#- Union of every model tagged `indicator` (one model per indicator, each emitting the long
    format of `indicator_values`), found in the graph at run time. dbt only learns a model's
    dependencies while parsing, when the graph is not yet available, so the calling model
    must declare each indicator model with a `-- depends_on: {{ ref(...) }}` line; a model
    tagged `indicator` that is not declared stops the run with the line to add. -#}
{% macro indicator_model_names() -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and 'indicator' in node.tags -%}
                {%- do names.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names | sort) }}
{%- endmacro %}

{% macro union_indicator_models(columns) -%}
    {%- set names = indicator_model_names() -%}
    {%- if execute -%}
        {%- set declared = model.depends_on.nodes -%}
        {%- set missing = [] -%}
        {%- for name in names -%}
            {%- if ('model.' ~ project_name ~ '.' ~ name) not in declared -%}
                {%- do missing.append("-- depends_on: {{ ref('" ~ name ~ "') }}") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {%- do exceptions.raise_compiler_error(
                "Indicator models tagged 'indicator' but not declared in " ~ model.name
                ~ ". Add these lines to " ~ model.original_file_path ~ ":\n" ~ (missing | join("\n"))) -%}
        {%- endif -%}
        {%- if not names -%}
            {%- do exceptions.raise_compiler_error("No model is tagged 'indicator'.") -%}
        {%- endif -%}
    {%- endif -%}
    {%- for name in names %}
    {% if not loop.first %}union all{% endif %}
    select
        {{ columns | join(',\n        ') }}
    from {{ ref(name) }}
    {%- endfor %}
{%- endmacro %}
