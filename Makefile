# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
# Both create .venv and install the project with its pinned dependencies once.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

# Kedro telemetry off for every target (the .telemetry file covers direct `kedro` calls),
# and MLflow's (which reads DO_NOT_TRACK only when it is "true").
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export MLFLOW_DISABLE_TELEMETRY := true
# Quieter TensorFlow start-up logs.
export TF_CPP_MIN_LOG_LEVEL ?= 2

# Debian's chromium, which the browser test drives (installed by `make browser`).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install browser run test test-quick lint format viz notebook mlflow bench constraints clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

browser:  ## Install Debian's chromium for the browser test, if it is missing.
	@test -x $(CHROMIUM) || { \
		echo "Installing chromium with apt-get (needed by tests/test_viz.py)"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

run: install  ## Prepare data, train, evaluate and report (kedro run).
	$(BIN)/kedro run

test: install browser  ## Lint, check formatting, then run the whole test suite.
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/pytest

test-quick: install  ## The test suite without the browser test: no chromium needed.
	$(BIN)/pytest -m "not browser"

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

bench: install  ## Reference convnet vs default vs accurate training (about 25 min).
	$(BIN)/python scripts/benchmark.py

constraints: install  ## Re-pin constraints.txt to what is installed now.
	{ head -n 2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^mnist'; } > constraints.new
	mv constraints.new constraints.txt

clean-venv:
	rm -rf $(VENV)
