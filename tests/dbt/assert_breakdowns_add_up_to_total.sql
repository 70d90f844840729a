-- Gender, community, neighborhood and age group each split the total: their denominators
-- add up to the total's (no unit lost to a null dimension value). Schools are not checked
-- (a pupil may be in two schools' files).
with

indicator_values as (

    select * from {{ ref('indicator_values') }}
    where denominator is not null

),

totals as (

    select
        indicator_id,
        locality_code,
        period,
        denominator as total_denominator
    from indicator_values
    where dimension = 'total'

),

breakdowns as (

    select
        indicator_id,
        locality_code,
        period,
        dimension,
        sum(denominator) as summed_denominator
    from indicator_values
    where dimension in ('gender', 'community', 'neighborhood', 'age_group')
    group by indicator_id, locality_code, period, dimension

),

final as (

    select
        breakdowns.*,
        totals.total_denominator
    from breakdowns
    left join totals
        on breakdowns.indicator_id = totals.indicator_id
        and breakdowns.locality_code = totals.locality_code
        and breakdowns.period = totals.period
    where totals.total_denominator is null
        or abs(breakdowns.summed_denominator - totals.total_denominator) > 1e-6

)

select * from final
