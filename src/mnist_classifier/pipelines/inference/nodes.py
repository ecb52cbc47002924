"""Nodes of the inference pipeline: a folder of people's digit images in, predictions out."""

from __future__ import annotations

import functools
import logging
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.params import InferenceParams

from .preprocessing import FRAME_SIZE, PreparedImage, prepare

logger = logging.getLogger(__name__)

Loader = Callable[[], Image.Image]


def predict_digits(
    digit_images: dict[str, Loader],
    classifier: TrainedClassifier,
    inference: InferenceParams,
) -> tuple[pd.DataFrame, dict[str, PreparedImage]]:
    """Reads, preprocesses and classifies every image in batches; bad files get a status.

    Memory is bounded by the batch, not the folder. A file that cannot be used (not an
    image, truncated, too large, blank) gets its row and status and the run goes on.

    Args:
        digit_images: One loader per file in the folder, by path relative to it.
        classifier: The trained model; it must read MNIST's 28x28 images.
        inference: The folder's name (for messages), limits, batching and the sheet.

    Returns:
        The predictions, one row per file in sorted order (``image``, ``prediction``,
        ``confidence``, ``p0``...``p9``, ``status``), and the first files' thumbnails
        and 28x28 views for the contact sheet.

    Raises:
        ValueError: If the folder holds only hidden files, or no usable image at all.
    """
    _check_input_shape(classifier)
    files = visible_files(digit_images, inference.input_dir)
    start = time.perf_counter()
    on_sheet = set(files[: inference.sheet_images])
    tables, previews = [], {}
    for names, prepared in _prepare_in_batches(files, digit_images, inference):
        tables.append(classify_batch(names, prepared, classifier))
        previews |= {
            name: item for name, item in zip(names, prepared) if name in on_sheet
        }
    predictions = pd.concat(tables, ignore_index=True)
    logger.info(summarise(predictions, inference, time.perf_counter() - start))
    if not (predictions["status"] == "ok").any():
        raise ValueError(
            f"No usable image in '{inference.input_dir}': {len(predictions)} files, "
            f"none could be classified (see the status counts above)."
        )
    return predictions, previews


def _check_input_shape(classifier: TrainedClassifier) -> None:
    shape = tuple(classifier.card.image_shape)
    if shape != (FRAME_SIZE, FRAME_SIZE):
        raise ValueError(
            f"The classifier reads {shape[0]}x{shape[1]} images, but inference makes "
            f"MNIST-style {FRAME_SIZE}x{FRAME_SIZE} digits."
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


def _prepare_in_batches(
    files: list[str], digit_images: dict[str, Loader], inference: InferenceParams
) -> Iterator[tuple[list[str], list[PreparedImage]]]:
    """Yields the files batch by batch with their prepared images.

    With more than one batch and ``workers`` > 1, worker processes decode and
    preprocess the next batch while this process classifies the current one, so at
    most two batches are in memory. They start the platform's default way: forked on
    Linux (at once), spawned elsewhere (importing the project first, seconds).
    """
    work = functools.partial(prepare, max_pixels=inference.max_pixels)
    batch_size = inference.batch_size
    workers = inference.worker_count()
    parallel = workers > 1 and len(files) > batch_size
    with ProcessPoolExecutor(workers) if parallel else nullcontext() as pool:
        mapper = functools.partial(pool.map, chunksize=16) if parallel else map
        pending = None
        for start in range(0, len(files), batch_size):
            names = files[start : start + batch_size]
            thumbnails = [start + i < inference.sheet_images for i in range(len(names))]
            results = mapper(work, [digit_images[name] for name in names], thumbnails)
            if pending:
                yield pending[0], list(pending[1])
            pending = (names, results)
        if pending:
            yield pending[0], list(pending[1])


def classify_batch(
    names: list[str], prepared: list[PreparedImage], classifier: TrainedClassifier
) -> pd.DataFrame:
    """Classifies a batch's usable images: one row per file, empty where unusable."""
    usable = np.array([item.view is not None for item in prepared], dtype=bool)
    probabilities = np.full((len(names), len(classifier.card.class_names)), np.nan)
    if usable.any():
        views = np.stack([item.view for item in prepared if item.view is not None])
        probabilities[usable] = classifier.predict(views)
    table = pd.DataFrame(
        probabilities, columns=[f"p{k}" for k in range(probabilities.shape[1])]
    )
    table.insert(0, "image", names)
    predicted = pd.Series(probabilities.argmax(axis=1), dtype="Int64").mask(~usable)
    table.insert(1, "prediction", predicted)
    table.insert(2, "confidence", probabilities.max(axis=1))
    table["status"] = [item.status for item in prepared]
    return table


def summarise(
    predictions: pd.DataFrame, inference: InferenceParams, seconds: float
) -> str:
    """One line for the log: how many files, how many classified, skipped and why."""
    statuses = predictions["status"].value_counts()
    skipped = statuses.drop("ok", errors="ignore")
    by_count = sorted(skipped.items(), key=lambda item: (-item[1], item[0]))
    reasons = ", ".join(f"{count} {status}" for status, count in by_count)
    unsure = int((predictions["confidence"] < inference.low_confidence).sum())
    return (
        f"Classified {statuses.get('ok', 0)} of {len(predictions)} files in "
        f"'{inference.input_dir}' in {seconds:.1f} s "
        f"({len(predictions) / max(seconds, 1e-9):.0f} files/s); "
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
    """One file: its image in the left unit square, the 28x28 view in the right one."""
    if preview.thumbnail is not None:
        height, width = preview.thumbnail.shape[:2]
        w, h = width / max(height, width), height / max(height, width)
        extent = ((1 - w) / 2, (1 + w) / 2, (1 - h) / 2, (1 + h) / 2)
        axes.imshow(preview.thumbnail, extent=extent)
    if preview.view is not None:
        axes.imshow(
            preview.view, cmap="gray", vmin=0, vmax=255, extent=(1.1, 2.1, 0, 1)
        )
    axes.set(xlim=(-0.02, 2.12), ylim=(-0.02, 1.02))  # room for the frame's line
    ok = row["status"] == "ok"
    unsure = not ok or row["confidence"] < low_confidence
    colour = "tab:red" if unsure else "black"
    label = (
        f"{int(row['prediction'])} ({row['confidence']:.0%})"
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
