"""Public context from Israel's Central Bureau of Statistics (CBS).

Reads the CBS workbooks (the "Local Authorities in Israel" profile and the socio-economic
index table, of any edition, .xlsx or .xls) into schema ``raw``: each workbook recognised by
its content, each column found by the meaning of its header, as declared in
``workbooks.yml``, never by position. The pipeline's entry point is
:func:`ci_metrics.ingest.cbs.files.ingest_cbs` (one workbook at a time, ledgered);
:func:`load_cbs` loads a folder outside the ledger.
"""

from ci_metrics.ingest.cbs.layout import CbsLayout, CbsLayoutError, load_cbs_layout
from ci_metrics.ingest.cbs.load import (
    NotACbsWorkbookError,
    cbs_tables,
    load_cbs,
    read_workbook,
    recognise,
    table_columns,
)

__all__ = [
    "CbsLayout",
    "CbsLayoutError",
    "NotACbsWorkbookError",
    "cbs_tables",
    "load_cbs",
    "load_cbs_layout",
    "read_workbook",
    "recognise",
    "table_columns",
]
