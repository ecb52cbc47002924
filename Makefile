# Two commands on a fresh machine with Python 3.11, 3.12 or 3.13: `make run` and
# `make test`. Both create .venv and install the project with its pinned dependencies once.

# The interpreter the venv is made with: by default the newest Python 3.11 to 3.13 that
# runs, on PATH or in pyenv's versions (scripts/find-python); `make python` shows it.
# Override with `make PYTHON=/path/to/python3.12 ...`; add VENV=.venv-3.12 to keep that
# venv beside .venv (as .ci/run does for the oldest version) instead of remaking .venv.
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell scripts/find-python 2>/dev/null)
endif
VENV := .venv
BIN := $(VENV)/bin
# Major.minor of $(PYTHON) (empty if it is unusable) and of the venv's python (if any).
PYTHON_VERSION := $(shell scripts/find-python --check '$(PYTHON)' 2>/dev/null)
VENV_VERSION = $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# In a recipe: stop make with find-python's one line when $(PYTHON) is unusable.
check-python = $(if $(PYTHON_VERSION),,$(error $(shell scripts/find-python --check '$(PYTHON)' 2>&1)))
# The stamp names the Python version, so choosing another interpreter (PYTHON=..., or a
# newer one installed) remakes the venv rather than keeping one of another version.
STAMP := $(VENV)/.installed-python$(PYTHON_VERSION)

# Airflow in a virtualenv of its own, pinned by airflow/constraints.txt: its dependencies
# stay apart from the project's. The DAGs' tasks run the project's kedro (.venv).
# Its fastapi pin clashes with the project's (Airflow 3.3.2 wants fastapi<0.137).
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed-python$(PYTHON_VERSION)
# The configuration environment the DAGs run with, as `kedro run --env`.
KEDRO_ENV ?= local

# pip compiles the installed modules' bytecode one file at a time; compileall does it on
# every core (-j0), skipping Kedro's project template, whose "conf.py" is not Python yet.
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check --no-compile
COMPILE := -m compileall -q -j0 -x '\{\{ cookiecutter'

# Kedro telemetry off for every target (the .telemetry file covers direct `kedro` calls),
# and MLflow's (which reads DO_NOT_TRACK only when it is "true").
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
# Airflow's usage data (Scarf), for the Airflow targets and tests.
export SCARF_ANALYTICS := false
export AIRFLOW__USAGE_DATA_COLLECTION__ENABLED := False
# Quieter TensorFlow start-up logs.
export TF_CPP_MIN_LOG_LEVEL ?= 2

# pytest-xdist: the suite runs in this many processes (auto: one per core), a test file
# each at a time, so that a file's module fixtures (a trained project, a server) are made
# once. `make test` runs the browser tests after the others, alone: they time the page.
# Each process, with what its tests start, takes up to about 2 GB (docs/experiments.md).
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# Debian's chromium, which the browser tests drive (installed by `make browser`).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install python browser run test test-quick lint format viz notebook mlflow serve app bench select bench-distributed airflow airflow-dags constraints clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(check-python)
	@if [ -e $(VENV) ] && [ "$(VENV_VERSION)" != $(PYTHON_VERSION) ]; then \
		test -f $(VENV)/pyvenv.cfg || { echo "$(VENV) is not a venv: move it away or set VENV=..." >&2; exit 1; }; \
		echo "$(VENV) has Python $(or $(VENV_VERSION),that does not run): remaking it with Python $(PYTHON_VERSION), $(PYTHON)"; \
		rm -rf $(VENV); \
	fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP_INSTALL) -c constraints.txt -e ".[dev]"
	$(BIN)/python $(COMPILE) $(VENV)/lib
	rm -f $(VENV)/.installed*
	touch $@

python:  ## Show the interpreter the venv is made with, and the venv's own Python.
	$(check-python)
	@echo "PYTHON=$(PYTHON) (Python $(PYTHON_VERSION)); $(VENV): $(if $(VENV_VERSION),Python $(VENV_VERSION)$(if $(filter-out $(PYTHON_VERSION),$(VENV_VERSION)), (remade with $(PYTHON_VERSION) at the next install)),not made yet)"

