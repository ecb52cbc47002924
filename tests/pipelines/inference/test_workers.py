"""Unit tests of reading files on worker processes."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import itertools
import subprocess
import sys
import time
import types

import pandas as pd
import pytest
import threadpoolctl
from kedro.framework.cli import main as click_main

from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines.inference import workers
from mnist_classifier.pipelines.inference.reading import preparer
from tests.servers import left_running, proc_stat, run_to_end, stop_group

from .helpers import png_bytes


def test_workers_are_handed_a_few_chunks_at_a_time_not_the_whole_folder(
    paper_digit, monkeypatch
):
    # A run whose journal save fails stops taking results (Kedro does not close the
    # node's generator): whatever was handed over is still read before it exits.
    handed = []
    real_pool = workers.worker_pool

    @contextlib.contextmanager
    def counted_pool(size: int):
        with real_pool(size) as pool:
            submit = pool.submit
            pool.submit = lambda *args: handed.append(args) or submit(*args)
            yield pool

    monkeypatch.setattr(workers, "worker_pool", counted_pool)
    count = 40 * workers.CHUNK
    loads = [functools.partial(bytes, png_bytes(paper_digit))] * count
    work = preparer(InferenceParams(input_dir="x"), with_thumbnail=False)
    with workers.prepared(work, loads, 2, numbers=False) as results:
        taken = list(itertools.islice(results, workers.CHUNK))
        chunks = len(handed)
    assert [item.status for item in taken] == ["ok"] * workers.CHUNK
    # The chunks ahead, and one more for the chunk taken: 144 files of the 640.
    assert chunks == workers.CHUNKS_AHEAD * 2 + 1
    assert all(len(files) == workers.CHUNK for _, _, files in handed)


def test_the_server_preloads_the_console_script_s_entry_point(monkeypatch):
    """Under ``kedro`` (a script run by path), each worker imports the script's
    ``main`` again as it starts: the server imports its module for all of them."""
    script = types.ModuleType("__main__")
    script.__spec__ = None
    script.main = click_main
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert workers._main_imports() == ["kedro.framework.cli.cli"]

    script.__spec__ = importlib.util.find_spec("pytest")  # `python -m`: by name
    assert workers._main_imports() == []
    script.__spec__ = None
    script.main = pd.read_csv  # another script's: not imported into the server
    assert workers._main_imports() == []
    script.main = "".join  # no module at all
    assert workers._main_imports() == []
    del script.main  # `python -c`, or a script without an entry point
    assert workers._main_imports() == []


def test_each_worker_runs_one_blas_thread():
    """The workers are the parallelism: a BLAS thread per core each would share the
    cores four ways."""
    with workers.worker_pool(2) as pool:
        threads = list(pool.map(_blas_threads, range(4)))
    assert threads == [1] * 4


def _blas_threads(_: int) -> int:
    """The most threads any BLAS library of this process runs (picklable)."""
    blas = [
        info["num_threads"]
        for info in threadpoolctl.threadpool_info()
        if info["user_api"] == "blas"
    ]
    assert blas, "NumPy runs no BLAS library that threadpoolctl knows"
    return max(blas)


def test_a_run_that_fails_ends_its_workers_at_once():
    start = time.monotonic()
    with (
        pytest.raises(RuntimeError, match="a node failed"),
        workers.worker_pool(2) as pool,
    ):
        pool.submit(_blas_threads, 0).result()  # the workers are up
        reading = [pool.submit(time.sleep, 60) for _ in range(2)]
        time.sleep(0.5)
        raise RuntimeError("a node failed")
    assert time.monotonic() - start < 10  # not the minute the chunks under way take
    assert all(future.done() for future in reading)


WORKERS_OF_A_KILLED_RUN = """
import os, signal, time
from mnist_classifier.pipelines.inference import workers

with workers.worker_pool(2) as pool:
    reading = [pool.submit(time.sleep, 60) for _ in range(2)]
    time.sleep(1)
    os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would: no clean-up at all
"""


def test_workers_end_when_the_process_they_work_for_is_killed():
    run = subprocess.Popen(
        [sys.executable, "-c", WORKERS_OF_A_KILLED_RUN], start_new_session=True
    )
    try:
        # Not collected yet, as by a parent that does not wait: a zombie is no parent.
        deadline = time.monotonic() + 60
        while proc_stat(run.pid)[0] != "Z" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc_stat(run.pid)[0] == "Z"
        assert left_running(run.pid) == []  # workers, their server, its tracker
        assert run.wait() == -9
    finally:
        stop_group(run)


CTRL_C_WHILE_WORKERS_WAIT = """
import os, signal, time
from mnist_classifier.pipelines.inference import workers

def started(pid):  # its start is over once it ignores SIGINT (or 10 s have gone)
    status = open(f"/proc/{pid}/status").read()
    ignored = int(status.split("SigIgn:")[1].split()[0], 16)
    return ignored & 1 << signal.SIGINT - 1


signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
try:
    with workers.worker_pool(2) as pool:
        list(pool.map(time.sleep, [0.5, 0.5]))  # two workers, waiting for more
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(map(started, pool._processes)):
            time.sleep(0.1)
        os.killpg(0, signal.SIGINT)  # Ctrl-C: the whole process group
        time.sleep(30)
except KeyboardInterrupt:
    print("stopped")
"""


def test_ctrl_c_stops_the_run_without_a_traceback_from_each_worker():
    _, output, errors = run_to_end(
        [sys.executable, "-c", CTRL_C_WHILE_WORKERS_WAIT], 60
    )
    assert output.strip() == "stopped"
    assert "Traceback" not in errors, errors[-2000:]
