"""Reading and classifying a folder's files on a Dask cluster (``--env distributed``).

A batch of files is one task: a worker reads the files itself (from a path or any
fsspec URL its machine can reach), prepares them with the same code as a local run and
classifies them. Each worker gets the model once, through a worker plugin, which Dask
also hands to a worker that joins later or is restarted after a crash. A worker that
dies takes its unfinished tasks with it, and the scheduler runs them again on another
(Dask's own retry, ``distributed.scheduler.allowed-failures``), so every batch's rows
arrive exactly once. A few batches per worker are in flight at a time: the folder's
size bounds neither the memory of this process nor the cluster's. A scheduler at
``inference.cluster.address`` left with no worker, at the start or mid-run, stops the
run after ``inference.cluster.worker_wait`` seconds rather than let it wait for ever.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import time
import uuid
from collections.abc import Callable, Iterator

import pandas as pd

# Dask's own loggers at warnings only (a worker lost, its tasks run again), not the
# start-up lines of every worker. Dask reads this as it is imported, here and in the
# worker processes, which inherit it.
os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")

from distributed import (
    Client,
    Future,
    LocalCluster,
    WorkerPlugin,
    get_worker,
    wait,
)

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.params import ClusterParams
from mnist_classifier.startup import import_keras

from .reading import Loader

logger = logging.getLogger(__name__)

#: A local scheduler's HTTP server (its health and metrics routes) on a free port, and
#: no dashboard: ``dashboard_address=None`` alone still binds the dashboard's port 8787.
NO_DASHBOARD = {
    "dashboard_address": "127.0.0.1:0",
    "scheduler_kwargs": {"dashboard": False},
}
#: A local worker's environment: TensorFlow on one thread, as the worker has one core.
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
#: How long to try to reach a scheduler at ``inference.cluster.address``.
CONNECT_SECONDS = 10
#: Batches in flight per worker thread: one running, the next ones ready to start.
TASKS_AHEAD = 2
#: At least this many batches per worker thread, however small the folder.
TASKS_PER_THREAD = 4
#: Seconds between looks at whether the cluster still has a worker, while no batch ends.
WORKER_CHECK = 1.0
#: Seconds to take a finished batch's rows before looking at the workers again: rows
#: that leave with their worker meanwhile are made again, which takes a worker.
RESULT_WAIT = 5.0

#: Reads, prepares and classifies one batch: (names, loaders, classifier) -> rows.
BatchReader = Callable[[list[str], list[Loader], TrainedClassifier], pd.DataFrame]


class ModelPlugin(WorkerPlugin):
    """Carries the model to each worker, which loads it once; tasks take it there."""

    def __init__(self, classifier: TrainedClassifier) -> None:
        # One name per run: two runs on one cluster never take each other's model.
        self.name = f"mnist-classifier-{classifier.version}-{uuid.uuid4().hex[:8]}"
        self._pickled = pickle.dumps(classifier)  # Keras stays unloaded until setup
        self.classifier: TrainedClassifier | None = None

    def setup(self, worker: object) -> None:
        """Loads the model, TensorFlow's start-up notices hidden as in a run."""
        import_keras()
        self.classifier = pickle.loads(self._pickled)


@contextlib.contextmanager
def connect(cluster: ClusterParams) -> Iterator[Client]:
    """A client of the scheduler at ``cluster.address``, or of a local cluster of
    ``cluster.workers`` processes started here and stopped on the way out.

    A local cluster listens on 127.0.0.1 only, on free ports, serves no dashboard, and
    gives each worker one thread, TensorFlow's included: one core each, none
    oversubscribed.
    """
    if cluster.address:
        try:
            client = Client(cluster.address, timeout=CONNECT_SECONDS)
        except OSError as error:
            raise ConnectionError(
                f"No Dask scheduler answers at inference.cluster.address="
                f"{cluster.address} ({error}). Start one there (`dask scheduler`, "
                f"then `dask worker {cluster.address}` on each machine), or leave the "
                f"address out to start a local cluster."
            ) from error
        with client:
            logger.info(f"Connected to the Dask scheduler at {cluster.address}.")
            if cluster.worker_wait:  # else tasks wait for a worker, saying nothing
                _wait_for_a_worker(client, cluster.address, cluster.worker_wait)
            yield client
        return
    workers = cluster.worker_count()
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            **NO_DASHBOARD,
            env=ONE_THREAD,
        ) as local,
        Client(local) as client,
    ):
        logger.info(f"Started a local Dask cluster of {workers} workers.")
        yield client


def _wait_for_a_worker(client: Client, address: str, seconds: float) -> None:
    try:
        client.wait_for_workers(1, timeout=seconds)
    except TimeoutError as error:
        raise _no_worker(address, seconds) from error


