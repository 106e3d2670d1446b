# vidcolor developer commands. `make demo` and `make test` do all setup on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: venv demo test test-fast test-blender test-studio lint plugin clean gpu-check

$(STAMP): setup.cfg pyproject.toml constraints-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints-dev.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints-dev.txt -e ".[dev,bench,ray,studio,openvino]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(PY) -m vidcolor.demo

test: $(STAMP) lint test-fast test-blender test-studio

test-fast: $(STAMP)
	$(PY) -m pytest -q tests --ignore=tests/studio

# The studio in a real browser: Debian's chromium (apt-get installs it when missing; CI runs
# as root) driven by Playwright from the dev extra (`playwright install` is never run).
# STUDIO_SCREENSHOTS=docs also refreshes the README's screenshots.
test-studio: $(STAMP)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PY) -m pytest -q tests/studio

lint: $(STAMP)
	$(VENV)/bin/ruff check vidcolor tests benchmarks plugins
	$(VENV)/bin/lint-imports

# On a CUDA machine: CUDA tests, 1080p throughput, NVDEC/NVENC, training + sweep (10 min).
# SMOKE=1 runs the same script tiny on the CPU (the test suite does this).
GPU_CHECK_OUT ?= build/gpu-check
gpu-check: $(STAMP)
	$(PY) benchmarks/gpu_check.py --out $(GPU_CHECK_OUT) $(if $(SMOKE),--smoke)

clean:
	rm -rf build dist *.egg-info .pytest_cache

# --- Blender extension (plugins/blender) ------------------------------------------------
# `make plugin` writes dist/vidcolor_vse-<version>.zip. `make test-blender` runs
# tests/blender inside real Blender (bpy from PyPI, CPython 3.11, in its own venv because
# bpy needs numpy<2) against the real vidcolor CLI of $(VENV).
BLENDER_PYTHON ?= python3.11
BLENDER_VENV := .venv-blender
BLENDER_STAMP := $(BLENDER_VENV)/.installed
PLUGIN_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' plugins/blender/vidcolor_vse/blender_manifest.toml)
PLUGIN_ZIP := dist/vidcolor_vse-$(PLUGIN_VERSION).zip

$(BLENDER_STAMP): tests/blender/requirements.txt
	$(BLENDER_PYTHON) -m venv $(BLENDER_VENV)
	$(BLENDER_VENV)/bin/python -m pip install -q --upgrade pip
	$(BLENDER_VENV)/bin/python -m pip install -q -r tests/blender/requirements.txt
	touch $(BLENDER_STAMP)

plugin:
	$(PYTHON) plugins/blender/build.py --out dist

test-blender: $(STAMP) $(BLENDER_STAMP) plugin
	VIDCOLOR_PLUGIN_ZIP="$(abspath $(PLUGIN_ZIP))" \
	VIDCOLOR_CLI="$(abspath $(VENV)/bin/vidcolor)" \
	VIDCOLOR_MAIN_PYTHON="$(abspath $(PY))" \
	$(BLENDER_VENV)/bin/python -m pytest -q -p no:cacheprovider \
		--confcutdir=tests/blender tests/blender
