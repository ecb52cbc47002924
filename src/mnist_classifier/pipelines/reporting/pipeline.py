"""The reporting pipeline: a trained classifier and the test set in, its report out."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_classification_report,
    build_confusion_matrix,
    collect_experiment_metrics,
    compute_metrics,
    plot_confusion_matrix,
    plot_misclassified,
    plot_training_curves,
    predict_test_set,
    read_model_card,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Predict the test set once, then derive every metric, table and figure from it."""
    return Pipeline(
        [
            Node(
                predict_test_set,
                ["classifier", "test_images"],
                "test_probabilities",
                name="predict_test_set",
            ),
            Node(
                read_model_card,
                "classifier",
                "model_card",
                name="read_model_card",
            ),
            Node(
                compute_metrics,
                ["test_probabilities", "test_labels", "model_card"],
                "metrics",
                name="compute_metrics",
            ),
            Node(
                build_classification_report,
                ["test_probabilities", "test_labels", "model_card"],
                ["classification_report", "classification_report_text"],
                name="build_classification_report",
            ),
            Node(
                build_confusion_matrix,
                ["test_probabilities", "test_labels", "model_card"],
                "confusion_matrix",
                name="build_confusion_matrix",
            ),
            Node(
                plot_confusion_matrix,
                "confusion_matrix",
                "confusion_matrix_plot",
                name="plot_confusion_matrix",
            ),
            Node(
                plot_training_curves,
                "model_card",
                "training_curves_plot",
                name="plot_training_curves",
            ),
            Node(
                plot_misclassified,
                [
                    "test_images",
                    "test_probabilities",
                    "test_labels",
                    "model_card",
                    "params:reporting",
                ],
                "misclassified_plot",
                name="plot_misclassified",
            ),
            Node(
                collect_experiment_metrics,
                ["model_card", "metrics"],
                "experiment_metrics",
                name="collect_experiment_metrics",
            ),
        ]
    )
