{#- The sources each indicator is computed from, read from dbt's own graph at run time: walk
    upstream from every indicator model (models/marts/indicators/ind_<indicator_id>) to the
    sources it reads; a source belongs to the inbox folder its staging folder is named after
    (models/staging/<source>/), as in src/ci_metrics/publish/holds.py. Returns a list of
    (indicator_id, source) pairs, sorted; empty while parsing. -#}
{% macro indicator_inputs() -%}
    {%- set pairs = [] -%}
    {%- if execute -%}
        {%- for name in indicator_model_names() -%}
            {%- set queue = ['model.' ~ project_name ~ '.' ~ name] -%}
            {%- set seen = [] -%}
            {%- set folders = [] -%}
            {#- a bounded breadth-first walk (Jinja has no while): the DAG is far shallower -#}
            {%- for _ in range(500) if queue -%}
                {%- set uid = queue.pop(0) -%}
                {%- if uid not in seen -%}
                    {%- do seen.append(uid) -%}
                    {%- if uid in graph.sources -%}
                        {%- set parts = graph.sources[uid].original_file_path.replace('\\', '/').split('/') -%}
                        {%- if parts | length > 2 and parts[1] == 'staging' and parts[2] not in folders -%}
                            {%- do folders.append(parts[2]) -%}
                        {%- endif -%}
                    {%- elif uid in graph.nodes -%}
                        {%- for parent in graph.nodes[uid].depends_on.nodes -%}
                            {%- do queue.append(parent) -%}
                        {%- endfor -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endfor -%}
            {%- for folder in folders | sort -%}
                {%- do pairs.append((name[4:] if name.startswith('ind_') else name, folder)) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(pairs | sort) }}
{%- endmacro %}
