"""The worker server hook starts the inference workers' server as a run that reads a
folder here begins, and only then."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from kedro.io import DataCatalog, MemoryDataset

from mnist_classifier.hooks import WorkerServerHook
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines import data_processing, inference


@pytest.fixture
def started(monkeypatch) -> list[bool]:
    calls: list[bool] = []
    monkeypatch.setattr(
        "mnist_classifier.hooks.workers.start_worker_server", lambda: calls.append(True)
    )
    return calls


def run_hook(pipeline, **params) -> None:
    settings = InferenceParams(input_dir="photos", **params)
    catalog = DataCatalog({"params:inference": MemoryDataset(settings)})
    WorkerServerHook().before_pipeline_run({}, pipeline, catalog)


def test_a_run_that_reads_a_folder_starts_it(started):
    run_hook(inference.create_pipeline(), workers=2)
    assert started == [True]


@pytest.mark.parametrize(
    "params",
    [{"workers": 1}, {"cluster": {"address": "tcp://10.0.0.5:8786"}}],
    ids=["one process", "on a cluster"],
)
def test_a_folder_read_without_worker_processes_does_not(started, params):
    run_hook(inference.create_pipeline(), **params)
    assert started == []


def test_a_run_that_reads_no_folder_does_not(started):
    run_hook(data_processing.create_pipeline(), workers=2)
    assert started == []


def test_the_server_is_running_when_it_returns():
    """In a process of its own, where no pool has started one before: the standard
    library's ``forkserver.ensure_running`` is not in its documentation, only in the
    module's ``__all__``, so this holds it to what the hook relies on."""
    code = textwrap.dedent(
        """
        import psutil
        from mnist_classifier.pipelines.inference.workers import start_worker_server

        def servers():
            return [
                child for child in psutil.Process().children()
                if "multiprocessing.forkserver" in " ".join(child.cmdline())
            ]

        before = servers()
        start_worker_server()
        print(len(before), len(servers()))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["0", "1"]
