"""ClassifierDataset: a model and its card, one version folder, written whole or not."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.datasets import ClassifierDataset

VERSION = "2026-01-01T00.00.00.000Z"


@pytest.fixture(scope="module")
def classifier(model_card) -> TrainedClassifier:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((28, 28), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    return TrainedClassifier(model, model_card)


def dataset(folder: Path, load: str | None = None, save: str | None = None):
    return ClassifierDataset(
        filepath=str(folder / "classifier.keras"), version=Version(load, save)
    )


def test_a_version_round_trips_model_and_card(tmp_path, classifier):
    dataset(tmp_path, save=VERSION).save(classifier)

    folder = tmp_path / "classifier.keras" / VERSION
    assert sorted(path.name for path in folder.iterdir()) == [
        "classifier.keras",
        "model_card.json",
    ]
    loaded = dataset(tmp_path).load()
    assert loaded.card == classifier.card
    digits = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    np.testing.assert_allclose(
        loaded.predict(digits), classifier.predict(digits), atol=1e-6
    )
    assert dataset(tmp_path).load_card() == classifier.card


def test_an_unfinished_save_is_never_the_latest(tmp_path, classifier):
    dataset(tmp_path, save=VERSION).save(classifier)
    # What a save killed before its rename leaves: a card and a partial model file.
    later = tmp_path / "classifier.keras" / "2026-02-01T00.00.00.000Z"
    later.mkdir()
    (later / "model_card.json").write_text(classifier.card.model_dump_json())
    (later / "classifier.keras.partial").write_bytes(b"PK\x03\x04")
    latest = dataset(tmp_path)
    assert latest.resolve_load_version() == VERSION
    assert latest.load().card == classifier.card


def test_a_failed_unversioned_save_keeps_the_old_model_and_card_and_no_partial(
    tmp_path, classifier, monkeypatch
):
    target = ClassifierDataset(filepath=str(tmp_path / "classifier.keras"))
    target.save(classifier)
    retrained = classifier.card.model_copy(update={"dataset": "retrained"})

    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(target._fs, "put_file", full_disk)
    with pytest.raises(DatasetError, match="No space left"):
        target.save(TrainedClassifier(classifier.model, retrained))

    assert target.load_card() == classifier.card
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "classifier.keras",
        "model_card.json",
    ]


def test_a_damaged_model_file_names_its_version(tmp_path, classifier):
    dataset(tmp_path, save=VERSION).save(classifier)
    model = tmp_path / "classifier.keras" / VERSION / "classifier.keras"
    model.write_bytes(model.read_bytes()[:1000])  # truncated
    with pytest.raises(DatasetError, match=rf"\(version {VERSION}\) cannot be read"):
        dataset(tmp_path).load()


def test_an_invalid_card_names_its_field(tmp_path, classifier):
    dataset(tmp_path, save=VERSION).save(classifier)
    card = tmp_path / "classifier.keras" / VERSION / "model_card.json"
    card.write_text(card.read_text().replace('"dataset"', '"data_set"'))
    with pytest.raises(DatasetError) as error:
        dataset(tmp_path).load_card()
    assert str(error.value).startswith(
        f"The classifier at '{tmp_path}/classifier.keras/{VERSION}/classifier.keras' "
        f"(version {VERSION}) has an invalid model_card.json (dataset: Field required;"
    )


def test_a_version_that_is_not_there_is_not_called_an_old_one(tmp_path, classifier):
    dataset(tmp_path, save=VERSION).save(classifier)
    missing = "2020-01-01T00.00.00.000Z"
    with pytest.raises(DatasetError, match=rf"\(version {missing}\) does not exist\."):
        dataset(tmp_path, load=missing).load_card()


def test_the_file_must_be_a_keras_file(tmp_path):
    with pytest.raises(DatasetError, match=r"must end in '\.keras'"):
        ClassifierDataset(filepath=str(tmp_path / "model.h5"))


def test_exists_only_once_a_model_is_saved(tmp_path, classifier):
    assert not dataset(tmp_path).exists()
    dataset(tmp_path, save=VERSION).save(classifier)
    assert dataset(tmp_path).exists()
