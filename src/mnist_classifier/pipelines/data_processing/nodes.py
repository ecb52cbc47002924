"""Nodes of the data_processing pipeline."""

from __future__ import annotations

import logging
import math

import numpy as np

from mnist_classifier.params import DatasetParams, SplitParams

logger = logging.getLogger(__name__)


def validate_digits(
    images: np.ndarray,
    labels: np.ndarray,
    dataset: DatasetParams,
    *,
    source: str = "the digits",
) -> tuple[np.ndarray, np.ndarray]:
    """Checks that images and labels fit together and the dataset, so bad data fails early.

    Args:
        images: The images, one per label.
        labels: Their class indices.
        dataset: What the images' shape and classes must be.
        source: Where they come from, for the error (the pipeline names the catalog
            entries, so that the message says whether the training or the test set
            is wrong).

    Returns:
        The same ``images`` and ``labels``, unchanged.

    Raises:
        ValueError: If shapes, dtypes, counts or label values are wrong; the message
            names ``source``, says what is wrong, and what was expected.
    """
    problems = []
    height, width = dataset.image_shape
    if images.ndim != 3 or images.shape[1:] != (height, width):
        problems.append(
            f"images have shape {images.shape}, expected (n, {height}, {width}) "
            "as set by the 'dataset.image_shape' parameter"
        )
    if images.dtype != np.uint8:
        problems.append(f"images have dtype {images.dtype}, expected uint8")
    if labels.ndim != 1 or len(labels) != len(images):
        problems.append(
            f"labels have shape {labels.shape}, expected one label per image "
            f"({len(images)})"
        )
    num_classes = len(dataset.class_names)
    if not np.issubdtype(labels.dtype, np.integer):
        problems.append(
            f"labels have dtype {labels.dtype}, expected integer class indices in "
            f"[0, {num_classes - 1}] for the {num_classes} 'dataset.class_names'"
        )
    elif labels.size and not (0 <= labels.min() and labels.max() < num_classes):
        problems.append(
            f"labels range over [{labels.min()}, {labels.max()}], expected integers "
            f"in [0, {num_classes - 1}] for the {num_classes} 'dataset.class_names'"
        )
    if len(images) == 0:
        problems.append("there are no images")
    if problems:
        raise ValueError(f"Invalid digit data in {source}: {'; '.join(problems)}.")
    logger.info("Validated %d images of shape %s.", len(images), images.shape[1:])
    return images, labels


def split_validation_set(
    images: np.ndarray, labels: np.ndarray, split: SplitParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Splits a seeded, stratified validation set off the training set for early stopping.

    Returns:
        Training images, training labels, validation images, validation labels (the
        last two empty when ``validation_fraction`` is 0).
    """
    # Imported here: scikit-learn takes longer to import than `kedro registry list` runs.
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    if split.validation_fraction == 0:
        logger.info("Kept all %d training images; no validation set.", len(images))
        return images, labels, images[:0], labels[:0]
    _check_split(labels, split.validation_fraction)
    train_images, validation_images, train_labels, validation_labels = train_test_split(
        images,
        labels,
        test_size=split.validation_fraction,
        stratify=labels,
        random_state=split.seed,
    )
    logger.info(
        "Split %d training and %d validation images.",
        len(train_images),
        len(validation_images),
    )
    return train_images, train_labels, validation_images, validation_labels


def _check_split(labels: np.ndarray, fraction: float) -> None:
    """A stratified split needs each class on both sides (scikit-learn's own error
    would not name the parameter)."""
    counts, images = np.bincount(labels), len(labels)
    classes, held_out = np.count_nonzero(counts), math.ceil(fraction * images)
    alone = np.flatnonzero(counts == 1)
    if alone.size:
        raise ValueError(
            f"data_processing.validation_fraction={fraction}: a stratified split needs "
            f"two images of every class, and class {alone[0]} has one: add images of "
            "it, or set it to 0 for no validation set."
        )
    if min(held_out, images - held_out) < classes:
        # Bounds rounded inwards, so that either one, as printed, is accepted.
        lowest = math.ceil(classes / images * 1e6) / 1e6
        highest = math.floor((images - classes) / images * 1e6) / 1e6
        raise ValueError(
            f"data_processing.validation_fraction={fraction} holds out {held_out} of "
            f"{images} training images, but a stratified split needs each of the "
            f"{classes} classes on both sides: set it between {lowest:g} and "
            f"{highest:g}, or to 0 for no validation set."
        )


def one_hot_labels(labels: np.ndarray, dataset: DatasetParams) -> np.ndarray:
    """Turns integer labels into the float32 one-hot targets the loss compares against.

    Images need no such step: the model takes MNIST's uint8 pixels as they are.
    """
    return np.eye(len(dataset.class_names), dtype=np.float32)[labels]
