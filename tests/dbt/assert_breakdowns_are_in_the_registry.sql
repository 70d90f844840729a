-- An indicator is broken down only by the dimensions its registry row lists (`dimensions`,
-- separated by `; `; the total always): names the indicator and the dimension that is not listed.
with

registry as (

    select
        indicator_id,
        list_transform(
            string_split(coalesce(dimensions, ''), ';'), lambda d: trim(d)
        ) as allowed_dimensions
    from {{ ref('indicator_registry') }}

),

breakdowns as (

    select distinct
        indicator_id,
        dimension
    from {{ ref('indicator_values') }}
    where dimension <> 'total'

),

final as (

    select
        breakdowns.indicator_id,
        breakdowns.dimension,
        'breakdown not listed in the registry column dimensions' as problem
    from breakdowns
    inner join registry
        on breakdowns.indicator_id = registry.indicator_id
    where not list_contains(registry.allowed_dimensions, breakdowns.dimension)

)

select * from final
