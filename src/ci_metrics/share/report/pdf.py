"""The printable PDF, made by a headless Chromium when one is installed (skipped quietly if not).

Chromium lays the page out exactly as a reader's browser prints it (the report's print
stylesheet: A4, a page per domain). It is run offline: no network service, no first-run
tasks, a throw-away profile, and the page is a local file with nothing to fetch.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
ENV_VAR = "CI_METRICS_CHROMIUM"

OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: nothing can be fetched
)


def find_chromium() -> str | None:
    """``$CI_METRICS_CHROMIUM``, else the first Chromium/Chrome on PATH; None when absent."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        found = shutil.which(explicit)
        if found:
            return found
        log.warning("%s=%s is not an executable; looking on PATH", ENV_VAR, explicit)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(chromium: str, profile_dir: Path, *extra: str) -> list[str]:
    return [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile_dir}", *extra]


def html_to_pdf(
    html_path: Path, pdf_path: Path, *, chromium: str | None = None, timeout: float = 180
) -> Path | None:
    """Print ``html_path`` to ``pdf_path``; None (and a log line) when no browser or it fails."""
    exe = chromium or find_chromium()
    if exe is None:
        log.info("no Chromium found: the report is made without a PDF")
        return None
    pdf_path = Path(pdf_path)
    tmp_pdf = pdf_path.with_name(f".{pdf_path.name}.tmp")
    with tempfile.TemporaryDirectory(prefix="ci-metrics-chromium-") as profile:
        cmd = chromium_command(
            exe,
            Path(profile),
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
            f"--print-to-pdf={tmp_pdf}",
            Path(html_path).resolve().as_uri(),
        )
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("PDF not made: %s", exc)
            tmp_pdf.unlink(missing_ok=True)
            return None
    if proc.returncode != 0 or not tmp_pdf.is_file() or tmp_pdf.stat().st_size == 0:
        log.warning("PDF not made: chromium exited %s: %s", proc.returncode, proc.stderr.strip()[-500:])
        tmp_pdf.unlink(missing_ok=True)
        return None
    os.replace(tmp_pdf, pdf_path)
    return pdf_path
