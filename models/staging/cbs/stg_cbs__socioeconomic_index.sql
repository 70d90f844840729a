with

source as (

    select * from {{ source('cbs', 'cbs_socioeconomic_index') }}

),

one_per_edition as (

    -- the same edition of the index received twice (e.g. a corrected file): the file whose
    -- name sorts last wins
    select *
    from source
    qualify
        row_number() over (
            partition by authority_code, index_year
            order by _file_name desc
        ) = 1

),

renamed as (

    select
        authority_code,
        cast(locality_code as integer) as locality_code,
        is_regional_council,
        trim(locality_name) as locality_name,
        trim(locality_name_en) as locality_name_en,
        cast(district_code as integer) as district_code,
        cast(municipal_status_code as integer) as municipal_status_code,
        cast(index_year as integer) as index_year,
        index_population,
        index_value,
        cast(rank as integer) as rank,
        cast(cluster as integer) as cluster,
        cast(previous_index_year as integer) as previous_index_year,
        cast(previous_rank as integer) as previous_rank,
        cast(previous_cluster as integer) as previous_cluster,
        cast(cluster_change as integer) as cluster_change,
        _file_name as source_file_name,
        _row_number as source_row_number

    from one_per_edition

)

select * from renamed
