"""End-to-end tests: the real `kedro run` through KedroSession, in a throw-away copy.

The `test` environment (conf/test/) trains a tiny network for three epochs on the
600/200-image MNIST sample, so each run takes seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.project import configure_project
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.validation import ParameterValidationError
from PIL import Image

from mnist_classifier.datasets import IDXDataset
from mnist_classifier.pipeline_registry import register_pipelines


def kedro_run(env: str = "test", **runtime_params) -> None:
    project = Path.cwd()
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, env=env, runtime_params=runtime_params
    ) as session:
        session.run()


def latest(path: str) -> Path:
    """The file that the latest run wrote to a versioned dataset at ``path``."""
    versions = sorted(Path(path).iterdir())
    assert versions, f"nothing written to {path}"
    return versions[-1] / Path(path).name


def test_registry_has_the_pipelines():
    configure_project("mnist_classifier")
    pipelines = register_pipelines()
    assert {"data_processing", "training", "reporting", "__default__"} <= set(pipelines)
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    assert {
        "validate_train_digits",
        "train_model",
        "plot_misclassified",
    } <= default_nodes


def test_kedro_run_trains_and_reports(project_copy: Path):
    kedro_run()

    metrics = json.loads(latest("data/08_reporting/metrics.json").read_text())
    assert metrics["test_images"] == 200
    for key in ["test_accuracy", "macro_precision", "macro_recall", "macro_f1"]:
        assert 0.2 < metrics[key] <= 1, key  # two tiny epochs: well above chance (0.1)
    assert 0 < metrics["test_loss"] < 2.3  # below the loss of a uniform guess, ln 10
    assert metrics["epochs"] == 3 and metrics["training_seconds"] > 0
    assert metrics["parameters"] > 0

    assert latest("data/06_models/classifier.keras").stat().st_size > 10_000
    history = json.loads(latest("data/06_models/training_history.json").read_text())
    assert len(history["history"]) == 3

    report = pd.read_csv(latest("data/08_reporting/classification_report.csv"))
    assert report["class"].tolist()[:10] == [str(digit) for digit in range(10)]
    assert (
        "macro avg" in latest("data/08_reporting/classification_report.txt").read_text()
    )
    confusion = pd.read_csv(latest("data/08_reporting/confusion_matrix.csv")).set_index(
        "true"
    )
    assert confusion.shape == (10, 10) and confusion.to_numpy().sum() == 200
    assert np.trace(confusion.to_numpy()) / 200 == pytest.approx(
        metrics["test_accuracy"]
    )
    for png in ["confusion_matrix", "training_curves", "misclassified"]:
        with Image.open(latest(f"data/08_reporting/{png}.png")) as image:
            image.load()
            assert image.width > 300 and image.height > 200


def test_reruns_reproduce_and_keep_earlier_artifacts(project_copy: Path):
    def metrics(run: int) -> dict:
        versions = sorted(Path("data/08_reporting/metrics.json").iterdir())
        return json.loads((versions[run] / "metrics.json").read_text())

    kedro_run()
    kedro_run()
    kedro_run(seed=1)
    # Every run adds a version; none overwrites an earlier one.
    assert len(list(Path("data/06_models/classifier.keras").iterdir())) == 3
    assert len(list(Path("data/08_reporting/metrics.json").iterdir())) == 3
    # The same seed gives the same result; another seed another one.
    first, second, reseeded = metrics(0), metrics(1), metrics(2)
    assert second["test_loss"] == pytest.approx(first["test_loss"], abs=1e-6)
    assert second["test_accuracy"] == first["test_accuracy"]
    assert reseeded["test_loss"] != pytest.approx(first["test_loss"], abs=1e-6)
    assert reseeded["hyperparameters"]["seed"] == 1


def test_a_run_without_a_validation_set_trains_on_every_image(project_copy: Path):
    kedro_run(
        data_processing={"validation_fraction": 0},
        training={"fit": {"early_stopping_patience": 0}},
    )
    history = json.loads(latest("data/06_models/training_history.json").read_text())
    assert [record["epoch"] for record in history["history"]] == [1, 2, 3]
    assert not any(key.startswith("val_") for key in history["history"][0])
    metrics = json.loads(latest("data/08_reporting/metrics.json").read_text())
    assert metrics["best_epoch"] == 3 and metrics["test_accuracy"] > 0.2
    assert latest("data/08_reporting/training_curves.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {"training": {"fit": {"epochs": 0}}},
            "fit.epochs\n  Input should be greater than 0",
        ),
        (
            {"training": {"optimizer": {"learning_rate": -0.1}}},
            "optimizer.learning_rate\n  Input should be greater than 0",
        ),
        (
            {"training": {"optimizer": {"name": "adamax"}}},
            "Input should be 'adam', 'adamw', 'sgd' or 'rmsprop'",
        ),
        (
            {"data_processing": {"validation_fraction": 1.5}},
            "validation_fraction\n  Input should be less than 1",
        ),
        (
            {"training": {"fit": {"epoch": 3}}},
            "fit.epoch\n  Extra inputs are not permitted",
        ),
    ],
)
def test_bad_parameters_stop_the_run_before_any_work(
    project_copy: Path, override, message
):
    with pytest.raises(ParameterValidationError) as error:
        kedro_run(**override)
    assert message in str(error.value)
    assert not Path("data/06_models").exists()


def test_another_dataset_is_a_configuration_change(
    project_copy: Path, sample_train, sample_test
):
    """Points the raw entries at IDX files in another folder, with three classes."""
    other = Path("data/01_raw/shapes")
    for split, (images, labels) in {"train": sample_train, "test": sample_test}.items():
        IDXDataset(filepath=str(other / f"{split}-images.idx")).save(
            images[:, 2:-2, 2:-2]
        )
        IDXDataset(filepath=str(other / f"{split}-labels.idx")).save(labels % 3)
    conf = Path("conf/shapes")
    conf.mkdir()
    catalog = {
        f"raw_{split}_{kind}": {
            "type": "mnist_classifier.datasets.IDXDataset",
            "filepath": str(other / f"{split}-{kind}.idx"),
        }
        for split in ["train", "test"]
        for kind in ["images", "labels"]
    }
    (conf / "catalog.yml").write_text(json.dumps(catalog))
    (conf / "parameters.yml").write_text(
        json.dumps(
            {
                "dataset": {
                    "class_names": ["circle", "square", "star"],
                    "image_shape": [24, 24],
                },
                "training": {
                    "architecture": {"conv_filters": [8, 16]},
                    "fit": {"epochs": 1},
                },
            }
        )
    )
    kedro_run(env="shapes")

    confusion = pd.read_csv(latest("data/08_reporting/confusion_matrix.csv")).set_index(
        "true"
    )
    assert confusion.index.tolist() == ["circle", "square", "star"]
    assert confusion.to_numpy().sum() == 200
    metrics = json.loads(latest("data/08_reporting/metrics.json").read_text())
    assert metrics["hyperparameters"]["architecture"]["conv_filters"] == [8, 16]
