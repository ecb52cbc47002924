"""Reading a folder's files on worker processes, in order, a few chunks at a time.

The workers are forked from a server that has imported the preprocessing once: clean
processes, quick to start, which never inherit TensorFlow's threads (forking a process
that runs threads can deadlock the child) nor its memory. The model stays in the
process that runs the pipeline, which classifies what the workers have prepared.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import threadpoolctl

from mnist_classifier.params import InferenceParams

from .reading import Loader, PreparedImage, prepare, prepare_each, preparer

#: Files a worker process is handed at a time; smaller folders are read in-process.
CHUNK = 16
#: Chunks handed over per worker ahead of the one whose results are awaited.
CHUNKS_AHEAD = 4
#: How often a worker checks that the process it works for is still there.
PARENT_CHECK_SECONDS = 1.0
#: Console scripts whose entry point's module the workers' server imports for them.
_PRELOADED_SCRIPTS = ("kedro.", "mnist_classifier.")


def prepare_in_batches(
    files: list[str], digit_images: dict[str, Loader], inference: InferenceParams
) -> Iterator[tuple[list[str], list[PreparedImage]]]:
    """Yields the files batch by batch with their prepared images, in order.

    With ``workers`` > 1 and more than a few files (``prepared``), worker processes
    read and preprocess the files from the first one on, while the caller classifies
    what they have prepared.
    """
    work = preparer(inference, with_thumbnail=False)
    loaders = [digit_images[name] for name in files]
    workers, numbers = inference.worker_count(), inference.expects_numbers
    with prepared(work, loaders, workers, numbers=numbers) as results:
        for start in range(0, len(files), inference.batch_size):
            names = files[start : start + inference.batch_size]
            yield names, list(itertools.islice(results, len(names)))


@contextlib.contextmanager
def prepared(
    work: Callable[[Loader], PreparedImage],
    loaders: list[Loader],
    workers: int,
    *,
    numbers: bool,
) -> Iterator[Iterator[PreparedImage]]:
    """``work`` on each file, in order, on up to ``workers`` worker processes, a
    chunk of files at a time: here if there is only one chunk.

    Single digits are quick to read: they go ``CHUNK`` at a time, so up to ``CHUNK``
    of them are read here, which is quicker than starting workers. Numbers are far
    slower when digits touch (docs/experiments.md): they go to workers from two on, in
    chunks small enough that the workers finish together.
    """
    chunk = _chunk(len(loaders), workers, numbers=numbers)
    workers = pool_size(len(loaders), workers, numbers=numbers)
    with worker_pool(workers) if workers > 1 else contextlib.nullcontext() as pool:
        ahead = CHUNKS_AHEAD * workers
        yield (
            _in_order(pool, work, loaders, chunk, ahead) if pool else map(work, loaders)
        )


def pool_size(files: int, workers: int, *, numbers: bool) -> int:
    """The worker processes ``prepared`` reads ``files`` files on, at most ``workers``;
    1 or 0: none, the files are read in this process."""
    return min(workers, -(-files // _chunk(files, workers, numbers=numbers)))


def _chunk(files: int, workers: int, *, numbers: bool) -> int:
    return max(1, min(CHUNK, files // (8 * workers))) if numbers else CHUNK


def _in_order(
    pool: ProcessPoolExecutor,
    work: Callable[[Loader], PreparedImage],
    loaders: list[Loader],
    chunk: int,
    ahead: int,
) -> Iterator[PreparedImage]:
    """``pool.map(work, loaders, chunksize=chunk)``, but with ``ahead`` chunks handed
    over at a time, not the whole folder at once as ``map`` does: a run that stops
    leaves only those to finish, and finished files wait in memory only that long."""
    submitted = (  # lazily: a chunk is handed over when it is taken from here
        pool.submit(prepare_each, work, loaders[start : start + chunk])
        for start in range(0, len(loaders), chunk)
    )
    pending = collections.deque(itertools.islice(submitted, ahead))
    while pending:
        done = pending.popleft().result()
        pending.extend(itertools.islice(submitted, 1))
        yield from done


def start_worker_server() -> None:
    """Starts the server that ``worker_pool`` forks its workers from, if it is not
    running yet, and returns while it imports the preprocessing.

    The first pool of a process otherwise starts it and waits for those imports.
    Called as a run that reads a folder begins (``hooks.WorkerServerHook``), so that
    they happen while the catalog loads the folder's listing and the model.
    """
    _worker_context()
    multiprocessing.forkserver.ensure_running()


def _worker_context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([prepare.__module__, *_main_imports()])
    return context


def _main_imports() -> list[str]:
    """The module of the console script's entry point, when this process is ``kedro``
    or this package's script: each worker runs the main script again as it starts
    (``multiprocessing`` does), whose import of it is then already done. Python's own
    ``__main__`` preload does not do that: it looks for a ``main_path`` that ``spawn``
    no longer gives. Other scripts' modules are not imported into the server, which
    must never hold TensorFlow."""
    main = sys.modules["__main__"]
    module = getattr(getattr(main, "main", None), "__module__", None)
    by_path = getattr(main, "__spec__", None) is None
    known = isinstance(module, str) and module.startswith(_PRELOADED_SCRIPTS)
    return [module] if by_path and known else []


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes forked from a server that has the preprocessing imported.

    On the way out, files not yet started are dropped; a failed or interrupted run
    ends the workers at once, not after the chunks they are reading (each up to
    ``CHUNK`` files, each up to its time limit). Workers leave Ctrl-C to this process,
    and end themselves once it is gone, however it went (killed, say).
    """
    context = _worker_context()
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    except BaseException:
        _end_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(parent: int) -> None:
    """A worker's start: SIGINT ignored (Ctrl-C reaches the whole process group; the
    process it works for ends it, without a traceback from each worker), one NumPy
    thread (the workers are the parallelism: with a BLAS thread per core each, for the
    piece verifier's matrix products, two would share the cores four ways), and a
    watch on that process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpoolctl.threadpool_limits(1)
    threading.Thread(target=_exit_without, args=(parent,), daemon=True).start()


def _exit_without(parent: int) -> None:
    """Ends this worker once ``parent`` is gone: a process killed with SIGKILL or an
    unhandled SIGTERM runs no clean-up, and its workers, blocked on a queue that its
    other workers keep open, would otherwise wait forever."""
    while _alive(parent):
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs: it exists, and is no zombie (a dead process its
    own parent has not collected yet)."""
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:  # gone since, or no /proc here (macOS): kill said it ran
        return not os.path.isdir("/proc")
    except OSError:
        return False


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """Terminates the pool's worker processes, as Python 3.14's ``terminate_workers``
    does. Before 3.14 the executor's ``_processes`` (pid -> process) is the only way to
    them; tests/pipelines/inference/test_workers.py pins it."""
    for process in list((pool._processes or {}).values()):
        process.terminate()
