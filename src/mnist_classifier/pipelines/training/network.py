"""The network and how it is fitted: Keras model, optimizer, schedule, input pipeline.

Imported by the training node when it runs, so that listing or drawing the pipelines
does not start TensorFlow.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from mnist_classifier.classifier import EpochRecord
from mnist_classifier.params import (
    ArchitectureParams,
    OptimizerParams,
    ScheduleParams,
    TrainingParams,
)

logger = logging.getLogger(__name__)


def build_model(
    image_shape: tuple[int, int],
    num_classes: int,
    architecture: ArchitectureParams,
    seed: int = 0,
) -> keras.Model:
    """Builds the CNN: scaling, augmentation, border crop, conv blocks, softmax head.

    The model takes uint8 images of ``image_shape`` as MNIST stores them: scaling them
    to [0, 1] and adding the channel axis are its first layers, so the saved file alone
    classifies, and training, reports and inference cannot scale differently.

    Raises:
        ValueError: if the crop and the pooling of every block leave no pixels.
    """
    side = min(image_shape) - 2 * architecture.crop
    needed = 2 ** len(architecture.conv_filters)
    if side < needed:
        raise ValueError(
            f"training.architecture: {image_shape[0]}x{image_shape[1]} images cropped by "
            f"{architecture.crop} pixels per side leave {side}, but "
            f"{len(architecture.conv_filters)} pooled conv blocks need at least {needed}. "
            "Lower `crop` or list fewer `conv_filters`."
        )
    aug = architecture.augmentation
    # Each random layer draws from its own stream: layers given the same seed draw the
    # same numbers (every image's rotation would fix its zoom and its shift). Spread
    # from the run's seed, so consecutive seeds (an ensemble's members) share none.
    seeds = iter(np.random.SeedSequence(seed).generate_state(8).tolist())
    layers: list[keras.Layer] = [
        keras.Input(image_shape, dtype="uint8"),
        keras.layers.Rescaling(1 / 255),
        keras.layers.Reshape((*image_shape, 1)),
    ]
    if aug.rotation:
        layers.append(
            keras.layers.RandomRotation(
                aug.rotation, fill_mode="constant", seed=next(seeds)
            )
        )
    if aug.zoom:
        layers.append(
            keras.layers.RandomZoom(aug.zoom, fill_mode="constant", seed=next(seeds))
        )
    if aug.translation:
        layers.append(
            keras.layers.RandomTranslation(
                aug.translation,
                aug.translation,
                fill_mode="constant",
                seed=next(seeds),
            )
        )
    if architecture.crop:
        layers.append(keras.layers.Cropping2D(architecture.crop))
    for filters in architecture.conv_filters:
        for conv in range(architecture.convs_per_block):
            layers.append(
                keras.layers.Conv2D(
                    filters,
                    architecture.kernel_size,
                    padding="same",
                    use_bias=not architecture.batch_norm,
                )
            )
            if conv == architecture.convs_per_block - 1:
                # Pooling first lets BN and ReLU work on a quarter of the pixels:
                # measurably faster on a CPU, and as accurate.
                layers.append(keras.layers.MaxPooling2D())
            if architecture.batch_norm:
                layers.append(keras.layers.BatchNormalization())
            layers.append(keras.layers.ReLU())
    layers.append(keras.layers.Flatten())
    if architecture.dense_units:
        layers.append(keras.layers.Dropout(architecture.dropout, seed=next(seeds)))
        layers.append(keras.layers.Dense(architecture.dense_units, activation="relu"))
    layers.append(keras.layers.Dropout(architecture.dropout, seed=next(seeds)))
    layers.append(keras.layers.Dense(num_classes, activation="softmax"))
    return keras.Sequential(layers, name="digit_classifier")


def learning_rate_schedule(
    optimizer: OptimizerParams, schedule: ScheduleParams, total_steps: int
) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Returns the learning rate per step: constant, cosine decay, or warm-up then cosine."""
    peak = optimizer.learning_rate
    if schedule.name == "constant":
        return peak
    warmup_steps = int(schedule.warmup_fraction * total_steps)
    if schedule.name == "cosine" or warmup_steps == 0:
        return keras.optimizers.schedules.CosineDecay(peak, total_steps)
    return keras.optimizers.schedules.CosineDecay(
        peak / 25,
        decay_steps=total_steps - warmup_steps,
        warmup_target=peak,
        warmup_steps=warmup_steps,
    )


def make_optimizer(
    optimizer: OptimizerParams, schedule: ScheduleParams, total_steps: int
) -> keras.optimizers.Optimizer:
    """Creates the optimizer named in the parameters with its learning-rate schedule."""
    learning_rate = learning_rate_schedule(optimizer, schedule, total_steps)
    decay = optimizer.weight_decay or None  # None skips the decay step altogether
    if optimizer.name == "adamw":
        return keras.optimizers.AdamW(
            learning_rate, weight_decay=optimizer.weight_decay
        )
    if optimizer.name == "sgd":
        return keras.optimizers.SGD(
            learning_rate, momentum=0.9, nesterov=True, weight_decay=decay
        )
    if optimizer.name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate, weight_decay=decay)
    return keras.optimizers.Adam(learning_rate, weight_decay=decay)


