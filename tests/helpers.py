"""Helpers the tests import: the shipped MNIST sample, a throw-away copy of the project,
Kedro runs in it, Python in a new interpreter, a stand-in classifier, and a guard against
calls that block.

Fixtures live in conftest.py; what a test module imports lives here (pytest's advice:
conftest files are not modules to import from).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import DatasetError

from mnist_classifier.classifier import ModelCard
from mnist_classifier.datasets import IDXDataset

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = PROJECT_ROOT / "data" / "01_raw" / "mnist_sample"


def load_sample(split: str, kind: str) -> np.ndarray:
    """Loads one of the four IDX files of the shipped 600/200-image MNIST sample."""
    idx = "idx3" if kind == "images" else "idx1"
    return IDXDataset(
        filepath=str(SAMPLE_DIR / f"{split}-{kind}-{idx}-ubyte.gz")
    ).load()


def within(call: Callable[[], Any], seconds: float = 60) -> Any:
    """Calls in a thread; a call that blocks (as opening a FIFO would) fails the test.

    Returns:
        What it returned, or the error it raised (the cause, if the catalog wrapped it).
    """
    outcome: list = []

    def run():
        try:
            outcome.append(call())
        except DatasetError as error:
            outcome.append(error.__cause__ or error)
        except Exception as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"the call did not return within {seconds} s"
    return outcome[0]


def wait_for(condition: Callable[[], Any], seconds: float = 120) -> None:
    """Polls ``condition`` until it holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.05)


def run_python(code: str, **options: Any) -> subprocess.CompletedProcess[str]:
    """``code`` in a new interpreter (this one's), its output captured; ``options`` as
    ``subprocess.run``'s (``cwd``, ``env``)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        **options,
    )


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
