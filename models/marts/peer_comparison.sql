with

measures as (

    select * from {{ ref('stg_cbs__local_authorities') }}

),

socioeconomic_index as (

    select * from {{ ref('stg_cbs__socioeconomic_index') }}

),

authority_years as (

    select distinct
        authority_code,
        data_year
    from measures

),

cluster_candidates as (

    -- the cluster an authority had in a data year: the latest index edition published for
    -- a year at or before the data year, else the earliest edition there is
    select
        authority_years.authority_code,
        authority_years.data_year,
        socioeconomic_index.index_year,
        socioeconomic_index.cluster,
        row_number() over (
            partition by authority_years.authority_code, authority_years.data_year
            order by
                socioeconomic_index.index_year <= authority_years.data_year desc,
                case
                    when socioeconomic_index.index_year <= authority_years.data_year
                        then socioeconomic_index.index_year
                end desc nulls last,
                socioeconomic_index.index_year asc
        ) as preference
    from authority_years
    inner join socioeconomic_index
        on authority_years.authority_code = socioeconomic_index.authority_code

),

cluster_of_year as (

    select
        authority_code,
        data_year,
        index_year as sei_index_year,
        cluster as sei_cluster
    from cluster_candidates
    where preference = 1

),

clustered as (

    select
        measures.authority_code,
        measures.locality_code,
        measures.is_regional_council,
        measures.locality_name,
        measures.measure,
        measures.unit,
        measures.data_year,
        measures.data_period,
        measures.value,
        measures.value_status,
        measures.is_low_reliability,
        cluster_of_year.sei_index_year,
        cluster_of_year.sei_cluster
    from measures
    left join cluster_of_year
        on measures.authority_code = cluster_of_year.authority_code
        and measures.data_year = cluster_of_year.data_year

),

peer_stats as (

    -- the other authorities of the same cluster (the authority itself excluded)
    select
        authority.authority_code,
        authority.measure,
        authority.data_year,
        count(peer.value) as peer_count,
        -- ordered: floating-point sums in a fixed order give the same bits on every run
        avg(peer.value order by peer.value) as peer_avg,
        quantile_cont(peer.value, 0.25) as peer_p25,
        quantile_cont(peer.value, 0.5) as peer_median,
        quantile_cont(peer.value, 0.75) as peer_p75
    from clustered as authority
    inner join clustered as peer
        on authority.measure = peer.measure
        and authority.data_year = peer.data_year
        and authority.sei_cluster = peer.sei_cluster
        and authority.authority_code <> peer.authority_code
    where peer.value is not null
    group by authority.authority_code, authority.measure, authority.data_year

),

all_stats as (

    -- every authority with a figure (the national distribution)
    select
        measure,
        data_year,
        count(value) as all_count,
        avg(value order by value) as all_avg,
        quantile_cont(value, 0.25) as all_p25,
        quantile_cont(value, 0.5) as all_median,
        quantile_cont(value, 0.75) as all_p75
    from clustered
    where value is not null
    group by measure, data_year

),

final as (

    select
        clustered.authority_code,
        clustered.locality_code,
        clustered.is_regional_council,
        clustered.locality_name,
        clustered.measure,
        clustered.unit,
        clustered.data_year,
        clustered.data_period,
        clustered.value,
        clustered.value_status,
        clustered.is_low_reliability,
        clustered.sei_index_year,
        clustered.sei_cluster,
        coalesce(peer_stats.peer_count, 0) as peer_count,
        peer_stats.peer_avg,
        peer_stats.peer_p25,
        peer_stats.peer_median,
        peer_stats.peer_p75,
        coalesce(all_stats.all_count, 0) as all_count,
        all_stats.all_avg,
        all_stats.all_p25,
        all_stats.all_median,
        all_stats.all_p75,
        clustered.value - peer_stats.peer_avg as difference_from_peer_avg,
        clustered.value - all_stats.all_avg as difference_from_all_avg
    from clustered
    left join peer_stats
        on clustered.authority_code = peer_stats.authority_code
        and clustered.measure = peer_stats.measure
        and clustered.data_year = peer_stats.data_year
    left join all_stats
        on clustered.measure = all_stats.measure
        and clustered.data_year = all_stats.data_year

)

select * from final
