"""Running dbt on the build copy of the warehouse.

dbt runs in a child process: its DuckDB connection dies with it, so the build file is
closed and unlocked when dbt returns. The child dies with the run
(:func:`~ci_metrics.operations.stages.dies_with_run`): a run killed mid-way leaves no dbt
writing on, nothing open.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ci_metrics.operations.stages import dies_with_run
from ci_metrics.settings import Settings

DBT_MAIN = "from dbt.cli.main import cli; import sys; sys.exit(cli())"


@dataclass
class DbtResult:
    command: str
    returncode: int
    failures: list[str] = field(default_factory=list)  # "node: its whole message"
    failed_nodes: list[tuple[str, str]] = field(default_factory=list)  # (unique_id, whole message)
    counts: dict[str, int] = field(default_factory=dict)
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.failures


INDICATOR_MODELS_DIR = Path("models") / "marts" / "indicators"
"""The folder of the indicator models: every model in it is unioned into indicator_cells."""


def indicator_model_names(project: Path) -> list[str]:
    """The models of the indicator folder (file names: the code knows no indicator)."""
    return sorted(p.stem for p in (project / INDICATOR_MODELS_DIR).rglob("*.sql"))


def dbt_env(settings: Settings, warehouse: Path) -> dict[str, str]:
    """The environment of every dbt command. ``CI_METRICS_INDICATOR_MODELS`` lists the
    indicator models: dbt learns a model's dependencies while parsing, before its graph
    exists, so ``indicator_cells`` declares them from this list (macro
    ``declare_indicator_models``) instead of a hand-kept one."""
    env = dict(os.environ)
    env["CI_METRICS_WAREHOUSE_PATH"] = str(warehouse)
    env["CI_METRICS_INDICATOR_MODELS"] = ",".join(indicator_model_names(settings.dbt_project_dir))
    duckdb_config = settings.duckdb_config
    env["CI_METRICS_DUCKDB_MEMORY_LIMIT"] = str(duckdb_config["memory_limit"])
    env["CI_METRICS_DUCKDB_TEMP_DIRECTORY"] = str(duckdb_config["temp_directory"])
    env["DBT_TARGET_PATH"] = str(settings.root / "dbt" / "target")
    env["DBT_LOG_PATH"] = str(settings.logs_dir / "dbt")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    return env


def run_dbt(settings: Settings, warehouse: Path, args: list[str]) -> DbtResult:
    """``dbt <args>`` against ``warehouse``; failures are read from run_results.json."""
    project = settings.dbt_project_dir
    cmd = [
        sys.executable,
        "-c",
        DBT_MAIN,
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
    ]
    results_file = settings.root / "dbt" / "target" / "run_results.json"
    results_file.unlink(missing_ok=True)
    proc = subprocess.run(
        dies_with_run(cmd), env=dbt_env(settings, warehouse), capture_output=True, text=True, cwd=project
    )
    result = DbtResult(
        command="dbt " + " ".join(args),
        returncode=proc.returncode,
        log_tail="\n".join((proc.stdout + proc.stderr).splitlines()[-40:]),
    )
    if results_file.exists():
        data = json.loads(results_file.read_text(encoding="utf-8"))
        for item in data.get("results", []):
            status = item.get("status")
            result.counts[status] = result.counts.get(status, 0) + 1
            if status in ("error", "fail"):
                name = item.get("unique_id", "?")
                message = " ".join((item.get("message") or status).split())  # whole, on one line
                result.failed_nodes.append((name, message))
                result.failures.append(f"{name}: {message}")
    if proc.returncode != 0 and not result.failures:
        result.failures.append(f"dbt exited {proc.returncode}:\n{result.log_tail}")
    return result
