{#- Real change versus chance, the city against a benchmark, and funnel-plot control limits
    (issue 15; docs in _significance_macros.yml). Each macro returns an SQL expression. The
    intervals themselves come from macros/confidence_intervals.sql. -#}

{#- A 95% interval of a change (or of a difference from a benchmark) that excludes 0: the
    change is more than chance. Null when either bound is null. -#}
{% macro interval_excludes_zero(lower, upper) -%}
    (({{ lower }}) > 0 or ({{ upper }}) < 0)
{%- endmacro %}

{#- 'better' | 'similar' | 'worse': the city against a benchmark value by whether the city's 95%
    interval contains it, read by the indicator's polarity. Null without an interval, a
    benchmark or a polarity. -#}
{% macro benchmark_verdict(lower, upper, benchmark, polarity) -%}
    case
        when ({{ lower }}) is null or ({{ upper }}) is null or ({{ benchmark }}) is null then null
        when ({{ lower }}) <= ({{ benchmark }}) and ({{ benchmark }}) <= ({{ upper }}) then 'similar'
        when ({{ polarity }}) = 'higher_is_better'
            then case when ({{ lower }}) > ({{ benchmark }}) then 'better' else 'worse' end
        when ({{ polarity }}) = 'lower_is_better'
            then case when ({{ upper }}) < ({{ benchmark }}) then 'better' else 'worse' end
    end
{%- endmacro %}

{#- The two-sided 99.8% critical value of the funnel plot's outer limits: the 99.9% quantile of
    the standard normal distribution (scipy.stats.norm.ppf(0.999)). The 95% one is ci_z(). -#}
{% macro funnel_z_998() -%}
    3.090232306167813
{%- endmacro %}

{#- One control limit of a funnel plot, as a proportion: p0 -/+ z sqrt(p0 (1 - p0) / n) for the
    all-localities proportion p0 (0..1) and a locality of n units (the normal approximation),
    clipped to 0..1. -#}
{% macro funnel_limit(p0, n, z, sign) -%}
    greatest(0.0, least(1.0,
        ({{ p0 }}) {{ sign }} ({{ z }}) * sqrt(({{ p0 }}) * (1.0 - ({{ p0 }})) / ({{ n }}))
    ))
{%- endmacro %}
