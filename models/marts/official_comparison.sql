with

indicator_map as (

    select * from {{ ref('cbs_indicator_map') }}

),

registry as (

    select * from {{ ref('indicator_registry') }}

),

peer_comparison as (

    select * from {{ ref('peer_comparison') }}
    where not is_regional_council

),

partnership as (

    select
        indicator_values.indicator_id,
        cast(indicator_values.locality_code as integer) as locality_code,
        cast(indicator_values.period as integer) as period,
        indicator_values.numerator,
        indicator_values.denominator,
        indicator_values.value,
        indicator_values.is_below_min_cell_size,
        indicator_values.ci_lower,
        indicator_values.ci_upper
    from {{ ref('indicator_values') }} as indicator_values
    inner join indicator_map
        on indicator_values.indicator_id = indicator_map.indicator_id
    where indicator_values.dimension = 'total'

),

partnership_localities as (

    select distinct locality_code from partnership

),

cbs_measures as (

    select * from {{ ref('stg_cbs__local_authorities') }}
    where not is_regional_council

),

cbs as (

    -- the official figure of the partnership's localities (municipalities and local
    -- councils: their CBS code is the locality code)
    select
        indicator_map.indicator_id,
        cbs_measures.locality_code,
        cbs_measures.data_year as period,
        cbs_measures.data_period,
        cbs_measures.value,
        cbs_measures.value_status,
        cbs_measures.is_low_reliability
    from cbs_measures
    inner join indicator_map
        on cbs_measures.measure = indicator_map.cbs_measure
    inner join partnership_localities
        on cbs_measures.locality_code = partnership_localities.locality_code

),

locality_names as (

    select
        locality_code,
        max(locality_name) as locality_name
    from cbs_measures
    group by locality_code

),

joined as (

    select
        coalesce(partnership.indicator_id, cbs.indicator_id) as indicator_id,
        coalesce(partnership.locality_code, cbs.locality_code) as locality_code,
        coalesce(partnership.period, cbs.period) as period,
        partnership.numerator as partnership_numerator,
        partnership.denominator as partnership_denominator,
        partnership.value as partnership_value,
        partnership.is_below_min_cell_size as partnership_is_below_min_cell_size,
        partnership.ci_lower as partnership_ci_lower,
        partnership.ci_upper as partnership_ci_upper,
        cbs.value as cbs_value,
        cbs.value_status as cbs_value_status,
        cbs.is_low_reliability as cbs_is_low_reliability,
        cbs.data_period as cbs_data_period
    from partnership
    full outer join cbs
        on partnership.indicator_id = cbs.indicator_id
        and partnership.locality_code = cbs.locality_code
        and partnership.period = cbs.period

),

final as (

    select
        joined.indicator_id,
        indicator_map.cbs_measure,
        joined.locality_code,
        locality_names.locality_name,
        joined.period,
        joined.partnership_numerator,
        joined.partnership_denominator,
        joined.partnership_value,
        joined.partnership_is_below_min_cell_size,
        joined.cbs_value,
        joined.cbs_value_status,
        joined.cbs_is_low_reliability,
        joined.cbs_data_period,
        joined.partnership_value - joined.cbs_value as difference,
        indicator_map.note,
        joined.partnership_ci_lower,
        joined.partnership_ci_upper,
        registry.polarity,
        -- the benchmarks: the same CBS measure and year (the period alignment above) for the
        -- locality's socio-economic cluster peers and for all authorities (peer_comparison)
        peer_comparison.peer_median as benchmark_peers,
        peer_comparison.all_median as benchmark_all,
        {{ benchmark_verdict(
            'joined.partnership_ci_lower', 'joined.partnership_ci_upper',
            'peer_comparison.peer_median', 'registry.polarity'
        ) }} as benchmark_verdict_peers,
        {{ benchmark_verdict(
            'joined.partnership_ci_lower', 'joined.partnership_ci_upper',
            'peer_comparison.all_median', 'registry.polarity'
        ) }} as benchmark_verdict_all
    from joined
    inner join indicator_map
        on joined.indicator_id = indicator_map.indicator_id
    left join registry
        on joined.indicator_id = registry.indicator_id
    left join locality_names
        on joined.locality_code = locality_names.locality_code
    left join peer_comparison
        on indicator_map.cbs_measure = peer_comparison.measure
        and joined.locality_code = peer_comparison.locality_code
        and joined.period = peer_comparison.data_year

)

select * from final
