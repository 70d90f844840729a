-- A domain has one Hebrew label (domain_he) on every registry row of the domain.
with

registry as (

    select * from {{ ref('indicator_registry') }}

),

final as (

    select
        domain,
        count(distinct coalesce(domain_he, '')) as labels
    from registry
    group by domain
    having count(distinct coalesce(domain_he, '')) > 1

)

select * from final
