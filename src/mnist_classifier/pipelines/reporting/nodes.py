"""Nodes of the reporting pipeline: test-set metrics, tables and figures.

scikit-learn is imported by the nodes that use it, when they run: importing it takes
longer than everything else `kedro registry list` does.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mnist_classifier.classifier import Evaluation, ModelCard, TrainedClassifier
from mnist_classifier.params import ReportingParams

logger = logging.getLogger(__name__)


def predict_test_set(
    classifier: TrainedClassifier, test_images: np.ndarray
) -> np.ndarray:
    """Predicts class probabilities for the test images, once for every report."""
    return classifier.predict(test_images)


def read_model_card(classifier: TrainedClassifier) -> ModelCard:
    """Hands on the model's card (dataset, classes, training history) without the model."""
    return classifier.card


def compute_metrics(
    test_probabilities: np.ndarray,
    test_labels: np.ndarray,
    model_card: ModelCard,
) -> Evaluation:
    """Summarises test performance and training cost in one flat, comparable record.

    The macro averages are over all of the model's classes, as in the classification
    report, also when a class is neither in the test set nor predicted."""
    history = model_card.history
    from sklearn import metrics as sk  # noqa: PLC0415

    predictions = test_probabilities.argmax(axis=1)
    precision, recall, f1, _ = sk.precision_recall_fscore_support(
        test_labels,
        predictions,
        labels=range(len(model_card.class_names)),
        average="macro",
        zero_division=0,
    )
    evaluation = Evaluation(
        test_accuracy=sk.accuracy_score(test_labels, predictions),
        test_loss=sk.log_loss(
            test_labels, test_probabilities, labels=range(test_probabilities.shape[1])
        ),
        macro_precision=precision,
        macro_recall=recall,
        macro_f1=f1,
        test_images=len(test_labels),
        dataset=model_card.dataset,
        parameters=history.parameters,
        training_seconds=history.training_seconds,
        epochs=history.epochs,
        best_epoch=history.best_epoch,
        hyperparameters=history.hyperparameters,
    )
    logger.info(
        "Test accuracy %.2f%% (loss %.4f, macro F1 %.4f) after %d epochs in %.0f s.",
        100 * evaluation.test_accuracy,
        evaluation.test_loss,
        evaluation.macro_f1,
        evaluation.epochs,
        evaluation.training_seconds,
    )
    return evaluation


def build_classification_report(
    test_probabilities: np.ndarray, test_labels: np.ndarray, model_card: ModelCard
) -> tuple[pd.DataFrame, str]:
    """Tabulates per-class precision, recall, F1 and support, as a table and as text,
    in the classes of the model (its card)."""
    from sklearn.metrics import classification_report  # noqa: PLC0415

    kwargs = {
        "y_true": test_labels,
        "y_pred": test_probabilities.argmax(axis=1),
        "labels": range(len(model_card.class_names)),
        "target_names": model_card.class_names,
        "digits": 4,
        "zero_division": 0,
    }
    rows = classification_report(**kwargs, output_dict=True)
    # Accuracy is one number, not a precision, recall and F1: as in the text report,
    # its row has only the F1 column and all the images as support.
    rows["accuracy"] = {"f1-score": rows["accuracy"], "support": len(test_labels)}
    table = pd.DataFrame(rows).T
    table["support"] = table["support"].astype(int)
    table.index.name = "class"
    return table.reset_index(), classification_report(**kwargs)


def build_confusion_matrix(
    test_probabilities: np.ndarray, test_labels: np.ndarray, model_card: ModelCard
) -> pd.DataFrame:
    """Counts test images per (true class, predicted class) pair, in the model's
    classes."""
    names = model_card.class_names
    from sklearn.metrics import confusion_matrix  # noqa: PLC0415

    counts = confusion_matrix(
        test_labels, test_probabilities.argmax(axis=1), labels=range(len(names))
    )
    return pd.DataFrame(
        counts,
        index=pd.Index(names, name="true"),
        columns=pd.Index(names, name="predicted"),
    ).reset_index()


