"""Public context from Israel's Central Bureau of Statistics (CBS).

Reads the CBS workbooks (the "Local Authorities in Israel" profile and the socio-economic
index table) into schema ``raw``, finding each column by the meaning of its header as
declared in ``workbooks.yml``, never by position. Entry point: :func:`load_cbs`.
"""

from ci_metrics.ingest.cbs.layout import CbsLayout, CbsLayoutError, load_cbs_layout
from ci_metrics.ingest.cbs.load import load_cbs, read_workbook, table_columns

__all__ = ["CbsLayout", "CbsLayoutError", "load_cbs", "load_cbs_layout", "read_workbook", "table_columns"]
