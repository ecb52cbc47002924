"""``open_catalog``: the project's catalog for scripts, as ``kedro run`` sees it; and
``validation_digits``, the images a run holds out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from mnist_classifier.catalog import open_catalog, validation_digits


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
    split = catalog.load("params:data_processing")
    assert (split.seed, split.validation_fraction) == (7, 0.1)


def test_one_seed_for_the_split_and_training(project_copy: Path):
    """Without ``--params seed=...``, the split and training take globals.yml's seed,
    so an environment that sets it there reseeds both."""
    globals_yml = project_copy / "conf" / "test" / "globals.yml"
    globals_yml.write_text(globals_yml.read_text() + "seed: 5\n")

    catalog = open_catalog(project_copy, env="test")

    split, training = (
        catalog.load(f"params:{g}") for g in ("data_processing", "training")
    )
    assert split.seed == training.seed == 5


def test_validation_digits_are_those_a_run_holds_out(project_copy: Path):
    """``validation_digits`` gives the images a run with the same seed held out, and
    other images for another seed."""
    bootstrap_project(project_copy)
    with KedroSession.create(
        project_path=project_copy, env="test", runtime_params={"seed": 7}
    ) as session:
        outputs = session.run(pipeline_names=["data_processing"])
    held_out = outputs["validation_images"].load()  # a MemoryDataset: the run's output

    images, labels = validation_digits(open_catalog(project_copy, env="test", seed=7))
    other, _ = validation_digits(open_catalog(project_copy, env="test", seed=8))

    assert np.array_equal(images, held_out)
    assert len(labels) == len(images) and labels.dtype.kind in "iu"
    assert not np.array_equal(other, held_out)