def plot_confusion_matrix(confusion: pd.DataFrame) -> Figure:
    """Draws the confusion matrix as a labelled heatmap, counts in every cell."""
    counts = confusion.set_index("true")
    figure = Figure(figsize=(7, 6), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(np.log1p(counts.to_numpy()), cmap="Blues")
    threshold = image.norm.vmax / 2
    for (row, col), count in np.ndenumerate(counts.to_numpy()):
        colour = "white" if np.log1p(count) > threshold else "black"
        axes.text(
            col, row, str(count), ha="center", va="center", color=colour, fontsize=8
        )
    axes.set(
        xticks=range(len(counts.columns)),
        yticks=range(len(counts.index)),
        xlabel="Predicted class",
        ylabel="True class",
        title=f"Confusion matrix ({counts.to_numpy().sum():,} test images)",
    )
    axes.set_xticklabels(counts.columns, rotation=45, ha="right")
    axes.set_yticklabels(counts.index)
    return figure


def plot_training_curves(model_card: ModelCard) -> Figure:
    """Plots loss and accuracy per epoch, training against validation (per network)."""
    history = model_card.history
    epochs_table = pd.DataFrame([record.model_dump() for record in history.records])
    figure = Figure(figsize=(10, 4), layout="constrained")
    for axes, metric in zip(figure.subplots(1, 2), ["loss", "accuracy"]):
        for member, epochs in epochs_table.groupby("member"):
            first = member == 1
            style = {"marker": "o", "alpha": 1 if first else 0.35}
            axes.plot(
                epochs["epoch"],
                epochs[metric],
                color="C0",
                label="training" if first else None,
                **style,
            )
            if history.validated:
                axes.plot(
                    epochs["epoch"],
                    epochs[f"val_{metric}"],
                    color="C1",
                    label="validation" if first else None,
                    **style,
                )
        axes.axvline(history.best_epoch, color="grey", linestyle=":", label="kept")
        title = metric.capitalize()
        if history.networks > 1:
            title += f" ({history.networks} networks, the first one solid)"
        axes.set(xlabel="Epoch", ylabel=metric.capitalize(), title=title)
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def plot_misclassified(
    test_images: np.ndarray,
    test_probabilities: np.ndarray,
    test_labels: np.ndarray,
    model_card: ModelCard,
    reporting: ReportingParams,
) -> Figure:
    """Shows the test images the model got wrong with the most confidence."""
    predictions = test_probabilities.argmax(axis=1)
    confidence = test_probabilities.max(axis=1)
    wrong = np.flatnonzero(predictions != test_labels)
    worst = wrong[np.argsort(-confidence[wrong])][: reporting.misclassified_examples]
    columns = 5
    rows = max(1, int(np.ceil(len(worst) / columns)))
    figure = Figure(figsize=(2 * columns, 2.3 * rows), layout="constrained")
    figure.suptitle(
        f"Most confident mistakes: {len(worst)} of {len(wrong)} misclassified test images"
    )
    names = model_card.class_names
    for axes, index in zip(figure.subplots(rows, columns, squeeze=False).flat, worst):
        axes.imshow(test_images[index], cmap="gray_r")
        axes.set_title(
            f"true {names[test_labels[index]]}, predicted {names[predictions[index]]}"
            f"\n{confidence[index]:.0%} sure (#{index})",
            fontsize=8,
        )
    for axes in figure.axes:
        axes.axis("off")
    return figure


def collect_experiment_metrics(
    model_card: ModelCard, metrics: Evaluation
) -> dict[str, Any]:
    """Turns the per-epoch history and the test metrics into MLflow metric histories.

    The networks of an ensemble follow one another, so step n is the n-th epoch trained.
    """
    records = [
        record.model_dump(exclude={"member", "epoch"}, exclude_none=True)
        for record in model_card.history.records
    ]
    per_epoch = {
        "epoch_seconds" if name == "seconds" else name: [
            {"step": step, "value": record[name]}
            for step, record in enumerate(records, start=1)
        ]
        for name in records[0]
    }
    final = {
        name: {"step": 0, "value": value} for name, value in metrics.numbers().items()
    }
    return per_epoch | final
