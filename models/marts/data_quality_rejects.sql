{#- A view, like data_quality: it always describes the ops tables as they are. -#}
{{ config(materialized='view') }}

with

rejects as (

    select * from {{ source('ops', 'rejects') }}

),

files as (

    select * from {{ source('ops', 'files') }}

),

current_rejects as (

    -- the rejects of the files that still count (a superseded file's do not); the rejected
    -- value itself is never read
    select
        rejects.source,
        rejects.file_id,
        rejects.row_number,
        rejects.reason
    from rejects
    inner join files
        on rejects.file_id = files.file_id
    where files.status <> 'superseded'

),

categorised as (

    -- the reason text may quote a column of a partner's file: only its category leaves here;
    -- the first pattern that matches wins
    select
        source,
        -- the rejected row: a file rejected whole (no row number) is one "row"
        file_id || ':' || coalesce(cast(row_number as varchar), 'file') as rejected_row,
        case
            when regexp_matches(reason, 'check digit', 'i') then 'id_check_digit'
            when regexp_matches(reason, 'national ID is empty', 'i') then 'id_missing'
            when regexp_matches(reason, 'national ID', 'i') then 'id_malformed'
            when regexp_matches(reason, 'not a source folder|unknown file|no layout', 'i') then 'unknown_file'
            when regexp_matches(reason, 'cannot|could not|unreadable|encoding', 'i') then 'unreadable_file'
            when regexp_matches(reason, 'sheet|header|missing column', 'i') then 'unreadable_file'
            when regexp_matches(reason, 'is empty', 'i') then 'empty_field'
            when regexp_matches(reason, 'not a valid date|date and time', 'i') then 'invalid_date'
            when regexp_matches(reason, 'not a whole number|not a number', 'i') then 'not_a_number'
            when regexp_matches(reason, 'is below|is above', 'i') then 'out_of_range'
            when regexp_matches(reason, 'is not one of', 'i') then 'not_allowed_value'
            else 'other'
        end as reject_category
    from current_rejects

),

final as (

    -- a row rejected for two cells of the same category counts once
    select
        source,
        reject_category,
        cast(count(distinct rejected_row) as bigint) as rows_rejected
    from categorised
    group by source, reject_category

)

select * from final
