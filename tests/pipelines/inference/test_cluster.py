"""Inference on a Dask cluster (``inference.cluster``): the rows of a local run.

A cluster of two worker processes is started once for the module, on 127.0.0.1, and
the runs connect to it by its address, as to a real cluster. A local cluster started
by the run itself, and a worker killed mid-run, are tested end to end in
tests/test_interruptions.py.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator

import numpy as np
import pandas as pd
import psutil
import pytest
from distributed import Client, LocalCluster
from kedro_datasets.partitions import PartitionedDataset

from mnist_classifier.datasets import ImageFileDataset
from mnist_classifier.params import ClusterParams, InferenceParams
from mnist_classifier.pipelines.inference import cluster as cluster_module
from mnist_classifier.pipelines.inference.cluster import (
    NO_DASHBOARD,
    classify_on_cluster,
    connect,
)
from mnist_classifier.pipelines.inference.nodes import predict_digits
from mnist_classifier.realistic import write_realistic_folder
from tests.helpers import wait_for, within
from tests.servers import free_port

from .helpers import png_bytes, read_folder, slow_load

PROBABILITIES = [f"p{k}" for k in range(10)]


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a running two-worker cluster, stopped after the module."""
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            **NO_DASHBOARD,
        ) as cluster,
        Client(cluster),
    ):
        yield cluster.scheduler_address


@pytest.fixture
def photos(tmp_path, sample_test, bad_files, odd_modes, paper_digit):
    """Forty realistic digits, every kind of bad file and odd mode, and ``ok.png``."""
    images, labels = sample_test
    folder = tmp_path / "photos"
    write_realistic_folder(images[:40], labels[:40], folder, seed=4)
    for name, (data, _) in bad_files.items():
        (folder / name).write_bytes(data)
    for name, data in odd_modes.items():
        (folder / name).write_bytes(data)
    (folder / "ok.png").write_bytes(png_bytes(paper_digit))
    return folder


def test_a_cluster_gives_the_rows_of_a_local_run(
    scheduler, photos, bad_files, odd_modes, tiny_model
):
    folder = photos
    url = folder.as_uri()  # file:///...: what the workers read, not this process
    files = PartitionedDataset(path=url, dataset=ImageFileDataset).load()
    files["slow.png"] = functools.partial(slow_load, files["ok.png"])
    settings = {"input_dir": url, "batch_size": 8, "time_limit": 2}

    here = read_folder(files, tiny_model, InferenceParams(**settings, workers=1))
    there = read_folder(
        files,
        tiny_model,
        InferenceParams(**settings, cluster=ClusterParams(address=scheduler)),
    )

    assert len(there) == len(files) == 40 + len(bad_files) + len(odd_modes) + 2
    expected = {name: status for name, (_, status) in bad_files.items()}
    status = there.set_index("image")["status"]
    assert status[list(expected)].to_dict() == expected
    assert status["slow.png"] == "timed out"
    assert (status[list(odd_modes)] == "ok").all()
    exact = ["image", "prediction", "digits", "status", "model_version"]
    pd.testing.assert_frame_equal(there[exact], here[exact])
    assert np.allclose(
        there[PROBABILITIES + ["confidence"]],
        here[PROBABILITIES + ["confidence"]],
        atol=1e-5,
        equal_nan=True,
    )


def test_the_model_is_taken_off_the_workers_after_a_run(
    scheduler, write_files, paper_digit, tiny_model
):
    folder = write_files({f"{k}.png": png_bytes(paper_digit) for k in range(3)})
    files = PartitionedDataset(path=str(folder), dataset=ImageFileDataset).load()
    cluster = ClusterParams(address=scheduler)

    read_folder(files, tiny_model, InferenceParams(input_dir="x", cluster=cluster))

    with Client(scheduler) as client:
        on_workers = client.run(plugins)
    assert len(on_workers) == 2
    assert not any(map(model_plugins, on_workers.values()))


def test_a_run_stopped_after_its_first_batch_takes_the_model_off_too(
    scheduler, write_files, paper_digit, tiny_model
):
    folder = write_files({f"{k}.png": png_bytes(paper_digit) for k in range(8)})
    files = PartitionedDataset(path=str(folder), dataset=ImageFileDataset).load()
    cluster = ClusterParams(address=scheduler)
    inference = InferenceParams(input_dir="x", batch_size=2, cluster=cluster)

    run = predict_digits(files, {}, {}, tiny_model, inference)
    next(run)  # the first batch's rows: then the run stops (a failed save, Ctrl-C)
    with Client(scheduler) as client:
        assert all(map(model_plugins, client.run(plugins).values()))  # while it runs
        run.close()
        assert not any(map(model_plugins, client.run(plugins).values()))


