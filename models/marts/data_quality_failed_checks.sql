{#- A view, like data_quality_checks: ops.validations is written after dbt builds. -#}
{{ config(materialized='view') }}

with

validations as (

    select * from {{ source('ops', 'validations') }}

),

failed as (

    select
        run_id,
        suite,
        target,
        expectation,
        kwargs,
        severity,
        unexpected_count
    from validations
    where not success

),

final as (

    select
        run_id,
        row_number() over (
            partition by run_id
            order by severity, suite, expectation, target, kwargs, unexpected_count
        ) as check_number,
        suite,
        expectation,
        -- the kind of check, from the expectation type; the first pattern that matches wins
        case
            when expectation like '%row_count%' then 'row_count'
            when expectation like '%to_not_be_null%' then 'not_null'
            when expectation like '%to_be_null%' then 'is_null'
            when expectation like '%unique%' then 'unique'
            when expectation like '%in_set%' then 'in_set'
            when expectation like '%match_regex%' then 'pattern'
            when expectation like '%between%' then 'range'
            when expectation like '%greater_than%' then 'order'
            else 'other'
        end as check_category,
        severity,
        unexpected_count
    from failed

)

select * from final
