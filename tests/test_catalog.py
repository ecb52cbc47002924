"""``open_catalog``: the project's catalog for scripts, as ``kedro run`` sees it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mnist_classifier.catalog import open_catalog


def test_the_catalog_of_an_environment_with_runtime_parameters(
    project_copy: Path, sample_test: tuple[np.ndarray, np.ndarray]
):
    """conf/test's raw data is the shipped sample; runtime parameters reach the
    parameters as ``kedro run --params`` does; the rest is the configuration's."""
    catalog = open_catalog(project_copy, env="test", seed=7)

    images, labels = sample_test
    assert np.array_equal(catalog.load("raw_test_images"), images)
    assert np.array_equal(catalog.load("raw_test_labels"), labels)
    assert catalog.load("params:dataset").name == "mnist_sample"  # conf/test/globals
    split = catalog.load("params:data_processing")  # seed: ${runtime_params:seed, 42}
    assert (split.seed, split.validation_fraction) == (7, 0.1)