def plugins(dask_worker) -> list[str]:
    return list(dask_worker.plugins)


def model_plugins(names: list[str]) -> list[str]:
    """The names of the plugins that carry a run's model (``cluster.ModelPlugin``)."""
    return [name for name in names if name.startswith("mnist-classifier-")]


def test_no_scheduler_at_the_address_is_one_clear_error(
    write_files, paper_digit, tiny_model
):
    folder = write_files({"a.png": png_bytes(paper_digit)})
    files = PartitionedDataset(path=str(folder), dataset=ImageFileDataset).load()
    nowhere = ClusterParams(address=f"tcp://127.0.0.1:{free_port()}")

    with pytest.raises(ConnectionError, match="inference.cluster.address=tcp://127"):
        read_folder(files, tiny_model, InferenceParams(input_dir="x", cluster=nowhere))


def test_a_scheduler_without_workers_is_one_clear_error_not_a_wait(
    write_files, paper_digit, tiny_model
):
    folder = write_files({"a.png": png_bytes(paper_digit)})
    files = PartitionedDataset(path=str(folder), dataset=ImageFileDataset).load()
    with LocalCluster(n_workers=0, host="127.0.0.1", **NO_DASHBOARD) as empty:
        cluster = ClusterParams(address=empty.scheduler_address, worker_wait=2)
        params = InferenceParams(input_dir="x", cluster=cluster)
        # Should the run wait for ever, the test fails.
        error = within(lambda: read_folder(files, tiny_model, params), seconds=60)
    assert isinstance(error, ConnectionError)
    assert "has had no worker for 2 s" in str(error)
    assert "inference.cluster.worker_wait=null" in str(error)


def test_a_scheduler_whose_workers_all_leave_mid_run_stops_it_not_a_wait(
    write_files, paper_digit, tiny_model
):
    folder = write_files({f"{k}.png": png_bytes(paper_digit) for k in range(12)})
    files = PartitionedDataset(path=str(folder), dataset=ImageFileDataset).load()

    def read_all() -> None:
        run = predict_digits(files, {}, {}, tiny_model, inference)
        next(run)  # the first batch's rows; the next ones wait for this loop
        cluster.scale(0)  # every worker leaves, none comes back
        with Client(cluster.scheduler_address) as client:
            wait_for(lambda: not client.nthreads(), seconds=30)
        list(run)

    with LocalCluster(n_workers=1, host="127.0.0.1", **NO_DASHBOARD) as cluster:
        params = ClusterParams(address=cluster.scheduler_address, worker_wait=2)
        inference = InferenceParams(input_dir="x", batch_size=1, cluster=params)
        error = within(read_all, seconds=60)  # should the run wait for ever: fails
    assert isinstance(error, ConnectionError), error
    assert "has had no worker for 2 s mid-run" in str(error)
    assert "inference.cluster.worker_wait=null" in str(error)


class LostRows:
    """A task Dask says is done, whose rows left with its worker before they were
    taken: taking them waits for it to run again, as long as it is let."""

    status = "finished"

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None) -> pd.DataFrame:
        time.sleep(3600 if timeout is None else timeout)
        raise TimeoutError


class WorkersGone:
    """A client of a scheduler whose workers have all left, with its tasks' rows."""

    def nthreads(self) -> dict:
        return {}

    def submit(self, *args, **kwargs) -> LostRows:
        return LostRows()

    def register_plugin(self, plugin: object) -> None:
        pass

    def unregister_worker_plugin(self, name: str) -> None:
        pass


def test_rows_lost_with_their_worker_once_the_task_was_done_stop_the_run_too(
    tiny_model, monkeypatch
):
    # The race in the test above, made certain: the task is done, its worker leaves
    # before its rows are taken, and taking them would wait for a worker for ever.
    monkeypatch.setattr(cluster_module, "RESULT_WAIT", 0.2)
    params = ClusterParams(address="tcp://127.0.0.1:8786", worker_wait=1)
    run = classify_on_cluster(
        WorkersGone(),
        ["a.png"],
        [lambda: b""],
        batch_size=1,
        read=lambda names, loaders, classifier: pd.DataFrame(),
        classifier=tiny_model,
        cluster=params,
    )
    error = within(lambda: list(run), seconds=20)
    assert isinstance(error, ConnectionError), error
    assert "has had no worker for 1 s mid-run" in str(error)


def test_a_local_cluster_listens_on_free_loopback_ports_only():
    with connect(ClusterParams(workers=1)):
        listening = [
            c.laddr
            for c in psutil.Process().net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN
        ]
    assert listening and {address.ip for address in listening} == {"127.0.0.1"}
    assert 8787 not in {address.port for address in listening}  # the dashboard's
