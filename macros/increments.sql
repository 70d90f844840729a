{#- Cost that follows the change (README.md): the models keyed by locality are incremental.
    On a night when only some localities changed, the pipeline passes them as the variable
    `changed_localities` (a list of locality codes; src/ci_metrics/publish/increments.py);
    each such model deletes those localities' rows (pre-hook `delete_changed_localities`) and
    appends them recomputed from inputs read through `in_changed_localities`. Without the
    variable (dbt run by hand) every row is deleted and recomputed; a full rebuild is
    `--full-refresh`. Docs in _increments_macros.yml. -#}

{#- True for a row of a locality this build recomputes: `column in (<changed localities>)` on an
    incremental build of an incremental model given the variable, `true` otherwise (also in a
    dbt unit test, which has no relation `this`: its inputs are the whole fixture). -#}
{% macro in_changed_localities(column='locality_code') -%}
    {%- set localities = var('changed_localities', none) -%}
    {%- if localities is not none and this is not none and is_incremental() -%}
        {%- if localities | length == 0 -%}
            false
        {%- else -%}
            {{ column }} in ({{ localities | map('int') | join(', ') }})
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the incremental models: the rows this build recomputes leave the table first
    (all of them when no variable is given). Nothing on a first or --full-refresh build. -#}
{% macro delete_changed_localities() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_changed_localities() }}
    {%- endif -%}
{%- endmacro %}

{#- Validation of what changed: a dbt test configured `where: __changed_localities__`
    (dbt_project.yml, the per-locality tests of the incremental models) looks only at the
    changed localities' rows on an incremental night, at every row otherwise (no variable).
    Any other `where` works as in dbt. Overrides dbt's get_where_subquery for DuckDB (the
    root project is searched first). -#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == '__changed_localities__' -%}
        {%- set localities = var('changed_localities', none) -%}
        {%- if localities is none -%}
            {%- set where = '' -%}
        {%- elif localities | length == 0 -%}
            {%- set where = 'false' -%}
        {%- else -%}
            {%- set where = 'locality_code in (' ~ (localities | map('int') | join(', ')) ~ ')' -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
