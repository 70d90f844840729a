"""``build_report``: the public progress report of one day, written atomically.

``<out_dir>/<as_of>/`` holds ``index.html`` (the whole booklet: one self-contained page,
inline CSS and SVG, no script, nothing fetched), ``report.pdf`` when a Chromium is
installed, and ``edition.json``: the publication the report showed and the one it was
compared with (:mod:`ci_metrics.share.report.editions`; the log of every edition written to
the folder). A report of the same day is replaced whole (its folder's log carried over); a
failed build leaves the previous one in place.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ci_metrics.publish.warehouse import connect_published
from ci_metrics.settings import Settings
from ci_metrics.share.folders import replace_dir
from ci_metrics.share.report.data import ReportData, ReportError, load_public_agreement, load_report_data
from ci_metrics.share.report.editions import (
    Edition,
    choose_baseline,
    latest_publication,
    publication_before,
    read_editions,
    read_log,
    updated_log,
    write_log,
)
from ci_metrics.share.report.pdf import html_to_pdf
from ci_metrics.share.report.render import render_html

log = logging.getLogger(__name__)

INDEX_NAME = "index.html"
PDF_NAME = "report.pdf"


@dataclass(frozen=True)
class ReportResult:
    directory: Path
    index_html: Path
    pdf: Path | None
    indicators: int  # registry indicators in the report
    indicators_published: int  # of which the public agreement lets the report show values
    cells_shown: int  # figures printed with a value (series and breakdowns)
    cells_suppressed: int  # figures printed as "—" by disclosure control
    warnings: tuple[str, ...] = ()
    revisions: int = 0  # published values listed as revised since the previous report

    @property
    def index(self) -> Path:
        """Alias of :attr:`index_html` (the name the CLI prints)."""
        return self.index_html

    def summary(self) -> str:
        pdf = f", PDF {self.pdf}" if self.pdf else ", no PDF (no Chromium)"
        return (
            f"report {self.index_html}{pdf}: {self.indicators} indicators "
            f"({self.indicators_published} published), {self.cells_shown} figures shown, "
            f"{self.cells_suppressed} suppressed, {self.revisions} revised since the previous report"
        )


def build_report(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    run_id: str | None,
    as_of: dt.date,
    agreements_dir: Path,
    pdf: bool = True,
    chromium: str | None = None,
    today: dt.date | None = None,
    locality_code: int | None = None,
) -> ReportResult:
    """Write the public report to ``out_dir/<as_of>/`` and say what it holds.

    ``con``: the (published) warehouse, read only. ``run_id``: the run whose validation
    results the data-quality note reports (default: the last published run in
    ``ops.runs``). ``agreements_dir``: where ``public.yml`` is; it must be in force on
    ``today`` (default: the current date), else :class:`ReportError`. ``pdf``: also
    print ``report.pdf`` when a Chromium is found (``chromium`` or ``$CI_METRICS_CHROMIUM``
    or PATH), quietly skipped otherwise.
    """
    agreement = load_public_agreement(Path(agreements_dir), today or dt.date.today())
    out_dir = Path(out_dir)
    publication = latest_publication(con)
    baseline = (
        choose_baseline(
            read_editions(out_dir), publication, publication_before(con, publication.published_at)
        )
        if publication
        else None
    )
    data = load_report_data(
        con,
        agreement,
        run_id=run_id,
        as_of=as_of,
        locality_code=locality_code,
        publication=publication,
        baseline=baseline,
    )
    html = render_html(data)

    final = out_dir / as_of.isoformat()
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{as_of.isoformat()}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        (tmp / INDEX_NAME).write_text(html, encoding="utf-8")
        if publication is not None:
            edition = Edition(**publication.model_dump(), report_date=as_of, compared_with=baseline)
            write_log(tmp, updated_log(read_log(final), edition))
        made_pdf = html_to_pdf(tmp / INDEX_NAME, tmp / PDF_NAME, chromium=chromium) if pdf else None
        replace_dir(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    shown, suppressed = data.shown_and_suppressed()
    result = ReportResult(
        directory=final,
        index_html=final / INDEX_NAME,
        pdf=(final / PDF_NAME) if made_pdf else None,
        indicators=len(data.indicators),
        indicators_published=sum(1 for i in data.indicators if i.in_public_agreement),
        cells_shown=shown,
        cells_suppressed=suppressed,
        warnings=tuple(data.quality.missing),
        revisions=len(data.revisions.rows),
    )
    log.info(result.summary())
    return result


__all__ = ["ReportData", "ReportError", "ReportResult", "build_report"]


def build_published_report(settings: Settings, *, run_id: str | None, pdf: bool = True) -> ReportResult:
    """The report of the published warehouse (opened read-only) into ``HOME/reports/<today>/``:
    what the nightly run makes after each publish and what ``ci-metrics report`` makes on demand.
    Raises ``FileNotFoundError`` when nothing was published yet."""
    con = connect_published(settings)
    try:
        return build_report(
            con,
            settings.reports_dir,
            run_id=run_id,
            as_of=dt.date.today(),
            agreements_dir=settings.agreements_dir,
            pdf=pdf,
        )
    finally:
        con.close()
