"""Runs killed or interrupted mid-write, damaged models, and runs side by side.

Each test runs the real `kedro run` in a subprocess of a project copy. A run is stopped
at an exact moment by a ``sitecustomize`` module put on its PYTHONPATH, which wraps
fsspec's local ``mv`` and ``put_file`` (how every dataset of the project finishes a
file): at the chosen file it sends the process SIGKILL (a killed training, a machine
going down) or SIGINT (Ctrl-C).
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from kedro.io.core import Version

from mnist_classifier.datasets import AtomicDataset, ClassifierDataset
from mnist_classifier.realistic import write_realistic_folder
from tests.helpers import copy_project, wait_for
from tests.servers import left_running, run_to_end, stop_group
from tests.serving.helpers import server_environment

MODELS = "data/06_models/mnist_sample/classifier.keras"
METRICS = "data/08_reporting/mnist_sample/metrics.json"
PREDICTIONS = "data/07_model_output/mnist_sample/predictions.csv"

STOPPER = '''
"""Stops this process at a chosen file write (see tests/test_interruptions.py)."""
import os
import signal

from fsspec.implementations.local import LocalFileSystem

_seen = 0
if os.environ.get("STOP_WITH") == "SIGINT":
    # Ctrl-C in a terminal interrupts Python; a run started in the background by a
    # shell without job control inherits SIGINT ignored, and would never stop.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _stopping(method):
    real = getattr(LocalFileSystem, method)

    def call(self, source, target, *args, **kwargs):
        global _seen
        if method == os.environ["STOP_ON"] and str(target).endswith(
            os.environ["STOP_AT"]
        ):
            _seen += 1
            if _seen > int(os.environ.get("STOP_AFTER", "0")):
                if method == "put_file":  # half the bytes, as a full disk leaves
                    with open(source, "rb") as file, open(target, "wb") as out:
                        out.write(file.read()[: os.path.getsize(source) // 2])
                stop = getattr(signal, os.environ["STOP_WITH"])
                if stop == signal.SIGINT:  # Ctrl-C reaches the whole process group
                    os.killpg(os.getpgid(0), stop)
                else:  # the OOM killer, say: this process alone
                    os.kill(os.getpid(), stop)
        return real(self, source, target, *args, **kwargs)

    setattr(LocalFileSystem, method, call)


for _method in ("mv", "put_file"):
    _stopping(_method)
'''


def kedro_run(
    project: Path, *options: str, kedro_env: str = "test", **environment: str
) -> tuple[list[str], dict]:
    """`kedro run --env <kedro_env> *options` in ``project``: the command, and where
    and how it runs (its errors in its output)."""
    return [sys.executable, "-m", "kedro", "run", "--env", kedro_env, *options], {
        "cwd": project,
        "env": {**server_environment(), "COLUMNS": "200", **environment},
        "stderr": subprocess.STDOUT,
    }


def start_kedro_run(project: Path, *options: str, **environment: str):
    """Starts ``kedro_run`` in its own process group."""
    command, how = kedro_run(project, *options, **environment)
    return subprocess.Popen(
        command, **how, stdout=subprocess.PIPE, text=True, start_new_session=True
    )


def kedro_run_to_end(project: Path, *options: str, **environment: str):
    """``kedro_run`` to its end (none of its processes outliving it); its output."""
    command, how = kedro_run(project, *options, **environment)
    status, output, _ = run_to_end(command, 300, **how)
    return subprocess.CompletedProcess(command, status, output)


def stopped_run(project: Path, on: str, at: str, signal_name: str, *options, after=0):
    """A `kedro run` stopped by ``signal_name`` when it ``on`` (mv or put_file) a file
    whose path ends in ``at``, after ``after`` such files went through.

    Its temporary files go into a folder removed after it: a killed save cannot clean
    up its own. That folder is not in the project copy, whose deep path (deeper still
    under pytest-xdist) leaves no room for the socket of the run's forkserver: a Unix
    socket's path holds at most 107 bytes.
    """
    hooks = project / "stopper"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(textwrap.dedent(STOPPER))
    with tempfile.TemporaryDirectory(prefix="stopped-run-") as scratch:
        return kedro_run_to_end(
            project,
            *options,
            TMPDIR=scratch,
            PYTHONPATH=str(hooks),
            STOP_ON=on,
            STOP_AT=at,
            STOP_WITH=signal_name,
            STOP_AFTER=str(after),
        )


def versions(project: Path, path: str) -> list[str]:
    return sorted(p.name for p in (project / path).iterdir())


def predictions(project: Path, version: str | None = None) -> pd.DataFrame:
    """The predictions of a run (``version``), or the latest."""
    return AtomicDataset(
        dataset="pandas.CSVDataset",
        filepath=str(project / PREDICTIONS),
        version=Version(version, None),
    ).load()


def latest_model(project: Path) -> str:
    return ClassifierDataset(
        filepath=str(project / MODELS), version=Version(None, None)
    ).resolve_load_version()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A project copy with one trained model and its reports."""
    project = copy_project(tmp_path_factory.mktemp("trained"))
    assert kedro_run_to_end(project).returncode == 0
    return project


