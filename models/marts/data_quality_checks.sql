{#- A view: ops.validations and ops.runs are written after dbt builds (validation, then
    publication), so a table would always miss the run that built it. -#}
{{ config(materialized='view') }}

with

validations as (

    select * from {{ source('ops', 'validations') }}

),

runs as (

    select * from {{ source('ops', 'runs') }}

),

checks_by_run as (

    select
        run_id,
        count(*) as checks_total,
        count_if(success) as checks_passed,
        count_if(not success and severity = 'warning') as warnings_failed,
        count_if(not success and severity = 'critical') as critical_failed
    from validations
    group by run_id

),

ranked as (

    -- newest first: runs recorded in ops.runs before the others, published before not,
    -- then by start
    select
        checks_by_run.run_id,
        checks_by_run.checks_total,
        checks_by_run.checks_passed,
        checks_by_run.warnings_failed,
        checks_by_run.critical_failed,
        runs.run_id is not null as is_recorded,
        count(*) over () as runs_checked,
        row_number() over (
            order by
                runs.run_id is not null desc,
                coalesce(runs.published, false) desc,
                runs.started_at desc,
                checks_by_run.run_id desc
        ) as recency
    from checks_by_run
    left join runs
        on checks_by_run.run_id = runs.run_id

),

final as (

    select
        run_id,
        cast(checks_total as bigint) as checks_total,
        cast(checks_passed as bigint) as checks_passed,
        cast(warnings_failed as bigint) as warnings_failed,
        cast(critical_failed as bigint) as critical_failed,
        -- a run missing from ops.runs is the latest only when it is the only run checked
        recency = 1 and (is_recorded or runs_checked = 1) as is_latest_run
    from ranked

)

select * from final
