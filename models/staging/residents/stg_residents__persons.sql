{#- The columns that make two rows the same (lineage columns excluded). -#}
{%- set business_columns = [
    'locality_code', 'snapshot_date', 'person_key', 'birth_date', 'sex', 'neighborhood',
    'birth_country', 'father_birth_country', 'household_number', 'arrival_date',
    'departure_date'
] -%}

with

source as (

    select * from {{ source('raw', 'residents') }}
    where {{ in_changed_localities() }}

),

latest_snapshot as (

    -- a snapshot is complete: only the latest one of each locality counts; a row repeated
    -- exactly (the same file received twice, or a line duplicated) counts once
    {{ deduplicate_exact_repeats('source', business_columns, latest_snapshot=true) }}

),

final as (

    select
        cast(locality_code as integer) as locality_code,
        person_key,
        snapshot_date,
        birth_date,
        {{ sex_from_hebrew_code('sex') }} as gender,
        {{ clean_text('neighborhood') }} as neighborhood,
        {{ clean_text('birth_country') }} as birth_country,
        {{ clean_text('father_birth_country') }} as father_birth_country,
        {{ clean_text('household_number') }} as household_number,
        arrival_date,
        departure_date,
        _file_name as source_file_name,
        _row_number as source_row_number

    from latest_snapshot

)

select * from final