@pytest.fixture
def project(trained: Path, tmp_path: Path) -> Path:
    """A fresh copy of the trained project."""
    return Path(shutil.copytree(trained, tmp_path / "project", symlinks=True))


@pytest.fixture
def digits(project: Path, sample_test) -> Path:
    """Twenty people's digit images in the project copy."""
    images, labels = sample_test
    write_realistic_folder(images[:20], labels[:20], project / "digits")
    return project / "digits"


def test_a_training_killed_as_it_renames_the_model_leaves_no_new_version(
    project, digits
):
    (before,) = versions(project, MODELS)

    killed = stopped_run(project, "mv", "classifier.keras", "SIGKILL")

    assert killed.returncode == -signal.SIGKILL
    (half,) = set(versions(project, MODELS)) - {before}  # it got as far as that
    assert not (project / MODELS / half / "classifier.keras").exists()
    assert (project / MODELS / half / "classifier.keras.partial").exists()
    assert latest_model(project) == before
    inference = kedro_run_to_end(
        project, "--pipelines", "inference", "--params", f"input_dir={digits}"
    )
    assert inference.returncode == 0, inference.stdout[-3000:]
    assert (predictions(project)["model_version"] == before).all()


def test_a_training_killed_while_writing_the_model_or_a_report_leaves_the_last(
    project,
):
    (model_before,) = versions(project, MODELS)
    (metrics_before,) = versions(project, METRICS)

    killed = stopped_run(project, "put_file", "classifier.keras.partial", "SIGKILL")
    assert killed.returncode == -signal.SIGKILL
    assert latest_model(project) == model_before

    killed = stopped_run(project, "mv", "metrics.json", "SIGKILL")
    assert killed.returncode == -signal.SIGKILL
    (new_metrics,) = set(versions(project, METRICS)) - {metrics_before}
    (partial,) = (project / METRICS / new_metrics).iterdir()
    assert partial.name.startswith("metrics.")
    assert partial.name.endswith(".json.partial")
    metrics = AtomicDataset(
        dataset="json.JSONDataset",
        filepath=str(project / METRICS),
        version=Version(None, None),
    )
    assert metrics.resolve_load_version() == metrics_before
    assert metrics.load()["test_accuracy"] > 0


def test_a_truncated_model_stops_inference_in_one_line(project, digits):
    (version,) = versions(project, MODELS)
    keras_file = project / MODELS / version / "classifier.keras"
    keras_file.write_bytes(keras_file.read_bytes()[:1000])

    run = kedro_run_to_end(
        project, "--pipelines", "inference", "--params", f"input_dir={digits}"
    )

    assert run.returncode != 0
    assert "Traceback" not in run.stdout
    (error,) = [line for line in run.stdout.splitlines() if line.startswith("Error:")]
    assert f"version {version}" in error and "not a complete Keras file" in error
    assert "train a new model with `kedro run`" in error


