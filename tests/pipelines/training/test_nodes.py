"""Unit tests of the training nodes and the helpers they use."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_classifier.params import (
    ArchitectureParams,
    AugmentationParams,
    FitParams,
    OptimizerParams,
    ScheduleParams,
    TrainingParams,
)
from mnist_classifier.pipelines.data_processing.nodes import prepare_model_input
from mnist_classifier.pipelines.training.nodes import (
    build_model,
    learning_rate_schedule,
    make_input_pipeline,
    make_optimizer,
    train_model,
)

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
    x, y = prepare_model_input(images, labels, dataset_params)
    return x[:480], y[:480], x[480:], y[480:]


def test_build_model_follows_the_architecture():
    architecture = ArchitectureParams(
        crop=2,
        conv_filters=[8, 16, 32],
        convs_per_block=2,
        dense_units=64,
        dropout=0.25,
        augmentation=AugmentationParams(translation=0.1, rotation=0.05, zoom=0.1),
    )
    model = build_model((28, 28, 1), 10, architecture)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:4] == [
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
        "Cropping2D",
    ]
    assert model.layers[3].output.shape == (None, 24, 24, 1)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.filters for conv in convs] == [8, 8, 16, 16, 32, 32]
    assert kinds.count("BatchNormalization") == 6 and kinds.count("MaxPooling2D") == 3
    assert [
        layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)
    ] == [
        64,
        10,
    ]
    assert model.output_shape == (None, 10)


def test_build_model_without_optional_parts():
    architecture = ArchitectureParams(conv_filters=[8], batch_norm=False, dropout=0)
    kinds = [
        type(layer).__name__
        for layer in build_model((28, 28, 1), 3, architecture).layers
    ]
    assert kinds == ["Conv2D", "MaxPooling2D", "ReLU", "Flatten", "Dropout", "Dense"]


@pytest.mark.parametrize(("shape", "crop"), [((28, 28, 1), 11), ((12, 16, 1), 3)])
def test_build_model_refuses_a_crop_that_leaves_too_few_pixels(shape, crop):
    architecture = ArchitectureParams(crop=crop, conv_filters=[8, 16, 32])
    with pytest.raises(ValueError, match=r"cropped by .* Lower `crop`"):
        build_model(shape, 10, architecture)


def test_onecycle_schedule_warms_up_then_anneals():
    schedule = learning_rate_schedule(
        OptimizerParams(learning_rate=0.01), ScheduleParams(warmup_fraction=0.2), 100
    )
    rates = [float(schedule(step)) for step in [0, 10, 20, 60, 100]]
    assert rates[0] == pytest.approx(0.01 / 25)
    assert rates[0] < rates[1] < rates[2] == pytest.approx(0.01)
    assert rates[2] > rates[3] > rates[4] and rates[4] < 1e-4


def test_constant_and_cosine_schedules():
    optimizer = OptimizerParams(learning_rate=0.01)
    assert (
        learning_rate_schedule(optimizer, ScheduleParams(name="constant"), 100) == 0.01
    )
    cosine = learning_rate_schedule(optimizer, ScheduleParams(name="cosine"), 100)
    assert float(cosine(0)) == pytest.approx(0.01) and float(cosine(100)) < 1e-6


@pytest.mark.parametrize(
    ("name", "kind"),
    [("adam", "Adam"), ("adamw", "AdamW"), ("sgd", "SGD"), ("rmsprop", "RMSprop")],
)
def test_make_optimizer_builds_the_named_optimizer(name, kind):
    optimizer = make_optimizer(
        OptimizerParams(name=name, learning_rate=0.02),
        ScheduleParams(name="constant"),
        10,
    )
    assert type(optimizer).__name__ == kind
    assert float(optimizer.learning_rate) == pytest.approx(0.02)


def test_input_pipeline_batches_and_shuffles_reproducibly():
    x = np.arange(10, dtype=np.float32)[:, None]
    y = np.arange(10, dtype=np.float32)
    batches = [b[0].numpy().ravel().tolist() for b in make_input_pipeline(x, y, 4, 0)]
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10)) and sum(batches, []) != list(
        range(10)
    )
    again = [b[0].numpy().ravel().tolist() for b in make_input_pipeline(x, y, 4, 0)]
    assert again == batches
    in_order = [b[0].numpy().ravel().tolist() for b in make_input_pipeline(x, y, 4)]
    assert sum(in_order, []) == list(range(10))


def test_input_pipeline_runs_without_the_autotuner():
    x = np.zeros((3, 1), dtype=np.float32)
    dataset = make_input_pipeline(x, x, 2, 0)
    assert dataset.options().autotune.enabled is False
    assert len(list(dataset)) == 2


def test_train_model_learns_and_records_its_history(small_split, caplog):
    caplog.set_level("INFO", logger="mnist_classifier")
    model, history = train_model(*small_split, tiny_training())
    records = history["history"]
    assert [record["epoch"] for record in records] == [1, 2, 3]
    assert {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
        "seconds",
    } <= set(records[0])
    assert records[-1]["loss"] < records[0]["loss"]
    assert history["epochs"] == 3 and history["training_seconds"] > 0
    assert (history["training_images"], history["validation_images"]) == (480, 120)
    assert history["parameters"] == model.count_params()
    assert history["hyperparameters"]["architecture"]["conv_filters"] == [4, 8]
    # Better than chance (10%) on held-out digits after three short epochs.
    validation_x, validation_y = small_split[2:]
    accuracy = (
        model.predict(validation_x, verbose=0).argmax(1) == validation_y.argmax(1)
    ).mean()
    assert accuracy > 0.5
    epoch_lines = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Epoch ")
    ]
    assert (
        len(epoch_lines) == 3
        and "val_accuracy" in epoch_lines[0]
        and "seconds" in epoch_lines[0]
    )


def test_train_model_is_reproducible_with_a_seed(small_split):
    params = tiny_training(
        fit=FitParams(batch_size=32, epochs=1, early_stopping_patience=0)
    )
    first = train_model(*small_split, params)[1]["history"][0]
    second = train_model(*small_split, params)[1]["history"][0]
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-5)
    assert first["val_loss"] == pytest.approx(second["val_loss"], rel=1e-5)


def test_early_stopping_keeps_the_best_epoch(small_split):
    # Validation labels shifted by one class: the better the network learns the
    # training set, the worse its validation loss, so training stops early.
    train_x, train_y, validation_x, validation_y = small_split
    params = tiny_training(
        fit=FitParams(batch_size=32, epochs=12, early_stopping_patience=2)
    )
    model, history = train_model(
        train_x, train_y, validation_x, np.roll(validation_y, 1, axis=1), params
    )
    assert history["epochs"] < 12
    losses = [record["val_loss"] for record in history["history"]]
    assert history["best_epoch"] == int(np.argmin(losses)) + 1 < history["epochs"]


def test_training_without_validation_images_keeps_the_last_epoch(small_split):
    train_x, train_y, validation_x, validation_y = small_split
    no_validation = validation_x[:0], validation_y[:0]
    model, history = train_model(train_x, train_y, *no_validation, tiny_training())
    assert history["epochs"] == history["best_epoch"] == 3
    assert not any(key.startswith("val_") for key in history["history"][-1])
    accuracy = np.mean(
        model.predict(validation_x, verbose=0).argmax(1) == validation_y.argmax(1)
    )
    assert accuracy > 0.5


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
    model, history = train_model(*small_split, params)
    assert [record["member"] for record in history["history"]] == [1, 2]
    assert history["epochs"] == 2
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
