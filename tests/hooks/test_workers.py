"""The worker server hook starts the inference workers' server as a run that reads a
folder here with worker processes begins, and only then."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from kedro.io import DataCatalog, MemoryDataset

from mnist_classifier.hooks import WorkerServerHook
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines import data_processing, inference
from mnist_classifier.pipelines.inference.workers import CHUNK


@pytest.fixture
def started(monkeypatch) -> list[bool]:
    calls: list[bool] = []
    monkeypatch.setattr(
        "mnist_classifier.hooks.workers.start_worker_server", lambda: calls.append(True)
    )
    return calls


@pytest.fixture
def project(tmp_path) -> Path:
    """A project whose folder "photos" holds two chunks of files."""
    write_files(tmp_path / "photos", CHUNK + 1)
    return tmp_path


def write_files(folder: Path, count: int, prefix: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"{prefix}{index:03d}.png").write_bytes(b"")


def run_hook(project: Path, pipeline, **params) -> None:
    settings = InferenceParams(**{"input_dir": "photos", **params})
    catalog = DataCatalog({"params:inference": MemoryDataset(settings)})
    run_params = {"project_path": project.as_posix()}
    WorkerServerHook().before_pipeline_run(run_params, pipeline, catalog)


def test_a_run_that_reads_a_folder_starts_it(started, project):
    run_hook(project, inference.create_pipeline(), workers=2)
    assert started == [True]


def test_a_folder_of_one_chunk_is_read_without_it(started, tmp_path):
    write_files(tmp_path / "photos", CHUNK)
    write_files(tmp_path / "photos", 5, prefix=".")  # hidden: never read
    write_files(tmp_path / "photos" / ".thumbnails", 5)
    run_hook(tmp_path, inference.create_pipeline(), workers=2)
    assert started == []
    run_hook(tmp_path, inference.create_pipeline(), workers=2, layout="number")
    assert started == [True]  # numbers go to workers from two on


def test_a_folder_named_by_a_file_url_is_counted_as_its_path(started, tmp_path):
    write_files(tmp_path / "photos", CHUNK)
    url = f"file://{tmp_path / 'photos'}"
    run_hook(tmp_path, inference.create_pipeline(), workers=2, input_dir=url)
    assert started == []


@pytest.mark.parametrize(
    "params",
    [{"workers": 1}, {"workers": 2, "cluster": {"address": "tcp://10.0.0.5:8786"}}],
    ids=["one process", "on a cluster"],
)
def test_a_folder_read_without_worker_processes_does_not(started, project, params):
    run_hook(project, inference.create_pipeline(), **params)
    assert started == []


def test_a_run_that_reads_no_folder_does_not(started, project):
    run_hook(project, data_processing.create_pipeline(), workers=2)
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
