"""The trained classifier as it travels from training to reports, inference and MLflow.

A ``TrainedClassifier`` is the Keras model and its ``ModelCard``. The model takes what
MNIST stores, uint8 images of 0-255 light ink on black (the scaling to [0, 1] and the
channel axis are layers of the model), so the ``.keras`` file alone classifies. The card
says what the model is for and how it came to be: the dataset, its class names (output
``i`` is ``class_names[i]``) and the training history. ``ClassifierDataset`` keeps both
in one version folder, so no version of the model is ever read with another's card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt

from mnist_classifier.params import TrainingParams

if TYPE_CHECKING:  # Keras (and TensorFlow) load only where a model is built or read
    import keras


#: Largest batch predicted at once: bounds the memory the activations take.
_BATCH = 1024


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EpochRecord(_Record):
    """One epoch of one network: its metrics, learning rate and wall time."""

    member: PositiveInt = 1  # which network of an ensemble, from 1
    epoch: PositiveInt
    loss: float
    accuracy: float
    val_loss: float | None = None  # None when trained without a validation set
    val_accuracy: float | None = None
    learning_rate: float
    seconds: float


class TrainingHistory(_Record):
    """What training hands on: every epoch of every network, the totals, the inputs."""

    training_seconds: float
    parameters: PositiveInt
    training_images: PositiveInt
    validation_images: NonNegativeInt
    best_epoch: PositiveInt  # of the first network: the epoch whose weights were kept
    hyperparameters: TrainingParams
    records: list[EpochRecord] = Field(min_length=1)

    @property
    def epochs(self) -> int:
        """Epochs trained in all, every network of an ensemble counted."""
        return len(self.records)

    @property
    def networks(self) -> int:
        """How many networks were trained (more than one: an averaged ensemble)."""
        return max(record.member for record in self.records)

    @property
    def validated(self) -> bool:
        """Whether the epochs were scored on a validation set."""
        return self.records[0].val_loss is not None


class ModelCard(_Record):
    """What a saved model is for: its dataset and classes, and how it was trained."""

    dataset: str = Field(min_length=1)
    class_names: list[str] = Field(min_length=2)
    image_shape: tuple[PositiveInt, PositiveInt]
    history: TrainingHistory


class Evaluation(_Record):
    """How a trained classifier did on the test set, and what its training cost: one
    flat, comparable record per run (``metrics.json``, MLflow's metrics, the registry).
    """

    test_accuracy: float = Field(ge=0, le=1)
    test_loss: float = Field(ge=0)
    macro_precision: float = Field(ge=0, le=1)
    macro_recall: float = Field(ge=0, le=1)
    macro_f1: float = Field(ge=0, le=1)
    test_images: PositiveInt
    dataset: str = Field(min_length=1)
    parameters: PositiveInt
    training_seconds: float
    epochs: PositiveInt
    best_epoch: PositiveInt
    hyperparameters: TrainingParams

    def numbers(self) -> dict[str, float]:
        """Every number of the record as a float, by name (the nested
        hyper-parameters are the run's parameters, not its metrics)."""
        return {
            name: float(value)
            for name, value in self.model_dump().items()
            if isinstance(value, int | float) and not isinstance(value, bool)
        }


@dataclass(frozen=True)
class TrainedNetwork:
    """What the training node hands on: the fitted Keras model and how it was fitted."""

    model: keras.Model
    history: TrainingHistory


@dataclass(frozen=True)
class TrainedClassifier:
    """A Keras model that takes uint8 images, and the card that says what it reads.

    ``version`` is where it was loaded from (the catalog's version folder, e.g.
    ``2026-12-02T01.43.50.636Z``), for the record of what made a prediction; ``None``
    for a model that was not loaded from a versioned catalog entry.
    """

    model: keras.Model
    card: ModelCard
    version: str | None = None

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (n, classes), for uint8 images of shape (n, h, w).

        Raises:
            ValueError: if the images are not uint8 or not of the card's image shape.
        """
        shape = tuple(self.card.image_shape)
        if images.dtype != np.uint8 or images.shape[1:] != shape:
            raise ValueError(
                f"The classifier reads uint8 images of shape (n, {shape[0]}, "
                f"{shape[1]}), got {images.dtype} of shape {images.shape}."
            )
        if not len(images):
            return np.zeros((0, len(self.card.class_names)), np.float32)
        if len(images) <= _BATCH:  # one call, without predict()'s per-call set-up
            return np.asarray(self.model.predict_on_batch(images))
        return self.model.predict(images, batch_size=_BATCH, verbose=0)
