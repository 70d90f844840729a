"""The public progress report: a Hebrew, right-to-left booklet generated from the warehouse.

:func:`build_report` writes ``<reports_dir>/<as_of>/index.html`` (and ``report.pdf`` when
Chromium is installed). Figures pass through the public agreement's disclosure control
(:func:`ci_metrics.share.report.data.apply_public_disclosure`, bound to the extracts' own
:func:`ci_metrics.share.extracts.build_partner_frame`).
"""

from ci_metrics.share.report.build import ReportResult, build_published_report, build_report
from ci_metrics.share.report.data import ReportError, apply_public_disclosure

__all__ = [
    "ReportError",
    "ReportResult",
    "apply_public_disclosure",
    "build_published_report",
    "build_report",
]
