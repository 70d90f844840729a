"""Running it every night: ``runs`` (run records), ``stages`` (timing and memory per stage),
``alerts`` (e-mail and webhook), ``summaries`` (what ``run`` and ``status`` print) and
``query`` (``ci-metrics sql``)."""
