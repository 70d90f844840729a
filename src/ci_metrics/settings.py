"""Settings of ci-metrics, read from the environment (prefix ``CI_METRICS_``) or a ``.env`` file.

Everything the pipeline keeps lives under :attr:`Settings.home`; each path below can be
moved on its own.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The repository (editable install): dbt project, agreements, bundled sample data."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CI_METRICS_", env_file=".env", extra="ignore")

    home: Path = Field(
        default=Path(".ci_metrics_home"),
        description="Where all state lives: inbox, archive, warehouse, extracts, reports.",
    )
    inbox_dir: Path | None = Field(default=None, description="Default inbox (default: HOME/inbox).")
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="Key of the keyed hash (HMAC-SHA-256) that pseudonymises national IDs. "
        "When the key file exists too, both must hold the same key (a run refuses otherwise).",
    )
    key_file: Path | None = Field(
        default=None,
        description="File holding the pseudonymisation key (default: HOME/secrets/pseudonym.key; "
        "mode 0600; created there only for an empty warehouse, never in place of a lost key: "
        "docs/SECURITY.md).",
    )
    layouts_dir: Path | None = Field(
        default=None,
        description="Extra source layouts (*.yml) beside the bundled ones, e.g. a new youth movement.",
    )
    dbt_project_dir: Path = Field(default=PROJECT_ROOT, description="The dbt project.")
    agreements_dir: Path = Field(default=PROJECT_ROOT / "agreements", description="Partner agreements.")
    expectations_dir: Path = Field(
        default=PROJECT_ROOT / "expectations", description="The expectation suites (*.yml) of every run."
    )
    cbs_dir: Path = Field(default=PROJECT_ROOT / "data" / "cbs", description="CBS workbooks.")
    volume_drop_warning: float = Field(
        default=0.5,
        description="A source whose new load has fewer than this share of the rows of the previous "
        "load of the same source is flagged (validation warning).",
    )

    jump_threshold_points: float = Field(
        default=15.0,
        description="A change of an indicator's total from one period to the next larger than "
        "this (in the indicator's unit) is flagged (validation warning).",
    )

    lock_wait_seconds: float = Field(
        default=600.0,
        description="How long a run waits for another run to release the warehouse lock.",
    )
    settle_seconds: float = Field(
        default=2.0,
        description="A file modified this recently is watched this long; if it still grows, it "
        "is left in the inbox for the next run (a partner still uploading it).",
    )
    # Where the work runs and how much memory it may take (README, "Beyond one machine").
    dask_address: str | None = Field(
        default=None,
        description="An existing Dask scheduler (tcp://host:8786) whose workers prepare the files; "
        "they need the inbox at the same path and the pseudonymisation key (environment or key "
        "file). Unset: a local Dask cluster is started for the ingest stage.",
    )
    dask_workers: int | None = Field(
        default=None, ge=1, description="Worker processes of the local Dask cluster (default: one per core)."
    )
    dask_min_files: int = Field(
        default=100,
        ge=0,
        description="Fewer files than this to read: prepared in the run's own process, no cluster started.",
    )
    duckdb_memory_limit: str = Field(
        default="4GB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's memory_limit for every connection of a run (the ingestion's writer, dbt, "
        "validation): beyond it DuckDB spills to duckdb_temp_dir instead of growing.",
    )
    duckdb_checkpoint_threshold: str = Field(
        default="256MB",
        pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="DuckDB's checkpoint_threshold for a run's read-write connections: the writer "
        "commits every file, and at DuckDB's default (16MB) a national inbox checkpoints over a "
        "thousand times, a third of the writer's time; a build copy is discarded on failure, so "
        "a longer write-ahead log risks nothing published.",
    )
    validation_chunk_rows: int = Field(
        default=1_500_000,
        ge=1,
        description="Validation reads a relation of more rows than this in chunks of whole localities "
        "(memory peaks at a chunk).",
    )
    duckdb_temp_dir: Path | None = Field(
        default=None, description="Where DuckDB spills (default: HOME/tmp/duckdb; needs free disk)."
    )
    # Limits checked before a partner file is parsed (docs/limits.md): a file beyond one is
    # rejected in milliseconds with its reason. Generous for the real data (a national
    # register is ~50 MB of CSV), tight enough that no file can take the night down.
    max_file_mb: float = Field(default=256.0, description="Largest file read, in MB.")
    max_line_bytes: int = Field(default=1_048_576, description="Longest line of a CSV file, in bytes.")
    max_columns: int = Field(default=1_000, description="Most columns of a CSV header or a sheet.")
    max_cells: int = Field(
        default=50_000_000,
        description="Most cells (rows x columns) of a file: a CSV's lines, a sheet's declared dimension.",
    )
    max_uncompressed_mb: float = Field(
        default=512.0, description="Largest total uncompressed size of an xlsx workbook (a zip), in MB."
    )
    max_compression_ratio: float = Field(
        default=100.0,
        description="Highest compression ratio of a part of an xlsx workbook larger than 1 MB (zip bombs).",
    )
    reader_memory_mb: int = Field(
        default=4_096,
        description="Address-space limit of the process that parses spreadsheets, in MB: a workbook "
        "needing more is rejected, the run goes on.",
    )
    reader_timeout_seconds: float = Field(
        default=300.0, description="Longest time the spreadsheet parser may spend on one workbook."
    )
    freshness_days: dict[str, int] = Field(
        default={
            "residents": 45,
            "welfare": 45,
            "schools": 400,
            "youth": 400,
            "surveys": 400,
            "early_childhood": 400,
        },
        description="Expected cadence of each source, in days (JSON in the environment).",
    )
    alert_email_to: list[str] = Field(default_factory=list, description="Who gets failure e-mails.")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "ci-metrics@localhost"
    smtp_starttls: bool = False
    alert_webhook_url: str | None = Field(default=None, description="POSTed a JSON alert.")
    schedule_cron: str = Field(default="0 2 * * *", description="When `ci-metrics serve` runs.")
    schedule_timezone: str = "Asia/Jerusalem"

    @cached_property
    def root(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def inbox(self) -> Path:
        return (self.inbox_dir or self.root / "inbox").expanduser().resolve()

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse_path(self) -> Path:
        """The published warehouse: replaced atomically, never written in place."""
        return self.warehouse_dir / "ci_metrics.duckdb"

    @property
    def build_dir(self) -> Path:
        return self.warehouse_dir / "build"

    @property
    def extracts_dir(self) -> Path:
        return self.root / "extracts"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def validation_dir(self) -> Path:
        return self.root / "validation"

    @property
    def spill_dir(self) -> Path:
        return self.duckdb_temp_dir or self.root / "tmp" / "duckdb"

    @property
    def duckdb_config(self) -> dict[str, str | bool | int | float | list[str]]:
        """The configuration of a read-write DuckDB connection of a run; the spill directory
        is created (DuckDB creates only its last level, and only once it must spill)."""
        self.spill_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return {
            "memory_limit": self.duckdb_memory_limit,
            "temp_directory": str(self.spill_dir),
            "checkpoint_threshold": self.duckdb_checkpoint_threshold,
        }

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def resolved_key_file(self) -> Path:
        return (self.key_file or self.root / "secrets" / "pseudonym.key").expanduser().resolve()
