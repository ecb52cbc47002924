"""Nodes of the inference pipeline: a folder of people's digit images in, predictions out."""

from __future__ import annotations

import collections
import contextlib
import functools
import itertools
import logging
import multiprocessing
import multiprocessing.forkserver
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import threadpoolctl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.params import InferenceParams

from .journal import FolderPlan, folder_predictions, plan_reading
from .numbers import DIGITS
from .preprocessing import FRAME_SIZE
from .progress import FolderProgress
from .reading import PreparedImage, prepare, prepare_each, settle

logger = logging.getLogger(__name__)

Loader = Callable[[], bytes]
#: Files a worker process is handed at a time; smaller folders are read in-process.
CHUNK = 16
#: Chunks handed over per worker ahead of the one whose results are awaited.
CHUNKS_AHEAD = 4


def predict_digits(
    digit_images: dict[str, Loader],
    digit_image_stamps: dict[str, Callable[[], str | None]],
    classified_before: dict[str, pd.DataFrame],
    classifier: TrainedClassifier,
    inference: InferenceParams,
) -> Iterator[tuple[dict[str, pd.DataFrame], FolderPlan]]:
    """Reads, preprocesses and classifies the folder's new and changed files in batches.

    A generator: Kedro saves each batch's rows to the folder's journal as soon as it is
    yielded, so an interrupted run loses at most the batch in hand, and the next run
    starts where this one stopped. Files the journal already answers for (unchanged,
    same model and layout) are not read again, unless ``inference.redo``. Memory is
    bounded by the batch, not the folder. A file that cannot be used (not an image,
    truncated, too large, blank) gets its row and status and the run goes on.

    Args:
        digit_images: One loader per file in the folder, by path relative to it.
        digit_image_stamps: One loader per file of its stamp (it changes with the file).
        classified_before: The folder's journal: the rows of earlier runs, by batch.
        classifier: The trained model; it must read MNIST's 28x28 images.
        inference: The folder's name (for messages), limits, batching, ``redo``.

    Yields:
        The rows of a batch, by the name of its journal file (``image``,
        ``prediction``, ``confidence``, ``p0``...``p9``, ``digits``,
        ``digit_confidences``, ``status``, ``model_version``, ``stamp``, ``layout``),
        and the run's plan for the folder; once ``{}`` and the plan if nothing is new.

    Raises:
        ValueError: If the folder holds only hidden files.
    """
    _check_model(classifier, inference)
    files = visible_files(digit_images, inference.input_dir)
    stamps = {name: _stamp(digit_image_stamps.get(name)) for name in files}
    earlier = list(classified_before.values())
    plan = plan_reading(
        files,
        stamps,
        pd.concat(earlier) if earlier else pd.DataFrame(),
        classifier.version,
        inference.layout,
        redo=inference.redo,
    )
    logger.info(plan.describe(inference.input_dir))
    if not plan.to_read:
        yield {}, plan
        return
    start, read = time.perf_counter(), 0
    with (
        FolderProgress(len(plan.to_read), inference.input_dir) as progress,
        _classifying(
            list(plan.to_read), digit_images, classifier, inference
        ) as batches,
    ):
        for names, rows in batches:
            read += len(names)
            progress.update(read)
            yield {plan.batch_name(names): plan.keyed(rows)}, plan
    seconds = time.perf_counter() - start
    logger.info(
        f"Read {read} files of '{inference.input_dir}' in {seconds:.1f} s "
        f"({read / max(seconds, 1e-9):.0f} files/s)."
    )


def _stamp(loader: Callable[[], str | None] | None) -> str | None:
    return loader() if loader else None


def collect_predictions(
    classified_files: dict[str, Callable[[], pd.DataFrame]],
    folder_plan: FolderPlan,
    inference: InferenceParams,
) -> pd.DataFrame:
    """Gathers the folder's predictions from its journal: one row per file, in order.

    Each file's row is the one that holds for it as it is now, whether this run or
    an earlier one wrote it; so an interrupted run, run again, gives each file one row.

    Returns:
        The predictions (``image``, ``prediction``, ``confidence``, ``p0``...``p9``,
        ``digits``, ``digit_confidences``, ``status``, ``model_version``).

    Raises:
        ValueError: If no file of the folder could be classified.
    """
    journal = pd.concat([load() for load in classified_files.values()])
    predictions = folder_predictions(journal, folder_plan)
    logger.info(
        summarise(predictions, inference)
        + f" Model version {folder_plan.model_version or 'not versioned'}."
    )
    if not (predictions["status"] == "ok").any():
        raise ValueError(
            f"No usable image in '{inference.input_dir}': {len(predictions)} files, "
            f"none could be classified (see the status counts above)."
        )
    return predictions


