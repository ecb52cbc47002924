"""Runs the data_processing pipeline on the MNIST sample with a real DataCatalog."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mnist_classifier.params import SplitParams
from mnist_classifier.pipelines.data_processing import create_pipeline
from mnist_classifier.pipelines.data_processing.pipeline import TEST_SET


def test_pipeline_checks_splits_and_encodes_the_raw_arrays(
    sample_train, sample_test, dataset_params
):
    catalog = DataCatalog(
        {
            "raw_train_images": MemoryDataset(sample_train[0]),
            "raw_train_labels": MemoryDataset(sample_train[1]),
            "raw_test_images": MemoryDataset(sample_test[0]),
            "raw_test_labels": MemoryDataset(sample_test[1]),
            "params:dataset": MemoryDataset(dataset_params),
            "params:data_processing": MemoryDataset(
                SplitParams(validation_fraction=0.25, seed=1)
            ),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    train, validation, test = (
        catalog.load(f"{part}_images") for part in ["train", "validation", "test"]
    )
    train_y, validation_y = (
        catalog.load(f"{part}_targets") for part in ["train", "validation"]
    )
    # The images stay MNIST's uint8 pixels: the model scales them itself.
    assert train.shape == (450, 28, 28) and validation.shape == (150, 28, 28)
    assert test.shape == (200, 28, 28)
    assert {x.dtype for x in (train, validation, test)} == {np.dtype(np.uint8)}
    assert train_y.shape == (450, 10) and validation_y.shape == (150, 10)
    np.testing.assert_array_equal(catalog.load("test_labels"), sample_test[1])
    # Train and validation together are exactly the original training set.
    assert sorted(np.concatenate([train_y, validation_y]).argmax(axis=1)) == sorted(
        sample_train[1]
    )


@pytest.mark.parametrize("bad", ["train", "test"])
def test_bad_data_is_named_by_its_catalog_entries(
    bad, sample_train, sample_test, dataset_params
):
    """Both sets pass through the same node function: its error says which is wrong."""
    arrays = {"train": sample_train, "test": sample_test}
    catalog = DataCatalog(
        {
            **{
                f"raw_{split}_{kind}": MemoryDataset(
                    array + 10 * (split == bad and kind == "labels")
                )
                for split, pair in arrays.items()
                for kind, array in zip(["images", "labels"], pair)
            },
            "params:dataset": MemoryDataset(dataset_params),
            "params:data_processing": MemoryDataset(
                SplitParams(validation_fraction=0.25, seed=1)
            ),
        }
    )
    with pytest.raises(ValueError) as error:
        SequentialRunner().run(create_pipeline(), catalog)
    assert str(error.value).startswith(
        f"Invalid digit data in raw_{bad}_images and raw_{bad}_labels: labels range"
    )


def test_the_test_set_nodes_need_only_the_raw_test_files():
    """The evaluate pipeline runs just these nodes: they must not need training data."""
    test_part = create_pipeline().only_nodes_with_tags(TEST_SET)
    assert test_part.inputs() == {
        "raw_test_images",
        "raw_test_labels",
        "params:dataset",
    }
    assert test_part.outputs() == {"test_images", "test_labels"}
