{#- marts.indicator_values as it was published at the moment held in the DuckDB variable
    `ci_metrics_as_of` (a UTC timestamp; `ci-metrics sql --as-of WHEN` sets it and reads this
    view under the name marts.indicator_values). Unset: no rows. -#}
with

value_versions as (

    select * from {{ ref('indicator_value_history') }}

),

as_of as (

    select cast(getvariable('ci_metrics_as_of') as timestamp) as moment

),

final as (

    select
        value_versions.indicator_id,
        value_versions.period,
        value_versions.locality_code,
        value_versions.dimension,
        value_versions.dimension_value,
        value_versions.numerator,
        value_versions.denominator,
        value_versions.value,
        value_versions.unit,
        value_versions.unweighted_count,
        value_versions.min_cell_size,
        value_versions.is_below_min_cell_size,
        value_versions.ci_lower,
        value_versions.ci_upper,
        value_versions.ci_method

    from value_versions
    inner join as_of
        on
        value_versions.valid_from <= as_of.moment
        and (value_versions.valid_to is null or value_versions.valid_to > as_of.moment)

)

select * from final