def test_training_and_two_inference_runs_side_by_side_each_finish_whole(
    project, digits
):
    (before,) = versions(project, MODELS)
    inference = ["--pipelines", "inference", "--params", f"input_dir={digits}"]
    commands = [[], inference, inference]
    runs = [start_kedro_run(project, *options) for options in commands]
    try:
        outputs = [run.communicate(timeout=300)[0] for run in runs]
    finally:
        for run in runs:
            stop_group(run)

    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output[-3000:]
    (after,) = set(versions(project, MODELS)) - {before}
    assert latest_model(project) == after
    ClassifierDataset(
        filepath=str(project / MODELS), version=Version(None, None)
    ).load()
    made = versions(project, PREDICTIONS)
    assert len(made) == 2  # one version each, neither overwritten
    for version in made:
        table = predictions(project, version)
        assert len(table) == 20 and table["image"].is_unique
        assert (table["status"] == "ok").all()
        assert table["model_version"].isin([before, after]).all()


def test_an_interrupted_inference_resumes_where_it_stopped(project, sample_test):
    images, labels = sample_test
    folder = project / "photos"
    write_realistic_folder(images, labels, folder / "a", seed=1)
    write_realistic_folder(images, labels, folder / "b", seed=2)  # 400 files
    options = ["--pipelines", "inference", "--params"]
    params = f"input_dir={folder},inference.batch_size=16"

    stopped = stopped_run(  # Ctrl-C as the 10th batch is written: 9 are kept
        project, "mv", ".parquet", "SIGINT", *options, params, after=9
    )
    assert stopped.returncode != 0
    assert "Traceback" not in stopped.stdout, stopped.stdout[-3000:]  # nor a worker's
    journal = [
        p.name for p in project.glob("data/07_model_output/mnist_sample/folders/*/*")
    ]
    assert sum(name.endswith(".parquet") for name in journal) == 9
    assert not [name for name in journal if name.endswith(".partial")]  # cleaned up
    resumed = kedro_run_to_end(project, *options, params)
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert "400 files; reading 256, 144 already read" in " ".join(
        resumed.stdout.split()
    )
    redone = kedro_run_to_end(project, *options, params + ",inference.redo=true")
    assert redone.returncode == 0

    first, second = (
        predictions(project, version) for version in versions(project, PREDICTIONS)
    )
    assert len(first) == 400 and first["image"].is_unique
    pd.testing.assert_frame_equal(first, second)
    assert np.isclose(first[[f"p{k}" for k in range(10)]].sum(axis=1), 1).all()


@pytest.mark.worker_kill
def test_a_cluster_worker_killed_mid_run_loses_and_repeats_no_row(project, sample_test):
    images, labels = sample_test
    folder = project / "photos"
    write_realistic_folder(images, labels, folder / "a", seed=1)
    write_realistic_folder(images, labels, folder / "b", seed=2)
    (folder / "notes.txt").write_text("Not an image.")  # 401 files, 101 batches
    options = ["--pipelines", "inference", "--params"]
    params = "inference.batch_size=4,inference.cluster.workers=2"
    journal = project / "data/07_model_output/mnist_sample/folders"
    # The copy's model was trained in the test environment, on the MNIST sample.
    (project / "conf/distributed/globals.yml").write_text("dataset: mnist_sample\n")

    run = start_kedro_run(  # on a local cluster, reading the folder by its URL
        project,
        *options,
        f"input_dir={folder.as_uri()},{params}",
        kedro_env="distributed",
    )
    try:
        finished = ThreadPoolExecutor(1).submit(run.communicate, timeout=300)
        wait_for(lambda: len(list(journal.glob("*/*.parquet"))) >= 5)
        workers = [
            process
            for process in psutil.Process(run.pid).children(recursive=True)
            if "spawn_main" in " ".join(process.cmdline())
        ]
        assert len(workers) == 2 and run.poll() is None
        written = len(list(journal.glob("*/*.parquet")))
        workers[0].kill()
        output, _ = finished.result()
        left = left_running(run.pid)  # before the group is stopped: none outlives it
    finally:
        stop_group(run)

    assert run.returncode == 0, output[-3000:]
    assert written < 101
    assert "Restarting worker" in output  # Dask saw it go, and ran its tasks again
    assert left == []
    rows = pd.concat(pd.read_parquet(path) for path in journal.glob("*/*.parquet"))
    assert len(rows) == 401 and rows["image"].is_unique
    table = predictions(project)  # rows equal to a local run's: test_cluster.py
    assert table["image"].is_unique
    assert table["status"].value_counts().to_dict() == {"ok": 400, "not an image": 1}
    assert np.isclose(table[[f"p{k}" for k in range(10)]].sum(axis=1), 1).sum() == 400
