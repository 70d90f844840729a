"""ci-metrics: shared measurement for collective-impact partnerships."""

__version__ = "0.1.0"
