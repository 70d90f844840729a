# ci-metrics: `make run` installs everything into .venv/ and runs the nightly pipeline once
# on the bundled sample inbox; `make test` runs the test suite.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export CI_METRICS_HOME ?= $(CURDIR)/.ci_metrics_home
SAMPLE_INBOX := data/samples/inbox

.PHONY: install run test test-fast lint system-deps lock docs bench bench-report clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/ci-metrics: pyproject.toml bench/synthetic/pyproject.toml requirements.lock
	@$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "ci-metrics needs Python 3.11, found " + sys.version' 
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e . -e bench/synthetic
	@touch $@

install: $(BIN)/ci-metrics  ## create .venv/ with the exact pins of requirements.lock

run: install  ## one nightly run on the bundled sample inbox (state in $CI_METRICS_HOME)
	$(BIN)/ci-metrics run --inbox $(SAMPLE_INBOX)

system-deps:  ## programs the tests drive (LibreOffice, Chromium); needs root, skipped when present
	bash scripts/install-system-deps.sh

lint: install  ## the gates: ruff (lint, format), sqlfluff (dbt templater, DuckDB), mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/sqlfluff lint models macros tests/dbt
	$(BIN)/mypy

test: install system-deps  ## the whole test suite (runs the pipeline once, then shares it)
	$(BIN)/python -m pytest -q --durations=15

test-fast: install  ## the tests that need no pipeline run (well under a minute)
	$(BIN)/python -m pytest -q -m "not pipeline" --durations=10

docs: install  ## dbt docs (catalog of every model and column) from the published warehouse
	$(BIN)/ci-metrics dbt docs generate

bench: install  ## the scale benchmark (1, 10, 100, 255 cities, plain baseline, nights): see bench/RESULTS.md
	$(BIN)/python bench/run.py --cities 1 10 100 255

bench-report:  ## the benchmark's tables and bench/scaling.svg, from the saved bench/results/*.json
	$(BIN)/python bench/run.py --report-only

lock:  ## re-resolve the dependencies of pyproject.toml into requirements.lock
	rm -rf /tmp/ci-metrics-lock && $(PY) -m venv /tmp/ci-metrics-lock
	/tmp/ci-metrics-lock/bin/python -m pip install --quiet --upgrade pip
	/tmp/ci-metrics-lock/bin/python -m pip install --quiet '.[test,dev]'
	head -3 requirements.lock > /tmp/ci-metrics-lock/header
	cat /tmp/ci-metrics-lock/header > requirements.lock
	/tmp/ci-metrics-lock/bin/python -m pip freeze --exclude ci-metrics --exclude ci-metrics-synthetic >> requirements.lock

clean:  ## remove the venv and the default home (the warehouse, archive and key!)
	rm -rf $(VENV) .ci_metrics_home target logs
