"""Registry rules that need no training (the rest: tests/serving/test_serving.py)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR

from mnist_classifier.serving.registry import (
    NoModelError,
    champion_version,
    register,
    registered_name,
    serving_uri,
)


def test_each_dataset_has_its_own_registered_name():
    assert registered_name("mnist") == "mnist_classifier"
    assert registered_name("fashion_mnist") == "fashion_mnist_classifier"


def test_an_empty_registry_says_to_train_first(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(
        NoModelError, match=r"No model 'mnist_classifier' .* `make run`"
    ):
        serving_uri(client, "mnist_classifier")


def test_no_champion_is_none_but_a_failing_registry_is_an_error(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert champion_version(client, "mnist_classifier") is None  # no such model
    client.create_registered_model("mnist_classifier")
    assert champion_version(client, "mnist_classifier") is None  # no such alias

    class LockedRegistry:
        def get_model_version_by_alias(self, name: str, alias: str):
            raise MlflowException("database is locked", INTERNAL_ERROR)

    # Not "no champion": that would hand the alias to whatever registers next.
    with pytest.raises(MlflowException, match="locked"):
        champion_version(LockedRegistry(), "mnist_classifier")


def test_a_version_as_accurate_as_the_champion_takes_its_place(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    accuracy = 2957 / 3000  # no 6-digit decimal is this number
    for run in ["first", "second"]:
        register(
            client,
            "mnist_classifier",
            str(tmp_path),
            kedro_run_id=run,
            test_accuracy=accuracy,
        )
    champion = champion_version(client, "mnist_classifier")
    assert champion.tags["kedro_run_id"] == "second"
