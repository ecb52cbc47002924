"""Unit tests of the training nodes: fitting, history, ensembles, the packaged model."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from pydantic import ValidationError

from mnist_classifier.classifier import TrainedClassifier, TrainingHistory
from mnist_classifier.params import (
    ArchitectureParams,
    FitParams,
    OptimizerParams,
    SplitParams,
    TrainingParams,
)
from mnist_classifier.pipelines.data_processing.nodes import one_hot_labels
from mnist_classifier.pipelines.training.nodes import package_classifier, train_model

TINY = ArchitectureParams(conv_filters=[4, 8], dropout=0.1)


def tiny_training(**changes) -> TrainingParams:
    params = {
        "seed": 7,
        "architecture": TINY,
        "optimizer": OptimizerParams(learning_rate=0.01),
        "fit": FitParams(batch_size=32, epochs=3, early_stopping_patience=0),
    }
    return TrainingParams(**{**params, **changes})


@pytest.fixture(scope="module")
def small_split(sample_train, dataset_params):
    images, labels = sample_train
    y = one_hot_labels(labels, dataset_params)
    return images[:480], y[:480], images[480:], y[480:]


def accuracy(model: keras.Model, images: np.ndarray, targets: np.ndarray) -> float:
    return float(
        np.mean(model.predict(images, verbose=0).argmax(1) == targets.argmax(1))
    )


def test_train_model_learns_and_records_its_history(small_split, caplog):
    caplog.set_level("INFO", logger="mnist_classifier")
    trained = train_model(*small_split, tiny_training())
    history = trained.history
    assert [record.epoch for record in history.records] == [1, 2, 3]
    first, last = history.records[0], history.records[-1]
    assert first.val_loss is not None and first.val_accuracy is not None
    assert first.learning_rate > 0 and first.seconds > 0
    assert last.loss < first.loss
    assert history.epochs == 3 and history.networks == 1 and history.validated
    assert history.training_seconds > 0
    assert (history.training_images, history.validation_images) == (480, 120)
    assert history.parameters == trained.model.count_params()
    assert history.hyperparameters.architecture.conv_filters == [4, 8]
    # Better than chance (10%) on held-out digits after three short epochs.
    assert accuracy(trained.model, *small_split[2:]) > 0.5
    epoch_lines = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Epoch ")
    ]
    assert len(epoch_lines) == 3
    assert "val_accuracy" in epoch_lines[0] and "seconds" in epoch_lines[0]


def test_train_model_is_reproducible_with_a_seed(small_split):
    params = tiny_training(
        fit=FitParams(batch_size=32, epochs=1, early_stopping_patience=0)
    )
    first = train_model(*small_split, params).history.records[0]
    second = train_model(*small_split, params).history.records[0]
    assert first.loss == pytest.approx(second.loss, rel=1e-5)
    assert first.val_loss == pytest.approx(second.val_loss, rel=1e-5)


def trained_on_misleading_validation(
    small_split, fit: FitParams
) -> tuple[TrainingHistory, float]:
    """Validation labels shifted by one class: the better the network learns the
    training set, the worse its validation loss. The history, and the validation loss
    of the weights the model holds."""
    train_x, train_y, validation_x, validation_y = small_split
    shifted = np.roll(validation_y, 1, axis=1)
    trained = train_model(
        train_x, train_y, validation_x, shifted, tiny_training(fit=fit)
    )
    loss, _ = trained.model.evaluate(validation_x, shifted, batch_size=1024, verbose=0)
    return trained.history, loss


def test_early_stopping_keeps_the_best_epoch(small_split):
    # The validation loss grows, so training stops early.
    history, held_loss = trained_on_misleading_validation(
        small_split, FitParams(batch_size=32, epochs=12, early_stopping_patience=2)
    )
    assert history.epochs < 12
    losses = [record.val_loss for record in history.records]
    assert history.best_epoch == int(np.argmin(losses)) + 1 < history.epochs
    # The model holds the weights of that epoch, not the last one's.
    assert held_loss == pytest.approx(losses[history.best_epoch - 1], rel=1e-4)
    assert held_loss != pytest.approx(losses[-1], rel=1e-2)


def test_without_early_stopping_the_last_epoch_is_kept_though_validated(small_split):
    # The validation loss grows, so its least is an early epoch; with no early
    # stopping the weights kept, and so the card's best_epoch, are the last.
    history, held_loss = trained_on_misleading_validation(
        small_split, FitParams(batch_size=32, epochs=4, early_stopping_patience=0)
    )
    losses = [record.val_loss for record in history.records]
    assert history.validated and int(np.argmin(losses)) + 1 < 4
    assert history.best_epoch == history.epochs == 4
    assert held_loss == pytest.approx(losses[-1], rel=1e-4)


def test_training_without_validation_images_keeps_the_last_epoch(small_split):
    train_x, train_y, validation_x, validation_y = small_split
    no_validation = validation_x[:0], validation_y[:0]
    trained = train_model(train_x, train_y, *no_validation, tiny_training())
    history = trained.history
    assert history.epochs == history.best_epoch == 3 and not history.validated
    assert history.records[-1].val_loss is None
    assert accuracy(trained.model, validation_x, validation_y) > 0.5


def test_early_stopping_without_validation_images_is_refused(small_split):
    train_x, train_y, validation_x, validation_y = small_split
    params = tiny_training(
        fit=FitParams(batch_size=32, epochs=3, early_stopping_patience=2)
    )
    with pytest.raises(ValueError, match="early_stopping_patience is 2.*fraction is 0"):
        train_model(train_x, train_y, validation_x[:0], validation_y[:0], params)


def test_an_ensemble_averages_networks_and_loads_safely(small_split, tmp_path):
    params = tiny_training(
        fit=FitParams(batch_size=32, epochs=1, early_stopping_patience=0),
        ensemble_size=2,
    )
    trained = train_model(*small_split, params)
    model, history = trained.model, trained.history
    assert [record.member for record in history.records] == [1, 2]
    assert history.epochs == 2 and history.networks == 2
    members = [layer for layer in model.layers if isinstance(layer, keras.Sequential)]
    assert [member.name for member in members] == ["network_1", "network_2"]
    validation_x = small_split[2]
    expected = np.mean(
        [member.predict(validation_x, verbose=0) for member in members], 0
    )
    np.testing.assert_allclose(
        model.predict(validation_x, verbose=0), expected, atol=1e-6
    )
    model.save(tmp_path / "ensemble.keras")
    loaded = keras.saving.load_model(tmp_path / "ensemble.keras", safe_mode=True)
    np.testing.assert_allclose(
        loaded.predict(validation_x, verbose=0), expected, atol=1e-6
    )


def test_package_classifier_attaches_the_dataset_classes_and_history(
    small_split, dataset_params
):
    params = tiny_training(
        fit=FitParams(batch_size=32, epochs=1, early_stopping_patience=0)
    )
    trained = train_model(*small_split, params)
    classifier = package_classifier(trained, dataset_params)
    assert isinstance(classifier, TrainedClassifier)
    assert classifier.model is trained.model
    card = classifier.card
    assert card.dataset == "mnist" and card.class_names == dataset_params.class_names
    assert card.image_shape == (28, 28) and card.history == trained.history
    probabilities = classifier.predict(small_split[2][:5])
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"seed": 2**32 - 2, "ensemble_size": 3}, "last network seed 4294967296"),
    ],
)
def test_a_seed_numpy_cannot_take_is_refused_before_training(changes, message):
    with pytest.raises(ValidationError, match=message):
        tiny_training(**changes)
    with pytest.raises(ValidationError, match="seed"):
        SplitParams(validation_fraction=0.1, seed=-1)
