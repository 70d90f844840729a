{#- The columns that make two rows the same (lineage columns excluded). -#}
{%- set business_columns = [
    'locality_code', 'period', 'child_key', 'birth_date', 'framework_type', 'framework_code',
    'framework_name', 'registered_on', 'left_on'
] -%}

with

source as (

    select * from {{ source('raw', 'early_childhood_enrolments') }}
    where {{ in_changed_localities() }}

),

deduplicated as (

    -- an enrolment row repeated exactly counts once
    {{ deduplicate_exact_repeats('source', business_columns) }}

),

final as (

    select
        cast(locality_code as integer) as locality_code,
        cast(period as integer) as period,
        child_key,
        birth_date,
        case {{ clean_text('framework_type') }}
            when 'מעון יום' then 'daycare'
            when 'גן טרום טרום חובה' then 'pre_pre_compulsory'
            when 'גן טרום חובה' then 'pre_compulsory'
            when 'גן חובה' then 'compulsory'
        end as framework_kind,
        {{ clean_text('framework_code') }} as framework_code,
        {{ clean_text('framework_name') }} as framework_name,
        registered_on,
        left_on,
        _file_name as source_file_name,
        _row_number as source_row_number

    from deduplicated

)

select * from final
