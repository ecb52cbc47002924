"""The inference pipeline: a folder of digit images and the trained model in, predictions out."""

from kedro.pipeline import Node, Pipeline

from .nodes import plot_predictions_sheet, predict_digits


def create_pipeline(**kwargs) -> Pipeline:
    """Classify every image in the folder, then draw what the model saw and said."""
    return Pipeline(
        [
            Node(
                predict_digits,
                ["digit_images", "classifier", "params:inference"],
                ["predictions", "prediction_previews"],
                name="predict_digits",
            ),
            Node(
                plot_predictions_sheet,
                ["predictions", "prediction_previews", "params:inference"],
                "predictions_sheet",
                name="plot_predictions_sheet",
            ),
        ]
    )
