{#- What a publish records of the ledger: each file's verdict, so that a revision can name the
    files that entered or left the computation between two publishes. A file read again
    (reprocessed) gets a new decision time, hence a new version. -#}
with

files as (

    select * from {{ source('ops', 'files') }}

),

final as (

    select
        file_id,
        source,
        file_name,
        locality_code,
        period,
        status,
        superseded_by,
        decided_at,
        {{ publishing_run_id() }} as run_id,
        md5(cast(row(status, superseded_by, decided_at) as varchar)) as recorded_digest

    from files

)

select * from final
