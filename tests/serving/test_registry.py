"""Registry rules that need no training (the rest: tests/serving/test_serving.py)."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient

from mnist_classifier.serving.registry import NoModelError, registered_name, serving_uri


def test_each_dataset_has_its_own_registered_name():
    assert registered_name("mnist") == "mnist_classifier"
    assert registered_name("fashion_mnist") == "fashion_mnist_classifier"


def test_an_empty_registry_says_to_train_first(tmp_path):
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with pytest.raises(
        NoModelError, match=r"No model 'mnist_classifier' .* `make run`"
    ):
        serving_uri(client, "mnist_classifier")