browser:  ## Install Debian's chromium for the browser tests, if it is missing.
	@test -x $(CHROMIUM) || { \
		echo "Installing chromium with apt-get (needed by the browser tests: kedro-viz, the page)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

run: install  ## Prepare data, train, evaluate and report (kedro run).
	$(BIN)/kedro run

test: install browser $(AIRFLOW_STAMP)  ## Lint, check formatting, then run the whole test suite.
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(PYTEST) -m "not browser"
	$(BIN)/pytest -m browser

test-quick: install  ## The test suite without the browser, Airflow and worker-kill tests.
	$(PYTEST) -m "not browser and not airflow and not worker_kill"

lint: install
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

format: install
	$(BIN)/ruff check --fix src tests scripts
	$(BIN)/ruff format src tests scripts

viz: install  ## Serve the pipelines' DAG on http://127.0.0.1:4141
	$(BIN)/kedro viz run --no-browser

notebook: install  ## JupyterLab on notebooks/; KEDRO_ENV=test make notebook for the small configuration.
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks --ServerApp.ip=127.0.0.1 $(if $(SUDO),,--allow-root)

mlflow: install  ## The MLflow UI on the project's runs (mlruns/), on http://127.0.0.1:5000
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/kedro mlflow ui

# The champion model (else the latest) of the project's MLflow registry over HTTP.
PORT ?= 5001
serve: install  ## Serve models:/mnist_classifier@champion on http://127.0.0.1:$(PORT)
	$(BIN)/python -m mnist_classifier.serving --port $(PORT)

# The page for people: draw a digit or drop photos on it, read by the same served model.
APP_PORT ?= 7860
app: install  ## The page to draw or drop digits on, on http://127.0.0.1:$(APP_PORT)
	$(BIN)/python -m mnist_classifier.serving --page --port $(APP_PORT)

bench: install  ## Reference convnet vs default (5 seeds) vs accurate (2 seeds): README, Results.
	$(BIN)/python scripts/benchmark.py

select: install  ## Compare training recipes on the validation split, never the test set.
	$(BIN)/python scripts/select_recipe.py --for default
	$(BIN)/python scripts/select_recipe.py --for accurate --seeds 42

bench-distributed: install  ## Inference on a local Dask cluster of 1, then 2 workers.
	for workers in 1 2; do \
		$(BIN)/python scripts/bench_inference.py --env distributed --numbers 0 \
			--params inference.cluster.workers=$$workers || exit 1; \
	done

$(AIRFLOW_STAMP): airflow/constraints.txt
	$(check-python)
	rm -rf $(AIRFLOW_VENV)
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python $(PIP_INSTALL) -c airflow/constraints.txt apache-airflow
	$(AIRFLOW_VENV)/bin/python $(COMPILE) $(AIRFLOW_VENV)/lib
	touch $@

airflow: $(AIRFLOW_STAMP)  ## Install Airflow in .venv-airflow.

airflow-dags: install  ## The pipelines as Airflow DAGs (kedro-airflow) in airflow/dags/.
	$(BIN)/kedro airflow create --env $(KEDRO_ENV) --pipelines __default__,inference \
		--group-by memory --jinja-file airflow/dag_template.j2 --target-dir airflow/dags \
		--params "kedro=$(CURDIR)/$(BIN)/kedro,project_path=$(CURDIR)"

# The pins of packages only another Python version installs (overrides, on 3.11) stay,
# and so do pins with an environment marker (soupsieve: a release for 3.11.0-3.11.4);
# --all keeps setuptools and wheel, which venvs of Python 3.12 and later don't bundle.
constraints: install  ## Re-pin constraints.txt to what is installed now.
	{ grep '^[^#].*;' constraints.txt; $(BIN)/pip freeze --all --exclude-editable | grep -v -e '^mnist' -e '^pip=='; tail -n +3 constraints.txt; } \
		| awk -F== '{ name = tolower($$1); key = name; gsub(/[-_.]+/, "-", key) } \
			/;/ { if (!line[$$0]++) { marked[key] = 1; print name "\t" $$0 }; next } \
			!(key in marked) && !seen[key]++ { print name "\t" $$0 }' \
		| LC_ALL=C sort -s -k1,1 | cut -f2- > constraints.pins
	{ head -n 2 constraints.txt; cat constraints.pins; } > constraints.new
	rm constraints.pins
	mv constraints.new constraints.txt

clean-venv:
	rm -rf $(VENV)
