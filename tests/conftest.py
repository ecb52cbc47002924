"""Shared fixtures: the shipped MNIST sample, a throw-away copy of the project, and
Kedro runs in it."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from mnist_classifier.classifier import EpochRecord, ModelCard, TrainingHistory
from mnist_classifier.datasets import IDXDataset
from mnist_classifier.params import ArchitectureParams, DatasetParams, TrainingParams

# Tests never report to Kedro's telemetry (the .telemetry file also says so).
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = PROJECT_ROOT / "data" / "01_raw" / "mnist_sample"


def load_sample(split: str, kind: str) -> np.ndarray:
    """Loads one of the four IDX files of the shipped 600/200-image MNIST sample."""
    idx = "idx3" if kind == "images" else "idx1"
    return IDXDataset(
        filepath=str(SAMPLE_DIR / f"{split}-{kind}-{idx}-ubyte.gz")
    ).load()


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


def within(call: Callable[[], Any], seconds: float = 60) -> Any:
    """Calls in a thread; a call that blocks (as opening a FIFO would) fails the test.

    Returns:
        What it returned, or the error it raised (the cause, if the catalog wrapped it).
    """
    outcome: list = []

    def run():
        try:
            outcome.append(call())
        except Exception as error:
            outcome.append(error.__cause__ or error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"the call did not return within {seconds} s"
    return outcome[0]


def copy_project(destination: Path) -> Path:
    """Copies the project's configuration and sample data into ``destination``.

    Runs in the copy write their artifacts there, never into the real project's data/.
    """
    for name in ["pyproject.toml", ".telemetry"]:
        shutil.copy(PROJECT_ROOT / name, destination / name)
    shutil.copytree(PROJECT_ROOT / "conf", destination / "conf", ignore=_local_conf)
    shutil.copytree(SAMPLE_DIR, destination / "data" / "01_raw" / "mnist_sample")
    # The package itself is imported from where it is installed.
    (destination / "src").mkdir()
    return destination


@pytest.fixture
def project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project (``copy_project``) in a temporary folder, the cwd."""
    monkeypatch.chdir(copy_project(tmp_path))
    return tmp_path


def kedro_run(
    project: Path | None = None,
    *,
    env: str | None = "test",
    pipelines: list[str] | None = None,
    load_versions: dict[str, str] | None = None,
    to_nodes: list[str] | None = None,
    **runtime_params: Any,
) -> str:
    """Runs ``project`` (default: the cwd, a ``project_copy``) in this process, as
    ``kedro run`` does: the test environment unless told, ``runtime_params`` as
    ``--params``, ``pipelines``, ``load_versions`` and ``to_nodes`` as their options.

    Returns:
        The session id: the run's Kedro run id, the version of what it saved.
    """
    project = project or Path.cwd()
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, env=env, runtime_params=runtime_params
    ) as session:
        session.run(
            pipeline_names=pipelines, load_versions=load_versions, to_nodes=to_nodes
        )
        return session.session_id


def _local_conf(directory: str, names: list[str]) -> list[str]:
    """Leaves out conf/local: a developer's own settings must not leak into tests."""
    return (
        [name for name in names if name != ".gitkeep"]
        if directory.endswith("local")
        else []
    )


class StubClassifier:
    """Stands in for the model: says "7" for every image, records the batch sizes."""

    def __init__(self, card: ModelCard, version: str | None = None) -> None:
        self.card, self.version = card, version
        self.batches: list[int] = []

    def predict(self, images: np.ndarray) -> np.ndarray:
        assert images.dtype == np.uint8 and images.shape[1:] == (28, 28)
        self.batches.append(len(images))
        probabilities = np.full((len(images), 10), 0.02, np.float32)
        probabilities[:, 7] = 0.82
        return probabilities


@pytest.fixture
def stub_classifier(model_card) -> StubClassifier:
    return StubClassifier(model_card)
