{#- A view: the report reads it from the published warehouse, whatever ran after dbt. -#}
{{ config(materialized='view') }}

with

files as (

    select * from {{ source('ops', 'files') }}

),

current_files as (

    -- a superseded file was replaced by a newer one of the same name: it no longer counts;
    -- an ignored one (a workbook of no declared CBS layout) is no data of the source
    select
        source,
        status,
        rows_read,
        rows_loaded,
        rows_rejected
    from files
    where status not in ('superseded', 'ignored')

),

final as (

    select
        source,
        cast(count(*) as bigint) as files_received,
        cast(count_if(status = 'loaded') as bigint) as files_loaded,
        cast(count_if(status = 'rejected') as bigint) as files_rejected,
        cast(count_if(status = 'held') as bigint) as files_held,
        cast(coalesce(sum(rows_read), 0) as bigint) as rows_read,
        cast(coalesce(sum(rows_loaded), 0) as bigint) as rows_loaded,
        cast(coalesce(sum(rows_rejected), 0) as bigint) as rows_rejected
    from current_files
    group by source

)

select * from final
