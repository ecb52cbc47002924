"""The training pipeline: images and targets in, the trained classifier and its card out."""

from kedro.pipeline import Node, Pipeline

from .nodes import package_classifier, train_model


def create_pipeline(**kwargs) -> Pipeline:
    """Fit the CNN on the training split; the validation split scores each epoch and,
    with early stopping on, picks the one whose weights are kept (and can stop
    training early)."""
    return Pipeline(
        [
            Node(
                train_model,
                [
                    "train_images",
                    "train_targets",
                    "validation_images",
                    "validation_targets",
                    "params:training",
                ],
                "trained_network",
                name="train_model",
            ),
            Node(
                package_classifier,
                ["trained_network", "params:dataset"],
                "classifier",
                name="package_classifier",
            ),
        ]
    )
