# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
# Both create .venv and install the project with its pinned dependencies once.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

# Kedro telemetry off for every target (the .telemetry file covers direct `kedro` calls).
export KEDRO_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
# Quieter TensorFlow start-up logs.
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: install run test lint format viz bench constraints clean-venv

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

run: install  ## Prepare data, train, evaluate and report (kedro run).
	$(BIN)/kedro run

test: install  ## Lint, check formatting, then run the whole test suite.
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts

format: install
	$(BIN)/ruff check --fix src tests scripts
	$(BIN)/ruff format src tests scripts

viz: install  ## Serve the pipelines' DAG on http://127.0.0.1:4141
	$(BIN)/kedro viz run --no-browser

bench: install  ## Reference convnet vs default vs accurate training (about 30 min).
	$(BIN)/python scripts/benchmark.py

constraints: install  ## Re-pin constraints.txt to what is installed now.
	{ head -n 2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^mnist'; } > constraints.new
	mv constraints.new constraints.txt

clean-venv:
	rm -rf $(VENV)
