"""The nightly run: the Prefect flow (:mod:`.flow`) that chains the stages (:mod:`.tasks`:
scan, ingest, build, audit, publish, share), the run record they keep (:mod:`.tracker`), the
cheap "anything new?" scan that can stop it early (:mod:`.changes`) and ``ci-metrics serve``
(:mod:`.serve`). Publishing itself goes through :mod:`ci_metrics.publish.cycle`."""
