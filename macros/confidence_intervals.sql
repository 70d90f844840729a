{#- 95% confidence intervals of the indicator values (docs in _confidence_interval_macros.yml).
    Each macro returns an SQL expression; indicator_values picks the method of each indicator
    from the registry's ci_method. Proportions are 0..1 here; the model scales them. -#}

{#- The two-sided 95% critical value: the 97.5% quantile of the standard normal distribution. -#}
{% macro ci_z() -%}
    1.959963984540054
{%- endmacro %}

{#- Kish's effective sample size of a weighted cell: (sum of weights)^2 / sum of squared weights. -#}
{% macro kish_effective_sample_size(sum_weight, sum_weight_squared) -%}
    (({{ sum_weight }}) * ({{ sum_weight }}) / nullif({{ sum_weight_squared }}, 0))
{%- endmacro %}

{#- One bound of the Wilson score interval of a proportion p (0..1) observed in n trials, before
    clamping: (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n). -#}
{% macro wilson_bound(p, n, sign) -%}
    (
        ({{ p }}) + {{ ci_z() }} * {{ ci_z() }} / (2.0 * ({{ n }}))
        {{ sign }} {{ ci_z() }} * sqrt(
            ({{ p }}) * (1.0 - ({{ p }})) / ({{ n }})
            + {{ ci_z() }} * {{ ci_z() }} / (4.0 * ({{ n }}) * ({{ n }}))
        )
    ) / (1.0 + {{ ci_z() }} * {{ ci_z() }} / ({{ n }}))
{%- endmacro %}

{#- The Wilson bounds, kept within 0..p and p..1 (they are, but for the last binary digit:
    0 of n gives exactly 0, n of n exactly 1). -#}
{% macro wilson_lower(p, n) -%}
    least({{ p }}, greatest(0.0, {{ wilson_bound(p, n, '-') }}))
{%- endmacro %}

{% macro wilson_upper(p, n) -%}
    greatest({{ p }}, least(1.0, {{ wilson_bound(p, n, '+') }}))
{%- endmacro %}

{#- Newcombe's hybrid score interval (his method 10) of a difference d = p1 - p2 of two
    independent proportions, from the Wilson interval (l1, u1) of p1 and (l2, u2) of p2:
    d - sqrt((p1 - l1)^2 + (u2 - p2)^2) .. d + sqrt((u1 - p1)^2 + (p2 - l2)^2), in the unit of
    its arguments. -#}
{% macro newcombe_lower(difference, minuend, minuend_lower, subtrahend, subtrahend_upper) -%}
    (({{ difference }}) - sqrt(
        {{ squared('(' ~ minuend ~ ') - (' ~ minuend_lower ~ ')') }}
        + {{ squared('(' ~ subtrahend_upper ~ ') - (' ~ subtrahend ~ ')') }}
    ))
{%- endmacro %}

{% macro newcombe_upper(difference, minuend, minuend_upper, subtrahend, subtrahend_lower) -%}
    (({{ difference }}) + sqrt(
        {{ squared('(' ~ minuend_upper ~ ') - (' ~ minuend ~ ')') }}
        + {{ squared('(' ~ subtrahend ~ ') - (' ~ subtrahend_lower ~ ')') }}
    ))
{%- endmacro %}

{#- x * x: a product, exact to the last binary digit on every platform (power() is libm's). -#}
{% macro squared(expression) -%}
    (({{ expression }}) * ({{ expression }}))
{%- endmacro %}

{#- Half the width of the normal-approximation interval of (inflow - outflow) / exposure when
    inflow and outflow are independent Poisson counts: z sqrt(inflow + outflow) / exposure. -#}
{% macro poisson_difference_half_width(inflow, outflow, exposure) -%}
    ({{ ci_z() }} * sqrt(({{ inflow }}) + ({{ outflow }})) / ({{ exposure }}))
{%- endmacro %}
