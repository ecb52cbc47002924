"""The model guard stops, in one line, runs whose model is missing or does not fit."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.io.core import Version

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.datasets import ClassifierDataset
from mnist_classifier.hooks import ModelGuardError, ModelGuardHook
from mnist_classifier.params import DatasetParams
from mnist_classifier.pipelines.inference import create_pipeline as inference
from mnist_classifier.pipelines.training import create_pipeline as training

VERSION = "2026-01-01T00.00.00.000Z"


def catalog(folder: Path, dataset: DatasetParams, load: str | None = None):
    model = ClassifierDataset(
        filepath=str(folder / "classifier.keras"), version=Version(load, None)
    )
    return DataCatalog(
        {"classifier": model, "params:dataset": MemoryDataset(dataset.model_dump())}
    )


def save(folder: Path, model_card, version: str = VERSION) -> None:
    model = keras.Sequential(
        [keras.Input((28, 28), dtype="uint8"), keras.layers.Flatten()]
    )
    ClassifierDataset(
        filepath=str(folder / "classifier.keras"), version=Version(None, version)
    ).save(TrainedClassifier(model, model_card))


def check(catalog: DataCatalog, pipeline=None, load_versions=None) -> None:
    ModelGuardHook().before_pipeline_run(
        {"load_versions": load_versions or {}}, pipeline or inference(), catalog
    )


def test_without_a_model_the_error_says_to_run_kedro_run(tmp_path, dataset_params):
    with pytest.raises(ModelGuardError) as error:
        check(catalog(tmp_path, dataset_params))
    assert "\n" not in error.value.message
    assert "run `kedro run` first" in error.value.message


def test_a_version_that_does_not_exist_is_named(tmp_path, dataset_params, model_card):
    save(tmp_path, model_card)
    missing = "2020-01-01T00.00.00.000Z"
    with pytest.raises(ModelGuardError, match=f"no version {missing}"):
        check(
            catalog(tmp_path, dataset_params, load=missing),
            load_versions={"classifier": missing},
        )


def test_runs_that_have_or_make_a_fitting_model_pass(
    tmp_path, dataset_params, model_card
):
    check(catalog(tmp_path, dataset_params), pipeline=training())  # makes one
    save(tmp_path, model_card)
    check(catalog(tmp_path, dataset_params))


def test_a_model_of_other_classes_is_refused_naming_version_and_classes(
    tmp_path, dataset_params, model_card
):
    fashion = model_card.model_copy(
        update={"dataset": "fashion", "class_names": ["T-shirt", "Trouser", "Bag"]}
    )
    save(tmp_path, fashion)
    with pytest.raises(ModelGuardError) as error:
        check(catalog(tmp_path, dataset_params))
    message = error.value.message
    assert "\n" not in message and VERSION in message
    assert "'fashion' with classes T-shirt, Trouser, Bag" in message
    assert "expects 'mnist'" in message and "--load-versions classifier:" in message


def test_an_unversioned_model_of_other_classes_is_refused_without_a_version(
    tmp_path, dataset_params, model_card
):
    fashion = model_card.model_copy(update={"class_names": ["T-shirt", "Trouser"]})
    model = keras.Sequential(
        [keras.Input((28, 28), dtype="uint8"), keras.layers.Flatten()]
    )
    path = str(tmp_path / "classifier.keras")
    ClassifierDataset(filepath=path).save(TrainedClassifier(model, fashion))
    unversioned = DataCatalog(
        {
            "classifier": ClassifierDataset(filepath=path),
            "params:dataset": MemoryDataset(dataset_params.model_dump()),
        }
    )
    with pytest.raises(ModelGuardError) as error:
        check(unversioned)
    message = error.value.message
    assert message.startswith("The model 'classifier' was trained on 'mnist' with")
    assert message.endswith(
        "expects 'mnist' with classes 0, 1, 2, 3, 4, 5, 6, 7, 8, 9. Train one "
        "(`kedro run` in this configuration)."
    )


def test_a_version_without_its_card_is_refused_in_one_line(
    tmp_path, dataset_params, model_card
):
    save(tmp_path, model_card)
    (tmp_path / "classifier.keras" / VERSION / "model_card.json").unlink()
    with pytest.raises(ModelGuardError, match="has no model_card.json") as error:
        check(catalog(tmp_path, dataset_params))
    assert "\n" not in error.value.message and ".." not in error.value.message


def test_a_truncated_model_stops_the_run_naming_version_and_what_to_do(
    tmp_path, dataset_params, model_card
):
    older = "2025-12-31T00.00.00.000Z"
    save(tmp_path, model_card, version=older)
    save(tmp_path, model_card)
    keras_file = tmp_path / "classifier.keras" / VERSION / "classifier.keras"
    keras_file.write_bytes(keras_file.read_bytes()[: keras_file.stat().st_size // 2])
    with pytest.raises(ModelGuardError) as error:
        check(catalog(tmp_path, dataset_params))
    message = error.value.message
    assert "\n" not in message
    assert f"version {VERSION}" in message and "not a complete Keras file" in message
    assert f"--load-versions classifier:{older}" in message
    assert message.endswith("train a new model with `kedro run`.")
    assert ".." not in message
    check(  # the advice works
        catalog(tmp_path, dataset_params, load=older),
        load_versions={"classifier": older},
    )


def test_a_model_damaged_on_disk_fails_its_checksum(
    tmp_path, dataset_params, model_card
):
    save(tmp_path, model_card)
    keras_file = tmp_path / "classifier.keras" / VERSION / "classifier.keras"
    data = bytearray(keras_file.read_bytes())
    weights = data.find(b"model.weights.h5") + 200  # inside the weights, not a header
    data[weights] ^= 0xFF
    keras_file.write_bytes(bytes(data))
    with pytest.raises(ModelGuardError, match="fails its checksum") as error:
        check(catalog(tmp_path, dataset_params))
    assert "train a new model" in error.value.message
