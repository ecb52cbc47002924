"""The training pipeline: model inputs in, trained classifier and its history out."""

from kedro.pipeline import Node, Pipeline

from .nodes import train_model


def create_pipeline(**kwargs) -> Pipeline:
    """Fit the CNN on the training split, early-stopping on the validation split."""
    return Pipeline(
        [
            Node(
                train_model,
                [
                    "train_x",
                    "train_y",
                    "validation_x",
                    "validation_y",
                    "params:training",
                ],
                ["classifier", "training_history"],
                name="train_model",
            )
        ]
    )
