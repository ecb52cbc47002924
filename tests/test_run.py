"""End-to-end tests: the real `kedro run` through KedroSession, in a throw-away copy.

The `test` environment (conf/test/) trains a tiny network for three epochs on the
600/200-image MNIST sample, so each run takes seconds.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.project import configure_project
from kedro.validation import ParameterValidationError
from PIL import Image

from mnist_classifier.datasets import IDXDataset
from mnist_classifier.hooks import ModelGuardError
from mnist_classifier.pipeline_registry import register_pipelines
from tests.helpers import PROJECT_ROOT, kedro_run

MODELS, OUTPUT, REPORTS = (
    f"data/{layer}/mnist_sample"
    for layer in ["06_models", "07_model_output", "08_reporting"]
)


def latest(path: str) -> Path:
    """The file that the latest run wrote to a versioned dataset at ``path``."""
    versions = sorted(Path(path).iterdir())
    assert versions, f"nothing written to {path}"
    return versions[-1] / Path(path).name


def test_registry_has_the_pipelines():
    configure_project("mnist_classifier")
    pipelines = register_pipelines()
    assert {
        "data_processing",
        "training",
        "reporting",
        "evaluate",
        "__default__",
    } <= set(pipelines)
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    assert {
        "validate_train_digits",
        "train_model",
        "plot_misclassified",
    } <= default_nodes


def test_kedro_run_trains_and_reports(project_copy: Path):
    kedro_run()

    metrics = json.loads(latest(f"{REPORTS}/metrics.json").read_text())
    assert metrics["test_images"] == 200
    for key in ["test_accuracy", "macro_precision", "macro_recall", "macro_f1"]:
        assert 0.2 < metrics[key] <= 1, (
            key
        )  # three tiny epochs: well above chance (0.1)
    assert 0 < metrics["test_loss"] < 2.3  # below the loss of a uniform guess, ln 10
    assert metrics["epochs"] == 3 and metrics["training_seconds"] > 0
    assert metrics["parameters"] > 0

    model = latest(f"{MODELS}/classifier.keras")
    assert model.stat().st_size > 10_000
    card = json.loads((model.parent / "model_card.json").read_text())
    assert card["dataset"] == "mnist_sample"  # conf/test/globals.yml
    assert card["class_names"] == list("0123456789")
    assert len(card["history"]["records"]) == 3

    report = pd.read_csv(latest(f"{REPORTS}/classification_report.csv"))
    assert report["class"].tolist()[:10] == [str(digit) for digit in range(10)]
    assert "macro avg" in latest(f"{REPORTS}/classification_report.txt").read_text()
    confusion = pd.read_csv(latest(f"{REPORTS}/confusion_matrix.csv")).set_index("true")
    assert confusion.shape == (10, 10) and confusion.to_numpy().sum() == 200
    assert np.trace(confusion.to_numpy()) / 200 == pytest.approx(
        metrics["test_accuracy"]
    )
    for png in ["confusion_matrix", "training_curves", "misclassified"]:
        with Image.open(latest(f"{REPORTS}/{png}.png")) as image:
            image.load()
            assert image.width > 300 and image.height > 200


def test_reruns_reproduce_and_keep_earlier_artifacts(project_copy: Path):
    def metrics(run: int) -> dict:
        versions = sorted(Path(f"{REPORTS}/metrics.json").iterdir())
        return json.loads((versions[run] / "metrics.json").read_text())

    kedro_run()
    kedro_run()
    kedro_run(seed=1)
    # Every run adds a version; none overwrites an earlier one.
    assert len(list(Path(f"{MODELS}/classifier.keras").iterdir())) == 3
    assert len(list(Path(f"{REPORTS}/metrics.json").iterdir())) == 3
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
    card = latest(f"{MODELS}/classifier.keras").parent / "model_card.json"
    history = json.loads(card.read_text())["history"]
    assert [record["epoch"] for record in history["records"]] == [1, 2, 3]
    assert history["records"][0]["val_loss"] is None
    metrics = json.loads(latest(f"{REPORTS}/metrics.json").read_text())
    assert metrics["best_epoch"] == 3 and metrics["test_accuracy"] > 0.2
    assert latest(f"{REPORTS}/training_curves.png").stat().st_size > 0


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


def test_evaluate_re_reports_a_saved_model_without_training(project_copy: Path):
    kedro_run()
    kedro_run(seed=1)
    first, _ = sorted(Path(f"{MODELS}/classifier.keras").iterdir())
    trained = json.loads(
        (
            sorted(Path(f"{REPORTS}/metrics.json").iterdir())[0] / "metrics.json"
        ).read_text()
    )

    kedro_run(pipelines=["evaluate"], load_versions={"classifier": first.name})

    # No new model; a third report, of the first model, the same as its first one.
    assert len(list(Path(f"{MODELS}/classifier.keras").iterdir())) == 2
    evaluated = json.loads(latest(f"{REPORTS}/metrics.json").read_text())
    assert evaluated == trained
    assert len(list(Path(f"{REPORTS}/training_curves.png").iterdir())) == 3


def test_another_dataset_keeps_its_own_models_and_digit_inference_its_own(
    project_copy: Path, sample_train, sample_test
):
    """A conf environment for a three-class dataset: no code, and no mixing."""
    kedro_run()  # the digit model
    other = Path("data/01_raw/shapes")
    for split, (images, labels) in {"train": sample_train, "test": sample_test}.items():
        IDXDataset(filepath=str(other / f"{split}-images.idx")).save(
            images[:, 2:-2, 2:-2]
        )
        IDXDataset(filepath=str(other / f"{split}-labels.idx")).save(labels % 3)
    conf = Path("conf/shapes")
    conf.mkdir()
    (conf / "globals.yml").write_text("dataset: shapes\n")
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

    reports = "data/08_reporting/shapes"
    confusion = pd.read_csv(latest(f"{reports}/confusion_matrix.csv")).set_index("true")
    assert confusion.index.tolist() == ["circle", "square", "star"]
    assert confusion.to_numpy().sum() == 200
    metrics = json.loads(latest(f"{reports}/metrics.json").read_text())
    assert metrics["dataset"] == "shapes"
    assert metrics["hyperparameters"]["architecture"]["conv_filters"] == [8, 16]
    (shapes_model,) = Path("data/06_models/shapes/classifier.keras").iterdir()
    (digit_model,) = Path(f"{MODELS}/classifier.keras").iterdir()
    assert shapes_model.name > digit_model.name  # the newest model is not the digits'

    # Digit inference still reads digits with the digit model.
    digits = Path("digits")
    shutil.copytree(PROJECT_ROOT / "data/01_raw/custom_digits", digits)
    kedro_run(input_dir=str(digits), pipelines=["inference"])
    predictions = pd.read_csv(latest(f"{OUTPUT}/predictions.csv"))
    assert {f"p{k}" for k in range(10)} <= set(predictions.columns)
    assert (predictions["status"] == "ok").mean() > 0.9

    # A shapes model among the digit models (as an environment that forgot to name
    # its dataset would leave it): digit inference refuses it in one line.
    shutil.copytree(
        shapes_model, Path(f"{MODELS}/classifier.keras") / shapes_model.name
    )
    with pytest.raises(ModelGuardError) as refused:
        kedro_run(input_dir=str(digits), pipelines=["inference"])
    message = refused.value.message
    assert "\n" not in message and shapes_model.name in message
    assert "circle, square, star" in message and "'mnist_sample'" in message