def preview_sheet_images(
    predictions: pd.DataFrame,
    digit_images: dict[str, Loader],
    classifier: TrainedClassifier,
    inference: InferenceParams,
) -> dict[str, PreparedImage]:
    """Reads the sheet's files again (the first ``sheet_images`` that did not time
    out), with thumbnails.

    The journal keeps answers, not pictures. The model reads them again too: a
    number's candidate digits are only narrowed down to its digits (their views and
    boxes) by the model's reading of them. Single digits take a few milliseconds each
    and are read here; numbers (``layout=number``), up to a few tenths of a second
    each when digits touch, on worker processes as in the run.
    """
    # Not files that timed out: each could take the whole time limit again.
    readable = predictions["image"][predictions["status"] != "timed out"]
    present = (name for name in readable if name in digit_images)
    shown = list(itertools.islice(present, inference.sheet_images))
    work = preparer(inference, with_thumbnail=True)
    loaders = [digit_images[name] for name in shown]
    numbers = inference.layout == "number"
    workers = inference.worker_count() if numbers else 1
    with _prepared(work, loaders, workers, numbers=numbers) as results:
        read = classify_prepared(list(results), classifier)
    return {name: item for name, (item, _) in zip(shown, read)}


def _check_model(classifier: TrainedClassifier, inference: InferenceParams) -> None:
    card = classifier.card
    shape = tuple(card.image_shape)
    if shape != (FRAME_SIZE, FRAME_SIZE):
        raise ValueError(
            f"The classifier reads {shape[0]}x{shape[1]} images, but inference makes "
            f"MNIST-style {FRAME_SIZE}x{FRAME_SIZE} digits."
        )
    if inference.layout != "digit" and len(card.class_names) != DIGITS:
        raise ValueError(
            f"inference.layout={inference.layout} reads numbers, which takes a model "
            f"of the {DIGITS} digits, but the classifier of '{card.dataset}' has "
            f"{len(card.class_names)} classes. Set inference.layout=digit."
        )


def visible_files(digit_images: dict[str, Loader], input_dir: str) -> list[str]:
    """Lists the folder's files in sorted order, leaving out hidden files and folders.

    Raises:
        ValueError: If there is no file that is not hidden.
    """
    files = sorted(
        name
        for name in digit_images
        if not any(part.startswith(".") for part in name.split("/"))
    )
    if not files:
        raise ValueError(
            f"No image files in '{input_dir}': it holds only hidden files."
        )
    return files


@contextlib.contextmanager
def _classifying(
    files: list[str],
    digit_images: dict[str, Loader],
    classifier: TrainedClassifier,
    inference: InferenceParams,
) -> Iterator[Iterator[tuple[list[str], pd.DataFrame]]]:
    """The files' rows, a batch at a time: classified here, or on the Dask cluster
    ``inference.cluster`` names (its workers read and prepare the files too)."""
    if not inference.cluster:
        batches = _prepare_in_batches(files, digit_images, inference)
        yield (
            (names, classify_batch(names, prepared, classifier))
            for names, prepared in batches
        )
        return
    from . import cluster  # noqa: PLC0415 - Dask loads only for a run that uses it

    read = functools.partial(read_batch, work=preparer(inference, with_thumbnail=False))
    with (
        cluster.connect(inference.cluster) as client,
        # Closed first, however the run ends: the model is taken off the workers
        # while the client is still connected.
        contextlib.closing(
            cluster.classify_on_cluster(
                client,
                files,
                [digit_images[name] for name in files],
                batch_size=inference.batch_size,
                read=read,
                classifier=classifier,
            )
        ) as batches,
    ):
        yield batches


def read_batch(
    names: list[str],
    loaders: list[Loader],
    classifier: TrainedClassifier,
    *,
    work: Callable[[Loader], PreparedImage],
) -> pd.DataFrame:
    """Reads, prepares and classifies one batch of files: a cluster worker's task."""
    return classify_batch(names, [work(load) for load in loaders], classifier)


def _prepare_in_batches(
    files: list[str], digit_images: dict[str, Loader], inference: InferenceParams
) -> Iterator[tuple[list[str], list[PreparedImage]]]:
    """Yields the files batch by batch with their prepared images, in order.

    With ``workers`` > 1 and more than a few files (``_prepared``), worker processes
    read and preprocess the files from the first one on, while this process
    classifies what they have prepared. They are started by a fork server
    that has imported the preprocessing once: clean processes, quick to start, which
    never inherit TensorFlow's threads (forking a process that runs threads can
    deadlock the child) nor its memory.
    """
    work = preparer(inference, with_thumbnail=False)
    loaders = [digit_images[name] for name in files]
    numbers = inference.layout == "number"
    with _prepared(work, loaders, inference.worker_count(), numbers=numbers) as results:
        for start in range(0, len(files), inference.batch_size):
            names = files[start : start + inference.batch_size]
            yield names, list(itertools.islice(results, len(names)))


