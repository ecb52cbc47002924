"""Runs the reporting pipeline with a real DataCatalog: every artifact is written."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import keras
import numpy as np
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset
from kedro_datasets.text import TextDataset
from PIL import Image

from mnist_classifier.classifier import Evaluation, TrainedClassifier
from mnist_classifier.datasets import RecordDataset
from mnist_classifier.params import ReportingParams
from mnist_classifier.pipelines.reporting import create_pipeline


def test_pipeline_writes_every_report(
    tmp_path: Path, sample_test, dataset_params, model_card
):
    images, labels = sample_test
    model = keras.Sequential(
        [
            keras.Input((28, 28), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    files = {
        "metrics": (partial(RecordDataset, record=Evaluation), "metrics.json"),
        "classification_report": (CSVDataset, "report.csv"),
        "classification_report_text": (TextDataset, "report.txt"),
        "confusion_matrix": (CSVDataset, "confusion.csv"),
        "confusion_matrix_plot": (MatplotlibDataset, "confusion.png"),
        "training_curves_plot": (MatplotlibDataset, "curves.png"),
        "misclassified_plot": (MatplotlibDataset, "misclassified.png"),
    }
    catalog = DataCatalog(
        {
            "classifier": MemoryDataset(
                TrainedClassifier(model, model_card), copy_mode="assign"
            ),
            "test_images": MemoryDataset(images),
            "test_labels": MemoryDataset(labels),
            "params:dataset": MemoryDataset(dataset_params),
            "params:reporting": MemoryDataset(ReportingParams()),
            **{
                name: kind(filepath=str(tmp_path / file))
                for name, (kind, file) in files.items()
            },
        }
    )
    SequentialRunner().run(create_pipeline(), catalog)

    for _, file in files.values():
        assert (tmp_path / file).stat().st_size > 0, file
    for png in ["confusion.png", "curves.png", "misclassified.png"]:
        with Image.open(tmp_path / png) as image:
            image.verify()
    metrics = catalog.load("metrics")
    predictions = model.predict(images, verbose=0).argmax(1)
    assert metrics.test_accuracy == np.mean(predictions == labels)
    confusion = catalog.load("confusion_matrix").set_index("true")
    assert confusion.to_numpy().sum() == len(labels)
    assert np.trace(confusion.to_numpy()) == (predictions == labels).sum()
