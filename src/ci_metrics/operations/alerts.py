"""Alerts to the data unit when a run fails or is blocked: e-mail (SMTP) and a webhook.

Configured by settings (CI_METRICS_ALERT_EMAIL_TO, CI_METRICS_SMTP_HOST, ...,
CI_METRICS_ALERT_WEBHOOK_URL). An alert says what failed and where to look; it never
carries personal data (the run record holds none).
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import urllib.request
from email.message import EmailMessage

from ci_metrics.operations.runs import RunRecord
from ci_metrics.settings import Settings

log = logging.getLogger(__name__)


def alert_text(record: RunRecord, settings: Settings, unsaved: str | None = None) -> tuple[str, str]:
    subject = f"[ci-metrics] run {record.run_id} {record.status.upper()} on {socket.gethostname()}"
    if record.held:
        subject += ", held back: " + ", ".join(h.source for h in record.held)
    if unsaved:
        subject += ", its record not saved"
    lines = [
        f"The nightly run {record.run_id} ended {record.status} at {record.finished_at:%Y-%m-%d %H:%M}.",
        f"Published: {settings.warehouse_path} holds this run's data."
        if record.published
        else f"Nothing was published: {settings.warehouse_path} still holds the previous data.",
    ]
    if record.failures or not record.held:
        lines += ["", "What failed:", *[f"  - {f}" for f in record.failures or [record.message]]]
    if record.held:
        lines += [
            "",
            "Held back (the rest was published; these files wait for a fix and are read again",
            "by the next run):",
        ]
        for h in record.held:
            lines += [
                f"  - source {h.source}: file(s) {', '.join(h.files)}",
                *[f"      failed: {c}" for c in h.checks],
            ]
    if unsaved:
        lines.append(f"  - {unsaved} (`ci-metrics status` does not show this run as it ended)")
    if record.layout_problems:
        lines += ["", "Layouts that cannot be used:", *[f"  - {p}" for p in record.layout_problems]]
    if record.warnings:
        lines += ["", "Warnings:", *[f"  - {w}" for w in record.warnings[:20]]]
    lines += ["", "Where to look:", f"  ci-metrics status {record.run_id}"]
    if record.data_docs:
        lines.append(f"  validation results (Data Docs): file://{record.data_docs}")
    lines.append(f"  run record: {settings.root / 'runs' / (record.run_id + '.json')}")
    return subject, "\n".join(lines) + "\n"


def send_email(record: RunRecord, settings: Settings, unsaved: str | None = None) -> None:
    if not settings.smtp_host:
        raise ValueError("no SMTP host: set CI_METRICS_SMTP_HOST to send alert e-mails")
    subject, body = alert_text(record, settings, unsaved)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(settings.alert_email_to)
    msg.set_content(body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user and settings.smtp_password:
            smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
        smtp.send_message(msg)


def send_webhook(record: RunRecord, settings: Settings, unsaved: str | None = None) -> None:
    subject, body = alert_text(record, settings, unsaved)
    payload = {
        "text": subject,
        "run_id": record.run_id,
        "status": record.status,
        "published": record.published,
        "record_saved": unsaved is None,
        "failures": record.failures + ([unsaved] if unsaved else []),
        "warnings": record.warnings,
        "held": [h.model_dump() for h in record.held],
        "layout_problems": record.layout_problems,
        "message": record.message,
        "data_docs": record.data_docs,
        "details": body,
    }
    request = urllib.request.Request(
        str(settings.alert_webhook_url),
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def notify(record: RunRecord, settings: Settings, unsaved: str | None = None) -> list[str]:
    """Send every configured alert for a failed or blocked run, a run that held a source
    back, or for any run whose record
    could not be saved (``unsaved``: why); returns what was sent. A channel that fails is
    logged, never raised: the run's own outcome stands."""
    if record.status not in ("failed", "blocked") and not (record.held or record.layout_problems or unsaved):
        return []
    sent = []
    if settings.alert_email_to and settings.smtp_host:
        try:
            send_email(record, settings, unsaved)
            sent.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            log.error("alert e-mail to %s failed: %s", settings.alert_email_to, exc)
    if settings.alert_webhook_url:
        try:
            send_webhook(record, settings, unsaved)
            sent.append("webhook")
        except OSError as exc:
            log.error("alert webhook %s failed: %s", settings.alert_webhook_url, exc)
    return sent
