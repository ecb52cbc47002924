"""Unit tests of the data_processing nodes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mnist_classifier.params import DatasetParams, SplitParams
from mnist_classifier.pipelines.data_processing.nodes import (
    one_hot_labels,
    split_validation_set,
    validate_digits,
)


def test_validate_digits_passes_good_data_through_unchanged(
    sample_train, dataset_params
):
    images, labels = sample_train
    out_images, out_labels = validate_digits(images, labels, dataset_params)
    assert out_images is images and out_labels is labels


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (
            np.zeros((3, 28, 27), np.uint8),
            np.zeros(3, np.uint8),
            r"shape \(3, 28, 27\), expected \(n, 28, 28\)",
        ),
        (np.zeros((3, 28, 28), np.float32), np.zeros(3, np.uint8), "dtype float32"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), "one label per image"),
        (np.zeros((2, 28, 28), np.uint8), np.array([0, 10]), r"range over \[0, 10\]"),
        (np.zeros((2, 28, 28), np.uint8), np.array([-1, 3]), r"in \[0, 9\]"),
        (np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), "no images"),
        (
            np.zeros((2, 28, 28), np.uint8),
            np.array(["3", "7"]),
            "labels have dtype <U1",
        ),
        (np.zeros((2, 28, 28), np.uint8), np.array([3.0, 7.5]), "dtype float64"),
    ],
)
def test_validate_digits_rejects_bad_data(images, labels, message, dataset_params):
    with pytest.raises(ValueError, match=message):
        validate_digits(images, labels, dataset_params)


def test_validate_digits_uses_the_configured_classes(sample_train):
    images, labels = sample_train
    three_classes = DatasetParams(name="abc", class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="for the 3 'dataset.class_names'"):
        validate_digits(images, labels, three_classes)


def test_split_is_stratified_seeded_and_sized(sample_train):
    images, labels = sample_train
    split = SplitParams(validation_fraction=0.2, seed=3)
    train_images, train_labels, val_images, val_labels = split_validation_set(
        images, labels, split
    )
    assert len(val_images) == len(val_labels) == 120
    assert len(train_images) == len(train_labels) == 480
    # Stratified: every class keeps its share in the validation set, to within one image.
    expected = np.bincount(labels, minlength=10) * 0.2
    assert np.abs(np.bincount(val_labels, minlength=10) - expected).max() <= 1
    # Seeded: the same seed gives the same split, another seed another one.
    again = split_validation_set(images, labels, split)
    np.testing.assert_array_equal(again[2], val_images)
    other = split_validation_set(
        images, labels, SplitParams(validation_fraction=0.2, seed=4)
    )
    assert not np.array_equal(other[2], val_images)
    # Pairs stay together: every split image is a training image with its own label.
    lookup = {image.tobytes(): label for image, label in zip(images, labels)}
    assert all(
        lookup[image.tobytes()] == label for image, label in zip(val_images, val_labels)
    )


def test_a_zero_validation_fraction_keeps_every_image_for_training(sample_train):
    images, labels = sample_train
    train_images, train_labels, val_images, val_labels = split_validation_set(
        images, labels, SplitParams(validation_fraction=0, seed=3)
    )
    np.testing.assert_array_equal(train_images, images)
    np.testing.assert_array_equal(train_labels, labels)
    assert val_images.shape == (0, *images.shape[1:]) and val_labels.shape == (0,)


def test_split_does_not_mutate_its_inputs(sample_train):
    images, labels = sample_train
    before = images.copy(), labels.copy()
    split_validation_set(images, labels, SplitParams(validation_fraction=0.1, seed=0))
    np.testing.assert_array_equal(images, before[0])
    np.testing.assert_array_equal(labels, before[1])


def test_one_hot_labels_encodes_each_label_as_its_class(dataset_params):
    labels = np.array([0, 9, 3])
    targets = one_hot_labels(labels, dataset_params)
    assert targets.dtype == np.float32 and targets.shape == (3, 10)
    np.testing.assert_array_equal(targets.argmax(axis=1), labels)
    np.testing.assert_array_equal(targets.sum(axis=1), [1, 1, 1])


@pytest.mark.parametrize("fraction", [0.001, 0.999])
def test_a_split_leaving_a_class_out_is_an_error_naming_the_parameter(
    sample_train, fraction
):
    images, labels = sample_train  # a few hundred images: 0.001 holds out one
    with pytest.raises(ValueError, match=rf"validation_fraction={fraction} holds out"):
        split_validation_set(
            images, labels, SplitParams(validation_fraction=fraction, seed=0)
        )


def test_the_fractions_a_split_error_suggests_are_accepted():
    # 900 images of 10 classes: from 10 to 890 images may be held out.
    images, labels = np.zeros((900, 28, 28), np.uint8), np.arange(900) % 10
    with pytest.raises(ValueError, match="set it between") as refusal:
        split_validation_set(
            images, labels, SplitParams(validation_fraction=0.999, seed=0)
        )
    suggested = re.search(r"between (\S+) and (\S+),", str(refusal.value)).groups()
    for fraction in map(float, suggested):
        split = split_validation_set(
            images, labels, SplitParams(validation_fraction=fraction, seed=0)
        )
        assert 10 <= len(split[2]) <= 890


def test_a_class_with_one_image_is_an_error_naming_it(sample_train):
    images, labels = sample_train
    keep = np.flatnonzero(labels != 3)
    images, labels = images[[*keep, 0]], labels[[*keep, 0]]
    labels[-1] = 3  # one image of class 3
    with pytest.raises(ValueError, match="class 3 has one"):
        split_validation_set(
            images, labels, SplitParams(validation_fraction=0.1, seed=0)
        )
