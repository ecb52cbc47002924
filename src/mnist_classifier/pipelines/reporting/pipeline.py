"""The reporting pipeline: trained classifier and test set in, report out."""

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
)


def create_pipeline(**kwargs) -> Pipeline:
    """Predict the test set once, then derive every metric, table and figure from it."""
    return Pipeline(
        [
            Node(
                predict_test_set,
                ["classifier", "test_x"],
                "test_probabilities",
                name="predict_test_set",
            ),
            Node(
                compute_metrics,
                ["test_probabilities", "validated_test_labels", "training_history"],
                "metrics",
                name="compute_metrics",
            ),
            Node(
                build_classification_report,
                ["test_probabilities", "validated_test_labels", "params:dataset"],
                ["classification_report", "classification_report_text"],
                name="build_classification_report",
            ),
            Node(
                build_confusion_matrix,
                ["test_probabilities", "validated_test_labels", "params:dataset"],
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
                "training_history",
                "training_curves_plot",
                name="plot_training_curves",
            ),
            Node(
                plot_misclassified,
                [
                    "validated_test_images",
                    "test_probabilities",
                    "validated_test_labels",
                    "params:dataset",
                    "params:reporting",
                ],
                "misclassified_plot",
                name="plot_misclassified",
            ),
            Node(
                collect_experiment_metrics,
                ["training_history", "metrics"],
                "experiment_metrics",
                name="collect_experiment_metrics",
            ),
        ]
    )