def make_input_pipeline(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    autotune: bool,
    shuffle_seed: int | None = None,
) -> tf.data.Dataset:
    """Wraps arrays in a cached, (optionally) shuffled, batched and prefetched tf.data pipeline.

    With ``autotune`` off (the default on 2 cores, where the autotuner made some epochs
    run on one core: docs/experiments.md), two prefetched batches keep the model fed.
    """
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(
            len(x), seed=shuffle_seed, reshuffle_each_iteration=True
        )
    options = tf.data.Options()
    options.autotune.enabled = autotune
    prefetch = tf.data.AUTOTUNE if autotune else 2
    return dataset.batch(batch_size).prefetch(prefetch).with_options(options)


class EpochLogger(keras.callbacks.Callback):
    """Logs one line per epoch (metrics, learning rate, seconds) and keeps its record."""

    def __init__(self, member: int = 1) -> None:
        super().__init__()
        self.member = member
        self.records: list[EpochRecord] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        metrics = {key: float(value) for key, value in (logs or {}).items()}
        record = EpochRecord(
            member=self.member,
            epoch=epoch + 1,
            **metrics,
            learning_rate=float(self.model.optimizer.learning_rate),
            seconds=round(time.perf_counter() - self._start, 2),
        )
        self.records.append(record)
        shown = record.model_dump(exclude={"member", "epoch"}, exclude_none=True)
        logger.info(
            "Epoch %d/%d - %s",
            record.epoch,
            self.params["epochs"],
            " - ".join(f"{key}: {value:.4g}" for key, value in shown.items()),
        )


class FittedNetwork(NamedTuple):
    """One network fitted, with the epoch whose weights it holds."""

    model: keras.Model
    records: list[EpochRecord]  # one per epoch trained
    kept_epoch: int  # from 1: early stopping's best by validation loss, or the last


def fit_network(
    train_x: np.ndarray,
    train_y: np.ndarray,
    validation_x: np.ndarray,
    validation_y: np.ndarray,
    training: TrainingParams,
    *,
    seed: int,
    member: int = 1,
) -> FittedNetwork:
    """Builds, compiles and fits one network, stopping early when validation loss stalls.

    Returns:
        The network (with early stopping, the weights of its best validation loss, as
        Keras' ``EarlyStopping`` chose them), one record per epoch, the epoch kept.

    Raises:
        ValueError: if early stopping is asked for without validation images.
    """
    fit = training.fit
    validate = len(validation_x) > 0
    if fit.early_stopping_patience and not validate:
        raise ValueError(
            "training.fit.early_stopping_patience is "
            f"{fit.early_stopping_patience}, but there are no validation images to "
            "stop on (data_processing.validation_fraction is 0). Set "
            "early_stopping_patience to 0, or hold out a validation_fraction above 0."
        )
    keras.utils.set_random_seed(seed)
    model = build_model(
        train_x.shape[1:], train_y.shape[1], training.architecture, seed
    )
    model.name = f"network_{member}"  # an ensemble's members, told apart
    autotune = fit.autotune_enabled()
    steps_per_epoch = int(np.ceil(len(train_x) / fit.batch_size))
    model.compile(
        optimizer=make_optimizer(
            training.optimizer, training.schedule, steps_per_epoch * fit.epochs
        ),
        loss=keras.losses.CategoricalCrossentropy(
            label_smoothing=training.label_smoothing
        ),
        metrics=["accuracy"],
    )
    epoch_logger = EpochLogger(member)
    stopping = (
        keras.callbacks.EarlyStopping(
            patience=fit.early_stopping_patience, restore_best_weights=True
        )
        if fit.early_stopping_patience
        else None
    )
    logger.info(
        "Training %s parameters on %d images, validating on %d (seed %d).",
        f"{model.count_params():,}",
        len(train_x),
        len(validation_x),
        seed,
    )
    model.fit(
        make_input_pipeline(
            train_x, train_y, fit.batch_size, autotune=autotune, shuffle_seed=seed
        ),
        validation_data=(
            make_input_pipeline(validation_x, validation_y, 1024, autotune=autotune)
            if validate
            else None
        ),
        epochs=fit.epochs,
        callbacks=[epoch_logger, stopping] if stopping else [epoch_logger],
        shuffle=False,  # the input pipeline shuffles, seeded
        verbose=0,
    )
    records = epoch_logger.records
    kept = stopping.best_epoch + 1 if stopping else len(records)
    return FittedNetwork(model, records, kept)


def average_ensemble(members: list[keras.Model]) -> keras.Model:
    """Combines trained networks into one model that averages their probabilities."""
    inputs = keras.Input(members[0].input_shape[1:], dtype="uint8")
    outputs = keras.layers.Average()([member(inputs) for member in members])
    return keras.Model(inputs, outputs, name="digit_classifier_ensemble")
