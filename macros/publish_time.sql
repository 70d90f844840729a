{#- The moment a snapshot records (valid_from / valid_to of every vintage): the publish's own
    time, passed by the run's history stage as the variable `published_at` (UTC, the same
    instant as its row of ops.publications), so that "as published at T" and the publication
    log agree to the microsecond. dbt run by hand (no variable): the current time in UTC.
    Overrides dbt-duckdb's duckdb__snapshot_get_time (the root project is searched first). -#}
{% macro duckdb__snapshot_get_time() -%}
    {%- if var('published_at', none) -%}
        cast('{{ var("published_at") }}' as timestamp)
    {%- else -%}
        cast(timezone('UTC', current_timestamp) as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- The run that publishes: recorded on every vintage it introduces. -#}
{% macro publishing_run_id() -%}
    '{{ var("publish_run_id", "manual") }}'
{%- endmacro %}