def _no_worker(address: str, seconds: float, when: str = "") -> ConnectionError:
    """The error of a scheduler that has had no worker for ``seconds``."""
    return ConnectionError(
        f"The Dask scheduler at inference.cluster.address={address} has had no "
        f"worker for {seconds:g} s{when}: start one (`dask worker {address}`), or "
        "set inference.cluster.worker_wait=null for a cluster that adds workers "
        "once tasks are queued."
    )


def classify_on_cluster(
    client: Client,
    files: list[str],
    loaders: list[Loader],
    *,
    batch_size: int,
    read: BatchReader,
    classifier: TrainedClassifier,
    cluster: ClusterParams,
) -> Iterator[tuple[list[str], pd.DataFrame]]:
    """Yields each batch's names and rows as its task finishes (not in order).

    A batch is ``batch_size`` files, or fewer where the folder is small, so that each
    worker thread gets several: 200 photos on 2 workers make 8 tasks, not one.

    Args:
        client: The cluster's client (``connect``).
        files: The files' names, in the order their tasks are submitted.
        loaders: Their loaders (picklable: the workers call them).
        batch_size: The most files a task reads and classifies.
        read: A module-level function (workers import it by name) that reads,
            prepares and classifies a batch.
        classifier: The model, sent to every worker once.
        cluster: Its parameters: a scheduler at its ``address`` with no worker for
            ``worker_wait`` seconds mid-run stops the run (``ConnectionError``).
    """
    plugin = ModelPlugin(classifier)
    threads = max(sum(client.nthreads().values()), 1)
    size = max(1, min(batch_size, -(-len(files) // (TASKS_PER_THREAD * threads))))
    todo = (
        (files[at : at + size], loaders[at : at + size])
        for at in range(0, len(files), size)
    )
    running: dict[Future, list[str]] = {}  # each task's future and its files' names

    def submit(names: list[str], batch: list[Loader]) -> None:
        future = client.submit(_on_worker, read, names, batch, plugin.name, pure=False)
        running[future] = names

    try:  # the scheduler keeps a plugin whose set-up failed on a worker: taken off too
        client.register_plugin(plugin)
        for batch in itertools.islice(todo, TASKS_AHEAD * threads):
            submit(*batch)
        while running:
            future, rows = _next_finished(client, running, cluster)
            for batch in itertools.islice(todo, 1):
                submit(*batch)
            yield running.pop(future), rows
    finally:
        running.clear()  # the tasks not done are forgotten by the scheduler
        try:
            client.unregister_worker_plugin(plugin.name)
        except Exception as error:  # the scheduler gone: what ended the run matters
            logger.warning(
                f"Could not take the model off the cluster's workers: {error!r}"
            )


def _next_finished(
    client: Client, running: dict[Future, list[str]], cluster: ClusterParams
) -> tuple[Future, pd.DataFrame]:
    """The first running task to finish, and its rows, once there is one; a scheduler
    at ``cluster.address`` that has had no worker for ``cluster.worker_wait`` seconds
    meanwhile is an error (a local cluster's workers are restarted by their nannies).

    A task that is done may still lose its rows with its worker before they are taken
    (Dask then runs it again, and taking them waits for that): so they are taken within
    ``RESULT_WAIT`` seconds, or the workers are looked at again.

    Raises:
        ConnectionError: If the scheduler has had no worker for that long.
        Exception: A task's error, which is the run's.
    """
    alone_since = None
    while True:
        # Not wait()'s done ones: it counts a task whose result left with its worker.
        done = next((future for future in running if future.done()), None)
        if done is not None:
            if done.status != "finished":
                done.result()  # raises the task's error
            with contextlib.suppress(TimeoutError):  # gone with its worker: made again
                return done, done.result(RESULT_WAIT)
        else:
            try:
                with client.as_current():  # wait() asks its client of the current one
                    wait(list(running), WORKER_CHECK, "FIRST_COMPLETED")
                continue
            except TimeoutError:
                pass
        # No rows came: does the cluster still have a worker?
        if not (cluster.address and cluster.worker_wait) or client.nthreads():
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since >= cluster.worker_wait:
            kept = " mid-run (what it read is kept: a new run goes on from there)"
            raise _no_worker(cluster.address, cluster.worker_wait, kept) from None


def _on_worker(
    read: BatchReader,
    names: list[str],
    loaders: list[Loader],
    plugin: str,
) -> pd.DataFrame:
    """A task: one batch, read with the model this worker was given."""
    return read(names, loaders, get_worker().plugins[plugin].classifier)
