"""The notebook, executed top to bottom with nbmake, as a data scientist would run it.

It runs in a temporary copy of the project (the ``project_copy`` fixture) with
``KEDRO_ENV=test``: ``%load_ext kedro.ipython`` finds the copy from the notebook's
folder, trains the small test network and classifies the shipped example images, so
nothing is written into the real project.

Kedro's default logging installs rich tracebacks in the kernel, which print an
exception instead of reporting it, so nbmake would see no error: the test logs through
a plain handler instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pandas as pd
from mlflow import MlflowClient
from nbmake.nb_run import NotebookRun

from tests.helpers import PROJECT_ROOT

NOTEBOOK = PROJECT_ROOT / "notebooks" / "mnist_classifier.ipynb"
CUSTOM_DIGITS = Path("data") / "01_raw" / "custom_digits"
PLAIN_LOGGING = """
version: 1
disable_existing_loggers: false
handlers: {console: {class: logging.StreamHandler}}
loggers: {kedro: {level: WARNING}, mnist_classifier: {level: INFO}}
root: {handlers: [console], level: WARNING}
"""

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def test_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code"
    for cell in code:
        assert cell.outputs == [], f"stored outputs in: {cell.source[:60]}"
        assert cell.execution_count is None, f"execution count in: {cell.source[:60]}"
    assert code[0].source.strip() == "%load_ext kedro.ipython"


def test_notebook_runs_top_to_bottom(project_copy: Path, monkeypatch):
    shutil.copytree(PROJECT_ROOT / CUSTOM_DIGITS, project_copy / CUSTOM_DIGITS)
    notebook = project_copy / "notebooks" / NOTEBOOK.name
    notebook.parent.mkdir()
    shutil.copy(NOTEBOOK, notebook)
    logging_config = project_copy / "plain-logging.yml"
    logging_config.write_text(PLAIN_LOGGING)
    monkeypatch.setenv("KEDRO_LOGGING_CONFIG", str(logging_config))
    monkeypatch.setenv("KEDRO_ENV", "test")  # read by %load_ext and %reload_kedro

    result = NotebookRun(notebook, default_timeout=300).execute()

    assert result.error is None, result.error.trace
    for cell in result.nb.cells:
        if cell.cell_type == "code":
            assert cell.execution_count, f"not run: {cell.source[:60]}"
            assert all(output.output_type != "error" for output in cell.outputs)
    # It trained once, in the copy, and classified every file of the folder.
    assert (
        len(
            list(
                (
                    project_copy / "data/06_models/mnist_sample/classifier.keras"
                ).iterdir()
            )
        )
        == 1
    )
    (predictions_csv,) = (
        project_copy / "data/07_model_output/mnist_sample/predictions.csv"
    ).glob("*/predictions.csv")
    images = [
        path for path in (project_copy / CUSTOM_DIGITS).rglob("*") if path.is_file()
    ]
    assert len(pd.read_csv(predictions_csv)) == len(images)
    # Both runs are in the copy's MLflow store: training, then inference.
    client = MlflowClient(f"sqlite:///{project_copy / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs(
        [client.get_experiment_by_name("mnist_classifier").experiment_id],
        order_by=["attributes.start_time ASC"],
    )
    assert [run.info.run_name for run in runs] == ["__default__", "inference"]
    assert all(run.info.status == "FINISHED" for run in runs)
    # The comparison cell listed the training run with its parameters and metrics.
    (comparison,) = [
        cell for cell in result.nb.cells if "mlflow.search_runs" in cell.source
    ]
    (table,) = [
        output.data["text/plain"]
        for output in comparison.outputs
        if output.output_type == "execute_result"
    ]
    assert "params.training.fit.epochs" in table and "metrics.test_accuracy" in table
