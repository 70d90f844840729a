{#- The columns that make two rows the same (lineage columns excluded). -#}
{%- set business_columns = [
    'locality_code', 'period', 'school_code', 'school_name', 'pupil_key', 'grade', 'sex',
    'bagrut_eligible', 'university_threshold', 'math_units', 'dropped_out'
] -%}

with

source as (

    select * from {{ source('raw', 'school_achievement') }}
    where {{ in_changed_localities() }}

),

deduplicated as (

    -- a pupil row repeated exactly (same file received twice, or a line duplicated) counts once
    {{ deduplicate_exact_repeats('source', business_columns) }}

),

final as (

    select
        cast(locality_code as integer) as locality_code,
        cast(period as integer) as period,
        cast(school_code as varchar) as school_code,
        {{ clean_text('school_name') }} as school_name,
        pupil_key,
        {{ grade_from_hebrew('grade') }} as grade,
        {{ sex_from_hebrew_code('sex') }} as gender,
        bagrut_eligible as is_bagrut_eligible,
        university_threshold as meets_university_threshold,
        cast(math_units as integer) as math_units,
        dropped_out as has_dropped_out,
        _file_name as source_file_name,
        _row_number as source_row_number

    from deduplicated

)

select * from final
