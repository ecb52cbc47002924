"""Experiment tracking: every `kedro run` is an MLflow run in the project's own store.

The runs happen in a temporary copy of the project (``project_copy``): its
``conf/base/mlflow.yml`` points at ``mlruns/mlflow.db`` relative to the project, so
they land in the copy, never in the user's store.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.helpers import PROJECT_ROOT, kedro_run

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

EXPERIMENT = "mnist_classifier"
USER_STORE = PROJECT_ROOT / "mlruns" / "mlflow.db"


def runs_in(store: Path) -> list[mlflow.entities.Run]:
    """The runs of the project's experiment in an SQLite store, oldest first."""
    client = MlflowClient(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time ASC"]
    )


def user_store_has(run_id: str) -> bool:
    """Looks the run up in the user's store, read-only, if the store exists."""
    if not USER_STORE.exists():
        return False
    with sqlite3.connect(f"file:{USER_STORE}?mode=ro", uri=True) as database:
        (count,) = database.execute(
            "SELECT COUNT(*) FROM runs WHERE run_uuid = ?", (run_id,)
        ).fetchone()
    return count > 0


def test_a_run_records_parameters_metrics_plots_and_model(project_copy: Path):
    user_store_existed = USER_STORE.exists()
    kedro_run()

    (run,) = runs_in(project_copy / "mlruns" / "mlflow.db")
    run_id = run.info.run_id
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith((project_copy / "mlruns").as_uri())
    # The Kedro session id, which is also the version folder of the run's artifacts.
    (version,) = Path("data/08_reporting/mnist_sample/metrics.json").iterdir()
    assert run.data.tags["run_id"] == version.name

    # Parameters: each field of the Pydantic parameter groups, under a flat key.
    params = run.data.params
    assert params["training.fit.epochs"] == "3"
    assert params["training.architecture.conv_filters"] == "[8, 16]"
    assert params["training.optimizer.name"] == "adam"
    assert params["data_processing.validation_fraction"] == "0.1"
    assert params["reporting.misclassified_examples"] == "25"
    assert "training" not in params  # not one long string of the whole model

    # Final metrics: those of metrics.json.
    metrics = json.loads((version / "metrics.json").read_text())
    for name in ["test_accuracy", "test_loss", "macro_f1", "epochs", "best_epoch"]:
        assert run.data.metrics[name] == pytest.approx(metrics[name]), name
    # Per-epoch metrics: one value per epoch, step = epoch.
    card = next(
        Path("data/06_models/mnist_sample/classifier.keras").glob("*/model_card.json")
    )
    history = json.loads(card.read_text())["history"]["records"]
    client = MlflowClient()
    for name in ["val_accuracy", "val_loss", "loss", "accuracy", "learning_rate"]:
        logged = client.get_metric_history(run_id, name)
        assert [metric.step for metric in logged] == [1, 2, 3], name
        assert [metric.value for metric in logged] == pytest.approx(
            [epoch[name] for epoch in history]
        ), name

    # The three plots, and the model as an MLflow Keras model that loads and predicts.
    plots = {Path(item.path).name for item in client.list_artifacts(run_id, "plots")}
    assert plots == {
        "confusion_matrix_plot.png",
        "training_curves_plot.png",
        "misclassified_plot.png",
    }
    # The model: the whole inference path as a pyfunc that reads image files.
    (model,) = client.search_logged_models([run.info.experiment_id])
    assert model.name == "model" and model.source_run_id == run_id
    reader = mlflow.pyfunc.load_model(model.model_uri)
    assert reader.metadata.metadata["class_names"] == list("0123456789")
    photo = (PROJECT_ROOT / "data/01_raw/custom_digits/photo_01.jpg").read_bytes()
    answer = reader.predict(pd.DataFrame({"image": [photo, b"not an image"]}))
    assert answer["status"].tolist() == ["ok", "not an image"]
    assert {"prediction", "confidence", "p0", "p9"} <= set(answer.columns)

    # Nothing went to the user's store.
    assert USER_STORE.exists() == user_store_existed
    assert not user_store_has(run_id)


def test_runs_with_different_parameters_compare_side_by_side(project_copy: Path):
    kedro_run()
    kedro_run(training={"fit": {"epochs": 1}, "optimizer": {"learning_rate": 0.01}})

    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlruns' / 'mlflow.db'}")
    table = mlflow.search_runs(
        experiment_names=[EXPERIMENT], order_by=["attributes.start_time ASC"]
    )
    assert table["params.training.fit.epochs"].tolist() == ["3", "1"]
    assert table["params.training.optimizer.learning_rate"].tolist() == [
        "0.003",
        "0.01",
    ]
    assert table["metrics.epochs"].tolist() == [3, 1]
    assert table["metrics.test_accuracy"].between(0, 1).all()
    assert (table["status"] == "FINISHED").all()
    assert table["run_id"].nunique() == 2


def test_a_session_ends_its_run_and_leaves_a_callers_run_as_it_found_it(
    project_copy: Path,
):
    """kedro-mlflow reopens the run before each node (conf/base/mlflow.yml: not
    nested, so MLflow does not stack the reopenings): a session's own run ends with
    it, and a session run inside ``with mlflow.start_run()`` (a notebook's, say) logs
    to that run and leaves it the active one, for the caller to end."""
    kedro_run(pipelines=["data_processing"])
    assert mlflow.active_run() is None

    mlflow.set_tracking_uri(f"sqlite:///{project_copy / 'mlruns' / 'mlflow.db'}")
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run() as outer:
        kedro_run(pipelines=["data_processing"])
        assert mlflow.active_run() is outer
    assert mlflow.active_run() is None

    own, callers = runs_in(project_copy / "mlruns" / "mlflow.db")
    assert callers.info.run_id == outer.info.run_id != own.info.run_id
    assert own.info.status == callers.info.status == "FINISHED"
    assert callers.data.params["data_processing.validation_fraction"] == "0.1"


def test_a_session_in_a_nested_mlflow_run_is_refused_before_any_node_runs(
    project_copy: Path,
):
    """kedro-mlflow reopens the run before each node, which MLflow refuses while a
    parent run is active: the run stops at once, saying so, and leaves both runs."""
    kedro_run(pipelines=["data_processing"])  # sets up the project's store
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run() as parent, mlflow.start_run(nested=True) as child:
        with pytest.raises(RuntimeError, match="which is nested in") as refused:
            kedro_run(pipelines=["data_processing"])
        assert child.info.run_id in str(refused.value)
        assert parent.info.run_id in str(refused.value)
        assert mlflow.active_run() is child
    assert mlflow.active_run() is None
