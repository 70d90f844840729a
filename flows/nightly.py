"""Prefect's entry point for the nightly deployment (``prefect.yaml``:
``flows/nightly.py:nightly``). The flow itself lives in the package,
:mod:`ci_metrics.pipeline.flow`; this folder only points Prefect at it."""

from ci_metrics.pipeline.flow import nightly

__all__ = ["nightly"]
