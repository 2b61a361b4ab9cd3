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

.PHONY: help setup browser report test browser-test lab phoenix clean

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

setup:  ## Install uv if missing, both locked environments and the Jupyter kernel.
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --quiet
	$(UV) sync --frozen --quiet --project services/phoenix
	$(BIN)/python -m llmbench.jupyter_setup

browser:  ## Install Chromium for the browser tests (apt, as root; says why not otherwise).
	bash scripts/install-browser.sh

report: setup  ## Render every notebook as a report on the sample data, offline.
	$(BIN)/llmbench report --all

test: setup browser  ## Lint, type-check and run the whole test suite (what CI runs).
	$(BIN)/ruff check llmbench tests benchmarks
	$(BIN)/ruff format --check llmbench tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest

browser-test: setup browser  ## Only the JupyterLab tests in headless Chromium.
	$(BIN)/python -m pytest -m browser

lab: setup  ## Open JupyterLab on notebooks/ (127.0.0.1 only).
	$(BIN)/jupyter lab --ip 127.0.0.1 --no-browser notebooks

phoenix: setup  ## Start the Phoenix trace server for this project.
	$(BIN)/llmbench phoenix start

clean:  ## Remove environments, state and reports.
	rm -rf $(VENV) services/phoenix/.venv .llmbench reports
