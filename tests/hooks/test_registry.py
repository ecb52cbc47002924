"""Unit tests of the model-registry hook: which model a run's metrics register.

Each test has an MLflow store of its own (SQLite, in a temporary folder), where runs log
a trivial model as a training run logs its ``DigitReader``. Whole runs that train and
register are in tests/serving/test_serving.py and tests/test_airflow.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mnist_classifier.classifier import Evaluation, TrainedClassifier
from mnist_classifier.hooks import registry as hook_module
from mnist_classifier.hooks.registry import ModelRegistryHook

NAME = "mnist_classifier"
TRAINED = "2026-12-01T10.00.00.000Z"  # the Kedro run that trained the model read
EVALUATING = "2026-12-02T10.00.00.000Z"  # the Kedro run that saves the metrics


class Echo(mlflow.pyfunc.PythonModel):
    """A model to log: what a training run logs does not matter here."""

    def predict(self, context, model_input: pd.DataFrame) -> pd.DataFrame:
        return model_input


@pytest.fixture
def client(tmp_path, monkeypatch) -> Iterator[MlflowClient]:
    """An empty store of its own, the tracking URI while the test runs."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("mnist_classifier")
    yield MlflowClient(uri)
    mlflow.set_tracking_uri(previous)


def log_model(kedro_run_id: str) -> mlflow.models.model.ModelInfo:
    """Logs a model to the active MLflow run, tagged as kedro-mlflow tags a Kedro run."""
    mlflow.set_tag("run_id", kedro_run_id)
    return mlflow.pyfunc.log_model(
        name="model", python_model=Echo(), pip_requirements=[]
    )


def trained_elsewhere(kedro_run_id: str = TRAINED) -> str:
    """A run that trained and logged its model but saved no metrics."""
    with mlflow.start_run():
        return log_model(kedro_run_id).model_id


def classifier(model_card, version: str | None) -> TrainedClassifier:
    return TrainedClassifier(model=None, card=model_card, version=version)


def metrics(model_card, accuracy: float = 0.99) -> Evaluation:
    """The test metrics of the model ``model_card`` describes."""
    return Evaluation(
        test_accuracy=accuracy,
        test_loss=0.05,
        macro_precision=accuracy,
        macro_recall=accuracy,
        macro_f1=accuracy,
        test_images=10_000,
        dataset="mnist",
        parameters=1_000,
        training_seconds=60.0,
        epochs=6,
        best_epoch=6,
        hyperparameters=model_card.history.hyperparameters,
    )


def evaluate(hook: ModelRegistryHook, read: TrainedClassifier) -> None:
    """A run ``EVALUATING`` that reads ``read`` and saves its metrics."""
    with mlflow.start_run():
        mlflow.set_tag("run_id", EVALUATING)
        hook.before_pipeline_run({"run_id": EVALUATING}, None, None)
        hook.after_dataset_loaded("classifier", read, None)
        hook.after_dataset_saved("metrics", metrics(read.card), None)


def versions(client: MlflowClient) -> list:
    return client.search_model_versions(f"name = '{NAME}'")


def test_the_version_read_is_registered_with_the_model_its_training_run_logged(
    client, model_card, caplog
):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    model_id = trained_elsewhere()
    evaluate(ModelRegistryHook(), classifier(model_card, TRAINED))

    (version,) = versions(client)
    assert version.tags["kedro_run_id"] == TRAINED
    assert version.source == f"models:/{model_id}"
    assert client.get_model_version_by_alias(NAME, "champion").version == 1

    evaluate(ModelRegistryHook(), classifier(model_card, TRAINED))  # again
    assert len(versions(client)) == 1
    assert f"The model of Kedro run {TRAINED} is already {NAME} version 1" in (
        caplog.text
    )


def test_a_run_that_trains_one_model_and_reads_another_registers_the_one_read(
    client, model_card, monkeypatch, caplog
):
    """``kedro run --load-versions classifier:<older>``: the metrics are the older's."""
    model_id = trained_elsewhere()
    monkeypatch.setattr(
        hook_module, "log_digit_reader", lambda data, inference, name: log_model("x")
    )
    hook = ModelRegistryHook()
    with mlflow.start_run():
        hook.before_pipeline_run({"run_id": EVALUATING}, None, None)
        hook.after_dataset_saved("classifier", classifier(model_card, None), None)
        hook.after_dataset_loaded("classifier", classifier(model_card, TRAINED), None)
        hook.after_dataset_saved("metrics", metrics(model_card), None)

    (version,) = versions(client)
    assert version.source == f"models:/{model_id}"
    assert version.tags["kedro_run_id"] == TRAINED
    assert "the model it trained is logged but not registered" in caplog.text


@pytest.mark.parametrize(
    ("read", "says"),
    [
        (None, "the classifier evaluated is not versioned"),
        ("2026-11-30T10.00.00.000Z", "logged no model to this experiment"),
        ("it's", "is not a Kedro run id"),
    ],
    ids=["unversioned", "trained_without_tracking", "not_a_run_id"],
)
def test_when_there_is_nothing_to_register_the_log_says_why(
    client, model_card, caplog, read, says
):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    trained_elsewhere()
    evaluate(ModelRegistryHook(), classifier(model_card, read))
    assert versions(client) == []
    assert "Nothing registered" in caplog.text and says in caplog.text


def test_a_failing_look_up_is_a_warning_not_a_failed_run(
    client, model_card, monkeypatch, caplog
):
    trained_elsewhere()

    def unavailable(*args, **kwargs):
        raise MlflowException("the tracking server does not answer")

    monkeypatch.setattr(MlflowClient, "search_runs", unavailable)
    evaluate(ModelRegistryHook(), classifier(model_card, TRAINED))
    assert versions(client) == []
    assert "failed: the tracking server does not answer" in caplog.text
