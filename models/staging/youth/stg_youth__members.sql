{#- The columns that make two rows the same (lineage columns excluded). -#}
{%- set business_columns = [
    'locality_code', 'period', 'movement', 'member_key', 'birth_date', 'birth_year', 'age',
    'branch', 'is_active'
] -%}

with

source as (

    select * from {{ source('raw', 'youth_members') }}
    where {{ in_changed_localities() }}

),

deduplicated as (

    -- a roster row repeated exactly counts once
    {{ deduplicate_exact_repeats('source', business_columns) }}

),

final as (

    select
        cast(locality_code as integer) as locality_code,
        cast(period as integer) as period,
        {{ clean_text('movement') }} as movement,
        member_key,
        birth_date,
        cast(birth_year as integer) as birth_year,
        cast(age as integer) as age,
        {{ clean_text('branch') }} as branch,
        coalesce(is_active, false) as is_active,
        _file_name as source_file_name,
        _row_number as source_row_number

    from deduplicated

)

select * from final
