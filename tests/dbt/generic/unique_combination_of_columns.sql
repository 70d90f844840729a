{#- The combination of the given columns is unique (composite grain key), without dbt_utils. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

counted as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}

),

final as (

    select * from counted where row_count > 1

)

select * from final

{% endtest %}
