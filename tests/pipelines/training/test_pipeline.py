"""Runs the training pipeline with a real DataCatalog on a slice of the MNIST sample."""

from __future__ import annotations

from pathlib import Path

import keras
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.tensorflow import TensorFlowModelDataset

from mnist_classifier.params import (
    ArchitectureParams,
    FitParams,
    SplitParams,
    TrainingParams,
)
from mnist_classifier.pipelines.data_processing.nodes import prepare_model_input
from mnist_classifier.pipelines.training import create_pipeline
from mnist_classifier.settings import CONFIG_LOADER_ARGS


def test_pipeline_saves_a_safe_loadable_model_and_its_history(
    tmp_path: Path, sample_train, dataset_params
):
    x, y = prepare_model_input(*sample_train, dataset_params)
    params = TrainingParams(
        seed=0,
        architecture=ArchitectureParams(conv_filters=[4]),
        fit=FitParams(batch_size=64, epochs=1),
    )
    catalog = DataCatalog(
        {
            "train_x": MemoryDataset(x[:500]),
            "train_y": MemoryDataset(y[:500]),
            "validation_x": MemoryDataset(x[500:]),
            "validation_y": MemoryDataset(y[500:]),
            "params:training": MemoryDataset(params),
            "classifier": TensorFlowModelDataset(
                filepath=str(tmp_path / "classifier.keras"), version=None
            ),
            "training_history": JSONDataset(filepath=str(tmp_path / "history.json")),
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    model = keras.saving.load_model(tmp_path / "classifier.keras", safe_mode=True)
    assert model.output_shape == (None, 10)
    history = catalog.load("training_history")
    assert history["epochs"] == 1 and history["parameters"] == model.count_params()
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
    assert accurate.optimizer == default.optimizer
