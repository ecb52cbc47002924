"""Nodes of the training pipeline: fit the network(s), then package them with a card."""

from __future__ import annotations

import logging
import time

import numpy as np

from mnist_classifier.classifier import (
    ModelCard,
    TrainedClassifier,
    TrainedNetwork,
    TrainingHistory,
)
from mnist_classifier.params import DatasetParams, TrainingParams
from mnist_classifier.startup import import_keras

logger = logging.getLogger(__name__)


def train_model(
    train_images: np.ndarray,
    train_targets: np.ndarray,
    validation_images: np.ndarray,
    validation_targets: np.ndarray,
    training: TrainingParams,
) -> TrainedNetwork:
    """Trains the CNN (or an averaged ensemble of CNNs with consecutive seeds).

    Args:
        train_images: uint8 images, shape (n, height, width), as the model reads them.
        train_targets: Their one-hot targets.
        validation_images: Images early stopping scores epochs on; may be empty.
        validation_targets: Their one-hot targets.
        training: The network, optimizer, schedule and fit.

    Returns:
        The trained model, and its history: every epoch of every network, the wall
        time, the epoch kept, the parameter count, the image counts, the parameters.
    """
    # No Keras type in the signature: Kedro reads it to validate ``training``.
    import_keras()  # TensorFlow starts, quietly, only when a pipeline trains
    from .network import average_ensemble, fit_network  # noqa: PLC0415

    start = time.perf_counter()
    fitted = [
        fit_network(
            train_images,
            train_targets,
            validation_images,
            validation_targets,
            training,
            seed=training.seed + member - 1,
            member=member,
        )
        for member in range(1, training.ensemble_size + 1)
    ]
    members = [network.model for network in fitted]
    model = members[0] if len(members) == 1 else average_ensemble(members)
    history = TrainingHistory(
        training_seconds=round(time.perf_counter() - start, 2),
        parameters=model.count_params(),
        training_images=len(train_images),
        validation_images=len(validation_images),
        best_epoch=fitted[0].kept_epoch,
        hyperparameters=training,
        records=[record for network in fitted for record in network.records],
    )
    logger.info(
        "Trained %d network(s), %d epochs in all, in %.1f s.",
        len(members),
        history.epochs,
        history.training_seconds,
    )
    return TrainedNetwork(model=model, history=history)


def package_classifier(
    trained_network: TrainedNetwork, dataset: DatasetParams
) -> TrainedClassifier:
    """Attaches the card that says what the model reads: dataset, classes, history.

    Saved together, so that every later use of this model (reports, inference, a
    served copy) knows its classes without the configuration that trained it.
    """
    card = ModelCard(
        dataset=dataset.name,
        class_names=dataset.class_names,
        image_shape=dataset.image_shape,
        history=trained_network.history,
    )
    return TrainedClassifier(model=trained_network.model, card=card)
