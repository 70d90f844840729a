{#- Rows of each loaded partner file against the previous load of the same layout and
    locality, for the GX suite `volumes`: a school file with half last year's pupils is
    suspicious. The threshold is GX's (setting volume_drop_warning), not this model's. -#}

with

files as (

    select * from {{ source('ops', 'files') }}

),

loads as (

    -- CBS workbooks have no partner layout (their loader checks them): left out
    select
        file_id,
        layout,
        locality_code,
        coalesce(period, year(snapshot_date)) as period_key,
        file_name,
        rows_loaded
    from files
    where
        status = 'loaded'
        and layout is not null

),

compared as (

    select
        file_id,
        layout,
        locality_code,
        period_key,
        file_name,
        rows_loaded,
        lag(rows_loaded) over (
            partition by layout, locality_code
            order by period_key
        ) as previous_rows_loaded
    from loads

),

final as (

    select
        file_id,
        layout,
        locality_code,
        period_key,
        file_name,
        rows_loaded,
        previous_rows_loaded,
        cast(rows_loaded as double) / nullif(previous_rows_loaded, 0) as ratio_to_previous
    from compared

)

select * from final
