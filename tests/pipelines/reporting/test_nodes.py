"""Unit tests of the reporting nodes, on hand-made predictions with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mnist_classifier.classifier import EpochRecord, ModelCard, TrainingHistory
from mnist_classifier.params import (
    ArchitectureParams,
    DatasetParams,
    ReportingParams,
    TrainingParams,
)
from mnist_classifier.pipelines.reporting.nodes import (
    build_classification_report,
    build_confusion_matrix,
    collect_experiment_metrics,
    compute_metrics,
    plot_confusion_matrix,
    plot_misclassified,
    plot_training_curves,
)

DATASET = DatasetParams(name="tiny", class_names=["zero", "one", "two"])
REPORTING = ReportingParams(misclassified_examples=2)
LABELS = np.array([0, 0, 1, 1, 2, 2])
# Predictions: 0, 1 (wrong, 0.7 sure), 1, 1, 2, 0 (wrong, 0.9 sure).
PROBABILITIES = np.array(
    [
        [0.8, 0.1, 0.1],
        [0.2, 0.7, 0.1],
        [0.1, 0.8, 0.1],
        [0.3, 0.6, 0.1],
        [0.1, 0.1, 0.8],
        [0.9, 0.05, 0.05],
    ],
    dtype=np.float32,
)


def card(validated: bool = True, best_epoch: int = 2, **epoch_fields) -> ModelCard:
    """A card for a 3-epoch training run, with or without validation scores."""
    records = [
        EpochRecord(
            epoch=e,
            loss=1 / e,
            accuracy=0.5 + e / 10,
            val_loss=1.1 / e if validated else None,
            val_accuracy=0.5 if validated else None,
            learning_rate=0.1 / e,
            seconds=2.5,
            **epoch_fields,
        )
        for e in [1, 2, 3]
    ]
    history = TrainingHistory(
        training_seconds=12.5,
        parameters=1234,
        training_images=100,
        validation_images=10 if validated else 0,
        best_epoch=best_epoch,
        hyperparameters=TrainingParams(
            seed=1, architecture=ArchitectureParams(conv_filters=[4])
        ),
        records=records,
    )
    return ModelCard(
        dataset="tiny",
        class_names=DATASET.class_names,
        image_shape=(28, 28),
        history=history,
    )


CARD = card()


def test_compute_metrics():
    metrics = compute_metrics(PROBABILITIES, LABELS, CARD)
    assert metrics.test_accuracy == pytest.approx(4 / 6)
    expected_loss = -np.mean(np.log([0.8, 0.2, 0.8, 0.6, 0.8, 0.05]))
    assert metrics.test_loss == pytest.approx(expected_loss, rel=1e-5)
    # Precision per class: 1/2, 2/3, 1/1; recall: 1/2, 1, 1/2.
    assert metrics.macro_precision == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert metrics.macro_recall == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    # F1 per class: 1/2, 4/5, 2/3 (not from the macro precision and recall).
    assert metrics.macro_f1 == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert metrics.parameters == 1234 and metrics.epochs == 3
    assert metrics.best_epoch == 2
    assert metrics.training_seconds == 12.5 and metrics.test_images == 6
    assert metrics.dataset == "tiny" and metrics.hyperparameters.seed == 1


def test_macro_averages_are_over_all_the_models_classes_as_in_the_report():
    # Class "two" is neither a label nor predicted: both files average over all three.
    labels, probabilities = LABELS[:4], PROBABILITIES[:4]
    metrics = compute_metrics(probabilities, labels, CARD)
    table, _ = build_classification_report(probabilities, labels, CARD)
    macro = table.set_index("class").loc["macro avg"]
    # Precision per class: 1/1, 2/3, 0; recall: 1/2, 1, 0.
    assert metrics.macro_precision == pytest.approx((1 + 2 / 3) / 3)
    assert metrics.macro_recall == pytest.approx((1 / 2 + 1) / 3)
    assert (metrics.macro_precision, metrics.macro_recall, metrics.macro_f1) == (
        pytest.approx(macro["precision"]),
        pytest.approx(macro["recall"]),
        pytest.approx(macro["f1-score"]),
    )


def test_classification_report_as_table_and_text():
    table, text = build_classification_report(PROBABILITIES, LABELS, CARD)
    rows = table.set_index("class")
    assert list(rows.index[:3]) == ["zero", "one", "two"]
    assert rows.loc["one", "recall"] == pytest.approx(1.0)
    assert rows.loc["zero", "precision"] == pytest.approx(0.5)
    assert rows.loc["two", "support"] == 2
    accuracy = rows.loc["accuracy"]  # one number, over all six images
    assert accuracy["f1-score"] == pytest.approx(4 / 6) and accuracy["support"] == 6
    assert np.isnan(accuracy["precision"]) and np.isnan(accuracy["recall"])
    assert rows.loc["macro avg", "support"] == 6
    assert "zero" in text and "macro avg" in text and "0.6667" in text


def test_confusion_matrix_counts_true_against_predicted():
    matrix = build_confusion_matrix(PROBABILITIES, LABELS, CARD)
    counts = matrix.set_index("true")
    assert list(counts.columns) == ["zero", "one", "two"]
    assert counts.loc["zero"].tolist() == [1, 1, 0]
    assert counts.loc["two"].tolist() == [1, 0, 1]
    assert counts.to_numpy().sum() == 6


def test_confusion_matrix_plot_is_labelled():
    figure = plot_confusion_matrix(build_confusion_matrix(PROBABILITIES, LABELS, CARD))
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == [
        "zero",
        "one",
        "two",
    ]
    assert [text.get_text() for text in axes.texts] == list("110020101")  # row by row
    assert axes.get_xlabel() == "Predicted class"


def test_training_curves_show_training_and_validation():
    figure = plot_training_curves(CARD)
    assert isinstance(figure, Figure)
    for axes in figure.axes:
        assert [line.get_label() for line in axes.get_lines()[:2]] == [
            "training",
            "validation",
        ]
        assert axes.get_lines()[0].get_xdata().tolist() == [1, 2, 3]
    loss = figure.axes[0]
    assert loss.get_lines()[0].get_ydata().tolist() == pytest.approx([1, 1 / 2, 1 / 3])
    assert loss.get_lines()[1].get_ydata().tolist() == pytest.approx(
        [1.1, 0.55, 1.1 / 3]
    )
    assert list(loss.get_lines()[2].get_xdata()) == [2, 2]  # the epoch kept


def test_training_curves_without_a_validation_set():
    figure = plot_training_curves(card(validated=False, best_epoch=3))
    for axes in figure.axes:
        assert [line.get_label() for line in axes.get_lines()] == ["training", "kept"]


def test_misclassified_grid_shows_the_most_confident_mistakes_first():
    images = np.arange(6 * 28 * 28, dtype=np.uint8).reshape(6, 28, 28)
    figure = plot_misclassified(images, PROBABILITIES, LABELS, CARD, REPORTING)
    titles = [axes.get_title() for axes in figure.axes if axes.get_title()]
    assert titles == [
        "true two, predicted zero\n90% sure (#5)",
        "true zero, predicted one\n70% sure (#1)",
    ]


def test_misclassified_grid_with_no_mistakes():
    perfect = np.eye(3, dtype=np.float32)[LABELS]
    figure = plot_misclassified(
        np.zeros((6, 28, 28), np.uint8), perfect, LABELS, CARD, REPORTING
    )
    assert "0 of 0 misclassified" in figure.get_suptitle()


def test_report_tables_are_dataframes():
    assert isinstance(build_confusion_matrix(PROBABILITIES, LABELS, CARD), pd.DataFrame)


def test_collect_experiment_metrics():
    metrics = compute_metrics(PROBABILITIES, LABELS, CARD)

    tracked = collect_experiment_metrics(CARD, metrics)

    # One value per epoch, step = epoch number; `seconds` gets a clearer name.
    assert tracked["val_loss"] == [
        {"step": 1, "value": 1.1},
        {"step": 2, "value": 0.55},
        {"step": 3, "value": pytest.approx(1.1 / 3)},
    ]
    for name in ["loss", "accuracy", "val_accuracy", "learning_rate", "epoch_seconds"]:
        assert [point["step"] for point in tracked[name]] == [1, 2, 3], name
    assert not {"seconds", "epoch", "member"} & set(tracked)
    # Every number of metrics.json once, as floats; not the nested hyper-parameters.
    assert tracked["test_accuracy"] == {"step": 0, "value": pytest.approx(4 / 6)}
    assert tracked["parameters"] == {"step": 0, "value": 1234.0}
    assert tracked["epochs"] == {"step": 0, "value": 3.0}
    assert "hyperparameters" not in tracked
    assert all(
        isinstance(point["value"], float)
        for value in tracked.values()
        for point in (value if isinstance(value, list) else [value])
    )


def test_an_ensembles_networks_are_plotted_and_tracked_one_after_another():
    two = card()
    records = two.history.records + [
        record.model_copy(update={"member": 2}) for record in two.history.records
    ]
    two = two.model_copy(
        update={"history": two.history.model_copy(update={"records": records})}
    )
    figure = plot_training_curves(two)
    assert "2 networks" in figure.axes[0].get_title()
    tracked = collect_experiment_metrics(
        two, compute_metrics(PROBABILITIES, LABELS, two)
    )
    assert [point["step"] for point in tracked["loss"]] == [1, 2, 3, 4, 5, 6]
