"""Stage 2, build, audit and publish (write-audit-publish): ``warehouse`` (the build copy,
the lock and the atomic rename), ``dbt`` (``dbt build`` on the copy), ``validation``
(Great Expectations on the copy) and ``cycle`` (the one path that chains them)."""
