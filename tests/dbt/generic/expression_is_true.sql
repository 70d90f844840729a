{#- Every row satisfies a boolean SQL expression (business rules), without dbt_utils.
    Rows where the expression is null pass; use not_null for completeness. -#}
{% test expression_is_true(model, expression, column_name=none) %}

with

failing as (

    select * from {{ model }} where not ({{ expression }})

)

select * from failing

{% endtest %}
