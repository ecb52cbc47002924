"""The inference pipeline: a folder of digit images and the trained model in, predictions out."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    collect_predictions,
    plot_predictions_sheet,
    predict_digits,
    preview_sheet_images,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Classify the folder's new and changed images, gather the whole folder's answers,
    then draw what the model saw and said."""
    return Pipeline(
        [
            Node(
                predict_digits,
                [
                    "digit_images",
                    "digit_image_stamps",
                    "classified_before",
                    "classifier",
                    "params:inference",
                ],
                ["classified_files", "folder_plan"],
                name="predict_digits",
            ),
            Node(
                collect_predictions,
                ["classified_files", "folder_plan", "params:inference"],
                "predictions",
                name="collect_predictions",
            ),
            Node(
                preview_sheet_images,
                ["predictions", "digit_images", "classifier", "params:inference"],
                "prediction_previews",
                name="preview_sheet_images",
            ),
            Node(
                plot_predictions_sheet,
                ["predictions", "prediction_previews", "params:inference"],
                "predictions_sheet",
                name="plot_predictions_sheet",
            ),
        ]
    )