def preparer(
    inference: InferenceParams, *, with_thumbnail: bool
) -> Callable[[Loader], PreparedImage]:
    """``prepare`` with the run's limits and layout (picklable, for the workers)."""
    return functools.partial(
        prepare,
        with_thumbnail=with_thumbnail,
        max_pixels=inference.max_pixels,
        layout=inference.layout,
        seconds=inference.time_limit,
    )


@contextlib.contextmanager
def _prepared(
    work: Callable[[Loader], PreparedImage],
    loaders: list[Loader],
    workers: int,
    *,
    numbers: bool,
) -> Iterator[Iterator[PreparedImage]]:
    """``work`` on each file, in order, on up to ``workers`` worker processes, a
    chunk of files at a time: here if there is only one chunk.

    Single digits take a few milliseconds each: they go ``CHUNK`` at a time, so up to
    ``CHUNK`` of them are read here, which is quicker than starting workers. Numbers
    take up to a few tenths of a second each when digits touch: they go to workers
    from two on, in chunks small enough that the workers finish together.
    """
    chunk = max(1, min(CHUNK, len(loaders) // (8 * workers))) if numbers else CHUNK
    workers = min(workers, -(-len(loaders) // chunk))
    with worker_pool(workers) if workers > 1 else contextlib.nullcontext() as pool:
        ahead = CHUNKS_AHEAD * workers
        yield (
            _in_order(pool, work, loaders, chunk, ahead) if pool else map(work, loaders)
        )


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
    chunks = (loaders[start : start + chunk] for start in range(0, len(loaders), chunk))
    pending = collections.deque(
        pool.submit(prepare_each, work, files)
        for files in itertools.islice(chunks, ahead)
    )
    while pending:
        done = pending.popleft().result()
        pending.extend(
            pool.submit(prepare_each, work, files)
            for files in itertools.islice(chunks, 1)
        )
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
    context.set_forkserver_preload([prepare.__module__])
    return context


@contextlib.contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Worker processes forked from a server that has the preprocessing imported.

    On the way out, files not yet started are dropped: a failed or interrupted run
    does not wait for the rest of the folder.
    """
    context = _worker_context()
    # One NumPy thread a worker: the workers are the parallelism. With a BLAS thread
    # per core each (the piece verifier's matrix products), two would share the
    # cores four ways.
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=threadpoolctl.threadpool_limits,
        initargs=(1,),
    )
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def classify_batch(
    names: list[str], prepared: list[PreparedImage], classifier: TrainedClassifier
) -> pd.DataFrame:
    """Classifies a batch's usable images: one row per file, empty where unusable."""
    return tabulate(
        names, classify_prepared(prepared, classifier), classifier.card.class_names
    )


def classify_prepared(
    prepared: list[PreparedImage], classifier: TrainedClassifier
) -> list[tuple[PreparedImage, np.ndarray]]:
    """Reads every view of a batch in one call to the model, then chooses each
    number's digits among its candidates by that reading (``settle``).

    Returns:
        Each file with the views and boxes of its digits only, and their class
        probabilities, one row per digit.
    """
    counts = [len(item.views) for item in prepared]
    views = [view for item in prepared for view in item.views]
    read = (
        classifier.predict(np.stack(views))
        if views
        else np.zeros((0, len(classifier.card.class_names)), np.float32)
    )
    per_file = np.split(read, np.cumsum(counts)[:-1]) if prepared else []
    return [settle(item, found) for item, found in zip(prepared, per_file)]


def tabulate(
    names: list[str],
    read: list[tuple[PreparedImage, np.ndarray]],
    classes: list[str],
) -> pd.DataFrame:
    """The rows of ``classify_prepared``'s files, by their names.

    An image read as one digit gets its class probabilities (``p0``...) and
    ``prediction``; every image gets the digits read, left to right (``digits``), how
    sure each is (``digit_confidences``) and, as its ``confidence``, that of its least
    sure digit.
    """
    per_file = [found for _, found in read]
    single = np.array([len(found) == 1 for found in per_file], dtype=bool)
    probabilities = np.full((len(names), len(classes)), np.nan)
    probabilities[single] = np.reshape(
        [found[0] for found in per_file if len(found) == 1], (-1, len(classes))
    )
    table = pd.DataFrame(probabilities, columns=[f"p{k}" for k in range(len(classes))])
    table.insert(0, "image", names)
    predicted = np.nan_to_num(probabilities).argmax(axis=1)
    table.insert(1, "prediction", pd.Series(predicted, dtype="Int64").mask(~single))
    sure = [found.max(axis=1) for found in per_file]
    table.insert(
        2, "confidence", [each.min() if len(each) else np.nan for each in sure]
    )
    table["digits"] = [
        "".join(classes[k] for k in found.argmax(axis=1)) if len(found) else None
        for found in per_file
    ]
    table["digit_confidences"] = [
        " ".join(f"{value:.4f}" for value in each) if len(each) else None
        for each in sure
    ]
    table["status"] = [item.status for item, _ in read]
    return table


def summarise(predictions: pd.DataFrame, inference: InferenceParams) -> str:
    """One line for the log: how many files, how many classified, skipped and why."""
    statuses = predictions["status"].value_counts()
    skipped = statuses.drop("ok", errors="ignore")
    by_count = sorted(skipped.items(), key=lambda item: (-item[1], item[0]))
    reasons = ", ".join(f"{count} {status}" for status, count in by_count)
    unsure = int((predictions["confidence"] < inference.low_confidence).sum())
    return (
        f"Classified {statuses.get('ok', 0)} of {len(predictions)} files in "
        f"'{inference.input_dir}'; "
        f"skipped {skipped.sum()}{f' ({reasons})' if reasons else ''}; "
        f"{unsure} below {inference.low_confidence:.0%} confidence."
    )


def plot_predictions_sheet(
    predictions: pd.DataFrame,
    prediction_previews: dict[str, PreparedImage],
    inference: InferenceParams,
) -> Figure:
    """Shows each image beside the 28x28 digit the model saw, its prediction and confidence."""
    shown = predictions[predictions["image"].isin(prediction_previews)]
    columns = min(4, max(1, len(shown)))
    rows = max(1, -(-len(shown) // columns))
    height = 1.5 * rows + 0.7
    figure = Figure(figsize=(2.6 * columns, height))
    figure.suptitle(
        f"{len(shown)} of {len(predictions)} files in '{inference.input_dir}': the image, "
        f"the 28x28 digit the model saw, its prediction\n(red: below "
        f"{inference.low_confidence:.0%} confidence or not classified)",
        fontsize=9,
    )
    # A fixed layout: the layout engines take seconds to place this many axes.
    grid = figure.subplots(
        rows,
        columns,
        squeeze=False,
        gridspec_kw={
            "left": 0.01,
            "right": 0.99,
            "bottom": 0.01,
            "top": 1 - 0.75 / height,
        },
    )
    for axes in grid.flat:
        axes.set_axis_off()
    for (_, row), axes in zip(shown.iterrows(), grid.flat):
        _draw_cell(
            axes, row, prediction_previews[row["image"]], inference.low_confidence
        )
    return figure


def _draw_cell(
    axes: Axes, row: pd.Series, preview: PreparedImage, low_confidence: float
) -> None:
    """One file: its image in the left unit square (a number's digits boxed), the 28x28
    views the model saw in the right one."""
    if preview.thumbnail is not None:
        height, width = preview.thumbnail.shape[:2]
        w, h = width / max(height, width), height / max(height, width)
        left, bottom = (1 - w) / 2, (1 - h) / 2
        axes.imshow(preview.thumbnail, extent=(left, left + w, bottom, bottom + h))
        for x0, y0, x1, y1 in preview.boxes:  # fractions of the image, from its top
            axes.add_patch(
                Rectangle(
                    (left + x0 * w, bottom + (1 - y1) * h),
                    (x1 - x0) * w,
                    (y1 - y0) * h,
                    fill=False,
                    edgecolor="tab:orange",
                    linewidth=1,
                )
            )
    if preview.view is not None:
        share = preview.view.shape[0] / preview.view.shape[1]  # 1 for a digit
        axes.imshow(
            preview.view,
            cmap="gray",
            vmin=0,
            vmax=255,
            extent=(1.1, 2.1, (1 - share) / 2, (1 + share) / 2),
        )
    axes.set(xlim=(-0.02, 2.12), ylim=(-0.02, 1.02))  # room for the frame's line
    ok = row["status"] == "ok"
    unsure = not ok or row["confidence"] < low_confidence
    colour = "tab:red" if unsure else "black"
    label = (
        f"{row['digits']} ({row['confidence']:.0%})"
        if ok
        else textwrap.fill(row["status"], 16)
    )
    axes.set_title(_shorten(row["image"]), fontsize=7, loc="left")
    axes.set_title(
        label,
        fontsize=8,
        loc="right",
        color=colour,
        fontweight="bold" if unsure else None,
    )
    if unsure:
        axes.add_patch(
            Rectangle((1.1, 0), 1, 1, fill=False, edgecolor=colour, linewidth=2)
        )


def _shorten(name: str, width: int = 20) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3) :]
