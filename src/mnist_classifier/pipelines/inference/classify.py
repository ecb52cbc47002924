"""Prepared files classified: one call to the model a batch, one row a file.

The inference pipeline, its Dask workers and the served model (``serving``) all answer
with these functions, so their rows have the same columns and meaning.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from mnist_classifier.classifier import TrainedClassifier

from .reading import Loader, PreparedImage, settle


def read_batch(
    names: list[str],
    loaders: list[Loader],
    classifier: TrainedClassifier,
    *,
    work: Callable[[Loader], PreparedImage],
) -> pd.DataFrame:
    """Reads, prepares and classifies one batch of files: a cluster worker's task."""
    return classify_batch(names, [work(load) for load in loaders], classifier)


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
