# llmbench: one entry point. `make report` and `make test` work on a fresh
# machine that has only Python 3.11 and pip.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON := python3
export UV_NO_PROGRESS := 1

PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help setup report test check lab phoenix clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## Install uv if missing, both locked environments and the Jupyter kernel.
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --quiet
	$(UV) sync --frozen --quiet --project services/phoenix
	$(BIN)/python -m llmbench.jupyter_setup

report: setup  ## Render every notebook as a report on the sample data, offline.
	$(BIN)/llmbench report --all

test: setup  ## Lint, type-check and run the whole test suite (what CI runs).
	$(BIN)/ruff check llmbench tests benchmarks
	$(BIN)/ruff format --check llmbench tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

lab: setup  ## Open JupyterLab on notebooks/ (127.0.0.1 only).
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser notebooks

phoenix: setup  ## Start the Phoenix trace server for this project.
	$(BIN)/llmbench phoenix start

clean:  ## Remove environments, state and reports.
	rm -rf $(VENV) services/phoenix/.venv .llmbench reports
