"""Nodes of the inference pipeline: a folder of people's digit images in, predictions out."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator

import pandas as pd
from matplotlib.figure import Figure

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.params import InferenceParams

from .classify import classify_batch, classify_prepared, read_batch
from .journal import FolderPlan, folder_predictions, plan_reading
from .numbers import DIGITS
from .preprocessing import FRAME_SIZE
from .progress import FolderProgress, per_second
from .reading import Loader, PreparedImage, preparer
from .sheet import contact_sheet
from .workers import prepare_in_batches, prepared

logger = logging.getLogger(__name__)


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
    same model and layout) are not read again, unless ``inference.redo``. The images
    held at once are a batch's, not the folder's. A file that cannot be used (not an
    image, truncated, too large, blank) gets its row and status and the run goes on.

    Args:
        digit_images: One loader per file in the folder, by path relative to it.
        digit_image_stamps: One loader per file of its stamp (it changes with the file).
        classified_before: The folder's journal: the rows of earlier runs, by batch.
        classifier: The trained model; it must read MNIST's 28x28 images.
        inference: The folder's name (for messages), limits, batching, ``redo``.

    Yields:
        The rows of a batch, by the name of its journal file (``image``,
        ``prediction``, ``confidence``, ``p0``...``p9``, ``digits``,
        ``digit_confidences``, ``status``, ``model_version``, ``stamp``, ``layout``,
        ``run``), and the run's plan for the folder; once ``{}`` and the plan if
        nothing is new.

    Raises:
        ValueError: If the folder holds only hidden files, or the model does not
            read 28x28 images (or, for numbers, the ten digits).
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
        f"({per_second(read / max(seconds, 1e-9))} files/s)."
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
    boxes) by the model's reading of them. Single digits are quick to read and are
    read here; numbers (``layout=number``), far slower when digits touch, on worker
    processes as in the run.
    """
    # Not files that timed out: each could take the whole time limit again.
    readable = predictions["image"][predictions["status"] != "timed out"]
    shown = list(readable.iloc[: inference.sheet_images])
    work = preparer(inference, with_thumbnail=True)
    loaders = [digit_images[name] for name in shown]
    numbers = inference.expects_numbers
    workers = inference.worker_count() if numbers else 1
    with prepared(work, loaders, workers, numbers=numbers) as results:
        read = classify_prepared(list(results), classifier)
    return {name: item for name, (item, _) in zip(shown, read)}


def _check_model(classifier: TrainedClassifier, inference: InferenceParams) -> None:
    card = classifier.card
    shape = tuple(card.image_shape)
    if shape != (FRAME_SIZE, FRAME_SIZE):
        raise ValueError(
            f"The classifier {_named(classifier)}reads {shape[0]}x{shape[1]} images, "
            f"but inference makes MNIST-style {FRAME_SIZE}x{FRAME_SIZE} digits: load "
            f"a model of 28x28 images (--load-versions classifier:<version>)."
        )
    if inference.layout != "digit" and len(card.class_names) != DIGITS:
        raise ValueError(
            f"inference.layout={inference.layout} reads numbers, which takes a model "
            f"of the {DIGITS} digits, but the classifier {_named(classifier)}of "
            f"'{card.dataset}' has {len(card.class_names)} classes. Set "
            f"inference.layout=digit."
        )


def _named(classifier: TrainedClassifier) -> str:
    return f"(version {classifier.version}) " if classifier.version else ""


def is_hidden(name: str) -> bool:
    """Whether a file of the folder is left out: its name, or a folder's on its path,
    starts with a dot (``.DS_Store``, ``.git/HEAD``)."""
    return any(part.startswith(".") for part in name.split("/"))


def visible_files(digit_images: dict[str, Loader], input_dir: str) -> list[str]:
    """Lists the folder's files in sorted order, leaving out hidden files and folders.

    Raises:
        ValueError: If there is no file that is not hidden.
    """
    files = sorted(name for name in digit_images if not is_hidden(name))
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
        # Closed as the run ends, however it ends: its worker processes with it.
        with contextlib.closing(
            prepare_in_batches(files, digit_images, inference)
        ) as batches:
            yield (
                (names, classify_batch(names, images, classifier))
                for names, images in batches
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
                cluster=inference.cluster,
            )
        ) as batches,
    ):
        yield batches


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
    title = (
        f"{len(shown)} of {len(predictions)} files in '{inference.input_dir}': the image, "
        f"the 28x28 digit the model saw, its prediction\n(red: below "
        f"{inference.low_confidence:.0%} confidence or not classified)"
    )
    return contact_sheet(shown, prediction_previews, title, inference.low_confidence)
