"""Shared fixtures: the shipped MNIST sample, a model card, a throw-away copy of the
project as the cwd, and a stand-in classifier. What tests import is in tests/helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

# Kedro sets up logging, as it is first imported, from conf/logging.yml in the cwd, whose
# file handler would add the tests' logs to the checkout's info.log. The tests use their
# own set-up instead (the console only), here and in every process they start (runs of
# project copies, Dask workers), since those inherit the environment; test_logging.py
# checks the project's own.
os.environ.setdefault(
    "KEDRO_LOGGING_CONFIG", str(Path(__file__).with_name("logging.yml"))
)

import numpy as np
import pytest

from mnist_classifier.classifier import EpochRecord, ModelCard, TrainingHistory
from mnist_classifier.params import ArchitectureParams, DatasetParams, TrainingParams
from tests.helpers import StubClassifier, copy_project, load_sample

# Tests never report to Kedro's telemetry (the .telemetry file also says so).
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(scope="session")
def sample_train() -> tuple[np.ndarray, np.ndarray]:
    return load_sample("train", "images"), load_sample("train", "labels")


@pytest.fixture(scope="session")
def sample_test() -> tuple[np.ndarray, np.ndarray]:
    return load_sample("t10k", "images"), load_sample("t10k", "labels")


@pytest.fixture(scope="session")
def dataset_params() -> DatasetParams:
    return DatasetParams(name="mnist", class_names=[str(digit) for digit in range(10)])


@pytest.fixture(scope="session")
def model_card(dataset_params) -> ModelCard:
    """The card of a one-epoch MNIST model, for models made in the tests."""
    history = TrainingHistory(
        training_seconds=1.0,
        parameters=1,
        training_images=600,
        validation_images=0,
        best_epoch=1,
        hyperparameters=TrainingParams(
            seed=0, architecture=ArchitectureParams(conv_filters=[4])
        ),
        records=[
            EpochRecord(epoch=1, loss=1, accuracy=0.5, learning_rate=0.001, seconds=1)
        ],
    )
    return ModelCard(
        dataset=dataset_params.name,
        class_names=dataset_params.class_names,
        image_shape=dataset_params.image_shape,
        history=history,
    )


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project (``copy_project``) in a temporary folder, the cwd."""
    monkeypatch.chdir(copy_project(tmp_path))
    return tmp_path


@pytest.fixture
def stub_classifier(model_card) -> StubClassifier:
    return StubClassifier(model_card)
