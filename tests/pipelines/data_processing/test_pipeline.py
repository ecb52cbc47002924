"""Runs the data_processing pipeline on the MNIST sample with a real DataCatalog."""

from __future__ import annotations

import numpy as np
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mnist_classifier.params import SplitParams
from mnist_classifier.pipelines.data_processing import create_pipeline


def test_pipeline_turns_raw_arrays_into_model_input(
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

    train_x, validation_x, test_x = (
        catalog.load(f"{p}_x") for p in ["train", "validation", "test"]
    )
    train_y, validation_y, test_y = (
        catalog.load(f"{p}_y") for p in ["train", "validation", "test"]
    )
    assert train_x.shape == (450, 28, 28, 1) and validation_x.shape == (150, 28, 28, 1)
    assert test_x.shape == (200, 28, 28, 1)
    assert train_y.shape == (450, 10) and validation_y.shape == (150, 10)
    for x in (train_x, validation_x, test_x):
        assert x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    np.testing.assert_array_equal(test_y.argmax(axis=1), sample_test[1])
    # Train and validation together are exactly the original training set.
    assert sorted(np.concatenate([train_y, validation_y]).argmax(axis=1)) == sorted(
        sample_train[1]
    )
