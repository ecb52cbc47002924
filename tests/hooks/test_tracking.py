"""Unit tests of the experiment-tracking hook: the parts of kedro-mlflow it builds on.

The end-to-end behaviour (a run's parameters, metrics, plots and model in the project's
own store) is in tests/test_mlflow.py.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import keras
import pytest
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

from mnist_classifier.hooks.tracking import (
    ExperimentTrackingHook,
    keras_signature,
    project_sqlite_uri,
)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///mlruns/mlflow.db", "sqlite:///{project}/mlruns/mlflow.db"),
        ("sqlite:////srv/mlflow.db", "sqlite:////srv/mlflow.db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("mlruns", "mlruns"),  # a path: kedro-mlflow resolves it itself
    ],
)
def test_project_sqlite_uri(tmp_path: Path, uri: str, expected: str):
    assert project_sqlite_uri(uri, tmp_path) == expected.format(project=tmp_path)


def test_project_sqlite_uri_creates_the_folder(tmp_path: Path):
    project_sqlite_uri("sqlite:///store/runs/mlflow.db", tmp_path)
    assert (tmp_path / "store" / "runs").is_dir()


def test_keras_signature():
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    signature = keras_signature(model).to_dict()
    assert json.loads(signature["inputs"])[0]["tensor-spec"]["shape"] == [-1, 28, 28, 1]
    assert json.loads(signature["outputs"])[0]["tensor-spec"]["shape"] == [-1, 10]


def test_keras_signature_keeps_the_uint8_input():
    model = keras.Sequential(
        [keras.Input((28, 28), dtype="uint8"), keras.layers.Flatten()]
    )
    inputs = json.loads(keras_signature(model).to_dict()["inputs"])[0]
    assert inputs["tensor-spec"] == {"dtype": "uint8", "shape": [-1, 28, 28]}


def test_kedro_mlflow_still_offers_what_the_hook_builds_on():
    """The hook uses kedro-mlflow's public attribute ``run_id`` (the run it started)
    and reads ``config_loader["mlflow"]`` in ``after_context_created``, where it first
    puts the resolved tracking URI: this fails if a new release changes either."""
    assert MlflowHook().run_id is None  # set when a pipeline's run starts
    source = inspect.getsource(MlflowHook.after_context_created)
    assert 'context.config_loader["mlflow"]' in source
    hook = ExperimentTrackingHook()
    assert not hook._own_run_active()  # nothing started: nothing of its own to end
