# vidcolor developer commands. `make demo` and `make test` do all setup on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: venv demo test test-fast test-blender lint plugin clean

$(STAMP): setup.cfg pyproject.toml constraints-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-dev.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints-dev.txt -e ".[dev,bench]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m vidcolor.demo

test: $(STAMP) lint test-fast test-blender

test-fast: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(VENV)/bin/ruff check vidcolor tests benchmarks plugins
	$(VENV)/bin/lint-imports

clean:
	rm -rf build dist *.egg-info .pytest_cache
