{#- Shared business rules of the indicator models (docs in _indicator_macros.yml). -#}

{#- Resident on a day: arrived on or before the day (born on it, moved in on it, or there since
    before 2015) and not left on or before it. `resident_from` is the arrival date, or the birth
    date when the register has no arrival date (born here or here since before 2015). -#}
{% macro is_resident_on(day, resident_from='resident_from', resident_until='resident_until') -%}
    ({{ resident_from }} <= {{ day }} and ({{ resident_until }} is null or {{ resident_until }} > {{ day }}))
{%- endmacro %}

{#- Age in year Y = Y - year of birth. -#}
{% macro age_in_year(birth_date, year) -%}
    ({{ year }} - extract(year from {{ birth_date }}))
{%- endmacro %}

{#- A welfare file is open at some time during year Y when it was opened on or before 31 December
    of Y and not closed before 1 January of Y. -#}
{% macro is_open_during_year(opened_on, closed_on, year) -%}
    ({{ opened_on }} <= make_date({{ year }}, 12, 31)
        and ({{ closed_on }} is null or {{ closed_on }} >= make_date({{ year }}, 1, 1)))
{%- endmacro %}

{#- Trim and collapse inner whitespace; empty text becomes null. -#}
{% macro clean_text(column) -%}
    nullif(trim(regexp_replace({{ column }}, '\s+', ' ', 'g')), '')
{%- endmacro %}

{#- ז / נ (register, schools) -> male / female. -#}
{% macro sex_from_hebrew_code(column) -%}
    case trim({{ column }}) when 'ז' then 'male' when 'נ' then 'female' end
{%- endmacro %}

{#- Hebrew grade letters -> grade number 7..12 (geresh, gershayim and quotes ignored). -#}
{% macro grade_from_hebrew(column) -%}
    case regexp_replace({{ column }}, '[\s''"׳״]', '', 'g')
        when 'ז' then 7
        when 'ח' then 8
        when 'ט' then 9
        when 'י' then 10
        when 'יא' then 11
        when 'יב' then 12
    end
{%- endmacro %}

{#- The rows of `relation` with exact repeats removed: rows equal in every business column
    (lineage columns ignored) count once, with the lineage (`_file_name`, `_row_number`) of
    their first occurrence. A hash aggregate, not a window: at 100 cities this is several
    times faster than `row_number() over (partition by <all columns>)`. With
    `latest_snapshot`, only the latest snapshot of each locality is kept (snapshots are
    complete). -#}
{% macro deduplicate_exact_repeats(relation, business_columns, latest_snapshot=false) -%}
    select
        {{ business_columns | join(',\n        ') }},
        min(struct_pack(f := _file_name, r := _row_number)).f as _file_name,
        min(struct_pack(f := _file_name, r := _row_number)).r as _row_number
    from {{ relation }}
    {%- if latest_snapshot %}
    where (locality_code, snapshot_date) in (
        select (locality_code, max(snapshot_date)) from {{ relation }} group by locality_code
    )
    {%- endif %}
    group by {{ business_columns | join(', ') }}
{%- endmacro %}

{#- One copy of every unit row per dimension it is reported by, plus the total:
    adds `dimension` and `dimension_value` (text). `dimensions` maps a dimension name to the
    column or expression holding its value. -#}
{% macro explode_dimensions(cte, dimensions) -%}
    select {{ cte }}.*, 'total' as dimension, 'all' as dimension_value
    from {{ cte }}
    {%- for dimension, expression in dimensions.items() %}
    union all
    select {{ cte }}.*, '{{ dimension }}' as dimension, cast({{ expression }} as varchar) as dimension_value
    from {{ cte }}
    {%- endfor %}
{%- endmacro %}

{#- The long format of the indicator models (unioned into `indicator_cells`), as the column
    list of a select from `cells` (period, locality_code, dimension, dimension_value,
    numerator, denominator): value = 100 * (numerator / denominator) in %, null when the
    denominator is 0; Σw² of a weighted cell for its interval; no flows (not a net count).
    The ratio first, in double: x / x is exactly 1 and rounding is monotonic, so the value is
    in 0..100 to the last bit and equals indicator_values' 100 * proportion; (100 * x) / x
    is not (100 * 1.4233 / 1.4233 = 100.00000000000001: a weighted cell where every
    respondent agrees failed `value between 0 and 100` at 255 cities). -#}
{% macro indicator_value_columns(indicator_id, unweighted_count='denominator', sum_weight_squared='null') -%}
    '{{ indicator_id }}' as indicator_id,
        cast(period as integer) as period,
        cast(locality_code as integer) as locality_code,
        dimension,
        dimension_value,
        cast(numerator as double) as numerator,
        cast(denominator as double) as denominator,
        100.0 * (cast(numerator as double) / nullif(cast(denominator as double), 0)) as value,
        cast({{ unweighted_count }} as bigint) as unweighted_count,
        cast({{ sum_weight_squared }} as double) as sum_weight_squared,
        cast(null as double) as inflow,
        cast(null as double) as outflow
{%- endmacro %}

{#- Weighted share of complete survey responses (is_in_share) agreeing (is_agreement) with one
    question, in %, by the total and each dimension. A cell with no agreement is 0, not null;
    unweighted_count counts responses; sum_weight_squared (Σw²) gives the interval its Kish
    effective sample size. -#}
{% macro weighted_survey_share(indicator_id, question, dimensions={
    'community': 'community',
    'neighborhood': 'neighborhood',
    'age_group': 'age_group'
}) -%}
    with

    answers as (

        select * from {{ ref('int_survey_answers') }}
        where {{ in_changed_localities() }}
            and question = '{{ question }}'
            and is_in_share

    ),

    answers_by_dimension as (

        {{ explode_dimensions('answers', dimensions) | indent(4) }}

    ),

    cells as (

        select
            locality_code,
            period,
            dimension,
            dimension_value,
            coalesce(sum(weight) filter (where is_agreement), 0) as numerator,
            sum(weight) as denominator,
            count(*) as unweighted_count,
            sum(weight * weight) as sum_weight_squared
        from answers_by_dimension
        group by locality_code, period, dimension, dimension_value

    )

    select
        {{ indicator_value_columns(
            indicator_id, unweighted_count='unweighted_count', sum_weight_squared='sum_weight_squared'
        ) }}
    from cells
{%- endmacro %}

{#- Share of grade-12 pupils of the school file for whom a flag of int_pupils_enriched is true,
    in %, by the total and each dimension; a pupil counts once per cell. -#}
{% macro grade_12_share(indicator_id, flag, dimensions={
    'school': 'school_code',
    'gender': 'gender',
    'community': 'community',
    'neighborhood': 'neighborhood'
}) -%}
    {{ resident_share(indicator_id, 'int_pupils_enriched', flag, dimensions, where='grade = 12', key='pupil_key') }}
{%- endmacro %}

{#- The target value implied by a registry target rule (fixed / baseline_times / baseline_plus). -#}
{% macro target_from_rule(rule, parameter, baseline) -%}
    case {{ rule }}
        when 'fixed' then {{ parameter }}
        when 'baseline_times' then {{ baseline }} * {{ parameter }}
        when 'baseline_plus' then {{ baseline }} + {{ parameter }}
    end
{%- endmacro %}

{#- Share of the people of an intermediate model (one row per person and period) for whom a
    flag is true, in %, by the total and each dimension; a person (its `key`) counts once per
    cell. -#}
{% macro resident_share(indicator_id, people, flag, dimensions, where=none, key='person_key') -%}
    with

    people as (

        select * from {{ ref(people) }}
        where {{ in_changed_localities() }}
        {%- if where %}
            and {{ where }}
        {%- endif %}

    ),

    people_by_dimension as (

        {{ explode_dimensions('people', dimensions) | indent(4) }}

    ),

    cells as (

        select
            locality_code,
            period,
            dimension,
            dimension_value,
            count(distinct {{ key }}) filter (where {{ flag }}) as numerator,
            count(distinct {{ key }}) as denominator
        from people_by_dimension
        group by locality_code, period, dimension, dimension_value

    )

    select
        {{ indicator_value_columns(indicator_id) }}
    from cells
{%- endmacro %}
