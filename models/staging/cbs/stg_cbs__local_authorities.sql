with

source as (

    select * from {{ source('cbs', 'cbs_local_authorities') }}

),

latest_edition as (

    -- several editions of the profile may be loaded side by side: a figure of an authority,
    -- measure and data year comes from the latest edition that carries it (CBS revises)
    select *
    from source
    qualify
        row_number() over (
            partition by authority_code, measure, data_year
            order by edition_year desc nulls last, _file_name desc
        ) = 1

),

renamed as (

    select
        authority_code,
        cast(locality_code as integer) as locality_code,
        is_regional_council,
        trim(locality_name) as locality_name,
        trim(district) as district,
        trim(municipal_status) as municipal_status,
        measure,
        unit,
        cast(data_year as integer) as data_year,
        data_period,
        value,
        value_status,
        value_status = 'low_reliability' as is_low_reliability,
        raw_value,
        edition_year,
        source_sheet,
        source_column,
        source_header,
        _file_name as source_file_name,
        _row_number as source_row_number

    from latest_edition

)

select * from renamed
