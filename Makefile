# Two commands on a fresh machine (only python3, make and git needed):
#   make demo   set everything up, run the main job on the bundled sample data
#   make test   lint and run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
TOOLS      := .tools
# Use a uv already on PATH; otherwise install the pinned one into a project-local venv.
UV         := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)
VENV       := .venv
STAMP      := $(VENV)/.synced-$(shell python3 -c "import hashlib,sys;print(hashlib.sha256(open('uv.lock','rb').read()).hexdigest()[:12])")

# Compile bytecode at install: with PYTHONDONTWRITEBYTECODE set, imports are otherwise 2-3x slower.
export UV_COMPILE_BYTECODE := 1
# Use the machine's python3; never download an interpreter.
export UV_PYTHON_DOWNLOADS := never
export PREFECT_HOME ?= $(CURDIR)/.prefect
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export DO_NOT_TRACK := 1

.PHONY: help setup demo demo-ducklake test lint format clean serve

help:
	@echo "make demo    set up the environment, generate sample data, run ingest → build → checks → review"
	@echo "make demo-ducklake  the same demo on a DuckLake: the project's PostgreSQL (.postgres/) as its catalog, data in data/lake/"
	@echo "make test    lint (ruff, sqlfluff) and run every test (pytest)"
	@echo "make clean   remove the warehouse, the sample data and the reports (keeps .venv)"

$(TOOLS)/bin/uv:
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen
	@rm -f $(VENV)/.synced-*
	@touch $@

setup: $(STAMP)

demo: setup
	$(VENV)/bin/otklik demo

# The demo on the DuckLake backend (warehouse/lake.py): `otklik postgres start` creates and starts the
# project's PostgreSQL on 127.0.0.1 (.postgres/, git-ignored) and prints the OTKLIK_WAREHOUSE value of
# its catalog; the catalog's password goes by environment, never on a command line.
demo-ducklake: setup
	$(VENV)/bin/otklik postgres start >/dev/null
	OTKLIK_WAREHOUSE="$$($(VENV)/bin/otklik postgres status 2>/dev/null)" \
	OTKLIK_LAKE_PASSWORD="$$(cat .postgres/otklik.password)" \
	OTKLIK_LAKE_DATA_PATH="$(CURDIR)/data/lake/" \
	$(VENV)/bin/otklik demo

# A local Prefect server with the deployments of prefect.yaml, a worker and the webhook receiver
# (otklik receive, docs/webhooks.md); Ctrl-C stops them.
serve: setup
	$(VENV)/bin/python -m otklik.serve

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint --processes 2 transforms/sql expectations

test: lint
	$(VENV)/bin/pytest

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/sqlfluff fix --processes 2 transforms/sql expectations

clean:
	rm -rf warehouse/otklik.duckdb warehouse/otklik.duckdb.wal data reports
