{#- The columns that make two rows the same (lineage columns excluded). -#}
{%- set business_columns = [
    'locality_code', 'snapshot_date', 'file_number', 'head_key', 'persons', 'neighborhood',
    'opened_on', 'closed_on', 'referral_category'
] -%}

with

source as (

    select * from {{ source('raw', 'welfare_files') }}
    where {{ in_changed_localities() }}

),

latest_snapshot as (

    -- a snapshot is complete: only the latest one of each locality counts; a row repeated
    -- exactly counts once
    {{ deduplicate_exact_repeats('source', business_columns, latest_snapshot=true) }}

),

final as (

    select
        cast(locality_code as integer) as locality_code,
        {{ clean_text('file_number') }} as file_number,
        head_key,
        snapshot_date,
        cast(persons as integer) as persons,
        {{ clean_text('neighborhood') }} as neighborhood,
        opened_on,
        closed_on,
        referral_category,
        _file_name as source_file_name,
        _row_number as source_row_number

    from latest_snapshot

)

select * from final
