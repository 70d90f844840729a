{#- Every version of every published indicator value (the snapshot, under the planning
    unit's names). -#}
with

value_versions as (

    select * from {{ ref('indicator_values_snapshot') }}

),

final as (

    select
        indicator_id,
        period,
        locality_code,
        dimension,
        dimension_value,
        value,
        numerator,
        denominator,
        unit,
        unweighted_count,
        min_cell_size,
        is_below_min_cell_size,
        ci_lower,
        ci_upper,
        ci_method,
        valid_from,
        valid_to,
        run_id

    from value_versions

)

select * from final
