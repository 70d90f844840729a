{#- What a publish records of marts.indicator_values: every published column, the run, and
    a digest of the figures rounded below any published precision (a value recomputed to
    the last binary digit of a floating sum is not a revision). -#}
with

indicator_values as (

    select * from {{ ref('indicator_values') }}

),

final as (

    select
        indicator_id,
        period,
        locality_code,
        dimension,
        dimension_value,
        numerator,
        denominator,
        value,
        unit,
        unweighted_count,
        min_cell_size,
        is_below_min_cell_size,
        ci_lower,
        ci_upper,
        ci_method,
        {{ publishing_run_id() }} as run_id,
        md5(cast(row(
            round(value, 6),
            round(numerator, 4),
            round(denominator, 4),
            unweighted_count,
            unit,
            round(ci_lower, 6),
            round(ci_upper, 6),
            ci_method
        ) as varchar)) as recorded_digest

    from indicator_values

)

select * from final
