"""Unit tests of the network and how it is fitted (training/network.py)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_classifier.params import (
    ArchitectureParams,
    AugmentationParams,
    OptimizerParams,
    ScheduleParams,
)
from mnist_classifier.pipelines.training.network import (
    build_model,
    learning_rate_schedule,
    make_input_pipeline,
    make_optimizer,
)


def test_build_model_follows_the_architecture():
    architecture = ArchitectureParams(
        crop=2,
        conv_filters=[8, 16, 32],
        convs_per_block=2,
        dense_units=64,
        dropout=0.25,
        augmentation=AugmentationParams(translation=0.1, rotation=0.05, zoom=0.1),
    )
    model = build_model((28, 28), 10, architecture)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:6] == [
        "Rescaling",
        "Reshape",
        "RandomRotation",
        "RandomZoom",
        "RandomTranslation",
        "Cropping2D",
    ]
    assert model.layers[5].output.shape == (None, 24, 24, 1)
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


def test_each_random_layer_draws_its_own_numbers_and_members_differ():
    architecture = ArchitectureParams(
        conv_filters=[8],
        augmentation=AugmentationParams(translation=0.08, rotation=0.02, zoom=0.05),
    )
    batch = np.zeros((256, 28, 28, 1), "float32")

    def draws(seed: int) -> dict[str, np.ndarray]:
        model = build_model((28, 28), 10, architecture, seed=seed)
        layer = {type(layer).__name__: layer for layer in model.layers}
        angle = layer["RandomRotation"].get_random_transformation(batch, training=True)
        zoom = layer["RandomZoom"].get_random_transformation(batch, training=True)
        shift = layer["RandomTranslation"].get_random_transformation(
            batch, training=True
        )
        return {
            "angle": np.asarray(angle["angle"]).ravel(),
            "zoom": np.asarray(zoom["height_zoom"]).ravel(),
            "shift": np.asarray(shift["translations"])[:, 0],
        }

    first, second = draws(42), draws(43)  # an ensemble's first two members
    pairs = [(first["angle"], first["zoom"]), (first["angle"], first["shift"])]
    pairs += [(first[name], second[name]) for name in first]
    for one, other in pairs:  # same seeds drew the same numbers: correlation 1
        assert abs(np.corrcoef(one, other)[0, 1]) < 0.3
    assert np.array_equal(draws(42)["angle"], first["angle"])  # and still seeded


def test_build_model_without_optional_parts():
    architecture = ArchitectureParams(conv_filters=[8], batch_norm=False, dropout=0)
    kinds = [
        type(layer).__name__ for layer in build_model((28, 28), 3, architecture).layers
    ]
    assert kinds == [
        "Rescaling",
        "Reshape",
        "Conv2D",
        "MaxPooling2D",
        "ReLU",
        "Flatten",
        "Dropout",
        "Dense",
    ]


@pytest.mark.parametrize(("shape", "crop"), [((28, 28), 11), ((12, 16), 3)])
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

    def pipeline(**kwargs):
        return make_input_pipeline(x, y, 4, autotune=False, **kwargs)

    batches = [b[0].numpy().ravel().tolist() for b in pipeline(shuffle_seed=0)]
    assert [len(batch) for batch in batches] == [4, 4, 2]
    assert sorted(sum(batches, [])) == list(range(10)) and sum(batches, []) != list(
        range(10)
    )
    again = [b[0].numpy().ravel().tolist() for b in pipeline(shuffle_seed=0)]
    assert again == batches
    in_order = [b[0].numpy().ravel().tolist() for b in pipeline()]
    assert sum(in_order, []) == list(range(10))


@pytest.mark.parametrize("autotune", [False, True])
def test_input_pipeline_follows_the_autotune_setting(autotune):
    x = np.zeros((3, 1), dtype=np.float32)
    dataset = make_input_pipeline(x, x, 2, autotune=autotune, shuffle_seed=0)
    assert dataset.options().autotune.enabled is autotune
    assert len(list(dataset)) == 2


def test_the_model_reads_uint8_pixels_and_scales_them_itself():
    model = build_model((28, 28), 10, ArchitectureParams(conv_filters=[4]))
    assert model.inputs[0].dtype == "uint8" and model.input_shape == (None, 28, 28)
    scale, reshape = model.layers[:2]
    assert scale.scale == pytest.approx(1 / 255) and scale.offset == 0
    assert reshape.output.shape == (None, 28, 28, 1)
    images = np.random.default_rng(0).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    assert model.predict_on_batch(images).shape == (2, 10)
