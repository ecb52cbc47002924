"""Runs the training pipeline with a real DataCatalog on a slice of the MNIST sample."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from mnist_classifier.datasets import ClassifierDataset
from mnist_classifier.params import (
    ArchitectureParams,
    FitParams,
    OptimizerParams,
    SplitParams,
    TensorFlowParams,
    TrainingParams,
)
from mnist_classifier.pipelines.data_processing.nodes import one_hot_labels
from mnist_classifier.pipelines.training import create_pipeline
from mnist_classifier.settings import CONFIG_LOADER_ARGS


def test_pipeline_saves_a_model_that_classifies_from_its_file_alone(
    tmp_path: Path, sample_train, dataset_params
):
    images, labels = sample_train
    y = one_hot_labels(labels, dataset_params)
    params = TrainingParams(
        seed=0,
        architecture=ArchitectureParams(conv_filters=[8]),
        optimizer=OptimizerParams(learning_rate=0.01),
        fit=FitParams(batch_size=32, epochs=3),
    )
    catalog = DataCatalog(
        {
            "train_images": MemoryDataset(images[:500]),
            "train_targets": MemoryDataset(y[:500]),
            "validation_images": MemoryDataset(images[500:]),
            "validation_targets": MemoryDataset(y[500:]),
            "params:training": MemoryDataset(params),
            "params:dataset": MemoryDataset(dataset_params),
            "classifier": ClassifierDataset(
                filepath=str(tmp_path / "classifier.keras")
            ),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    # The .keras file alone: uint8 digits in, the classes' probabilities out.
    model = keras.saving.load_model(tmp_path / "classifier.keras", safe_mode=True)
    probabilities = model.predict(images[500:], verbose=0)
    assert probabilities.shape == (100, 10)
    assert np.mean(probabilities.argmax(1) == labels[500:]) > 0.5  # chance: 0.1
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["dataset"] == "mnist" and card["class_names"] == list("0123456789")
    history = card["history"]
    assert (
        len(history["records"]) == 3 and history["parameters"] == model.count_params()
    )
    assert history["hyperparameters"]["seed"] == 0


def parameters(env: str) -> dict:
    """The parameters a `kedro run --env <env>` gets."""
    conf = Path(__file__).parents[3] / "conf"
    return OmegaConfigLoader(str(conf), env=env, **CONFIG_LOADER_ARGS)["parameters"]


def test_the_accurate_environment_ensembles_deeper_networks_trained_on_all_images():
    default, accurate = parameters("local"), parameters("accurate")
    split = SplitParams(**accurate["data_processing"])
    assert split.validation_fraction == 0
    assert split.seed == SplitParams(**default["data_processing"]).seed
    default, accurate = (
        TrainingParams(**params["training"]) for params in (default, accurate)
    )
    assert (default.ensemble_size, accurate.ensemble_size) == (1, 4)
    assert accurate.fit.early_stopping_patience == 0  # nothing to stop on
    assert accurate.fit.epochs > default.fit.epochs
    assert accurate.architecture.convs_per_block > default.architecture.convs_per_block
    assert accurate.architecture.augmentation.rotation > 0
    # The recipe chosen on the validation split (scripts/select_recipe.py), the
    # validation split aside: the same batch, peak and epochs, whatever the default's.
    assert (accurate.fit.batch_size, accurate.optimizer.learning_rate) == (256, 0.006)
    assert accurate.fit.epochs == 12 and accurate.architecture.dropout == 0.25
    assert accurate.optimizer.name == default.optimizer.name


def test_tuning_defaults_follow_the_core_count():
    """On 2 cores the measured choices; above, TensorFlow's and tf.data's own."""
    defaults = parameters("local")
    tensorflow = TensorFlowParams(**defaults["tensorflow"])
    fit = TrainingParams(**defaults["training"]).fit
    assert tensorflow.inter_op_threads_for(cores=2) == 1
    assert tensorflow.inter_op_threads_for(cores=8) is None  # TensorFlow's default
    assert fit.autotune_enabled(cores=2) is False
    assert fit.autotune_enabled(cores=8) is True
    assert TensorFlowParams(inter_op_threads=3).inter_op_threads_for(cores=2) == 3
