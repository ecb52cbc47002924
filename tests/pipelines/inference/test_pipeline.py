"""Runs the inference pipeline on the project's own catalog and parameters, in a copy.

The catalog and parameters come from conf/ with ``input_dir`` as a runtime parameter,
as ``kedro run --pipelines inference --params input_dir=...`` gives them; the model is
a tiny CNN trained in the test. The realistic folder shows what the preprocessing is
worth: accuracy close to the model's on raw MNIST, far above a naive resize-and-invert.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.framework.project import pipelines as project_pipelines
from kedro.framework.startup import bootstrap_project
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.io.core import Version
from kedro.runner import SequentialRunner
from PIL import Image

from mnist_classifier.classifier import ModelCard, TrainedClassifier
from mnist_classifier.datasets import ClassifierDataset
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipeline_registry import register_pipelines
from mnist_classifier.pipelines.inference import create_pipeline
from mnist_classifier.realistic import write_realistic_folder
from mnist_classifier.settings import CONFIG_LOADER_ARGS

from .helpers import png_bytes

MODEL_VERSION = "2026-01-01T00.00.00.000Z"
RUN_VERSION = "2026-01-02T00.00.00.000Z"
DATASETS = [
    "digit_images",
    "digit_image_stamps",
    "classified_before",
    "classified_files",
    "classifier",
    "predictions",
    "predictions_sheet",
]


def conf_loader(folder: Path) -> OmegaConfigLoader:
    """conf/ as `kedro run --env test --params input_dir=<folder>` reads it."""
    return OmegaConfigLoader(
        conf_source="conf",
        base_env="base",
        default_run_env="test",
        runtime_params={"input_dir": str(folder)},
        custom_resolvers=CONFIG_LOADER_ARGS["custom_resolvers"],
    )


def project_catalog(
    folder: Path,
    load_versions: dict[str, str] | None = None,
    run_version: str = RUN_VERSION,
) -> DataCatalog:
    """The inference datasets and parameters of conf/, for the folder ``folder``."""
    loader = conf_loader(folder)
    config = {name: loader["catalog"][name] for name in DATASETS}
    catalog = DataCatalog.from_config(
        config, load_versions=load_versions, save_version=run_version
    )
    catalog["params:inference"] = MemoryDataset(
        InferenceParams(**loader["parameters"]["inference"])
    )
    return catalog


def output(name: str, version: str = RUN_VERSION) -> Path:
    """Where the run of ``version`` wrote the versioned dataset ``name`` of conf/."""
    path = Path(conf_loader(Path.cwd())["catalog"][name]["filepath"])
    return path / version / path.name


def save_model(classifier: TrainedClassifier, version: str = MODEL_VERSION) -> None:
    """Saves a model where `kedro run` would, as a version of the catalog's classifier."""
    filepath = conf_loader(Path.cwd())["catalog"]["classifier"]["filepath"]
    ClassifierDataset(filepath=filepath, version=Version(None, version)).save(
        classifier
    )


def constant_model(digit: int, card: ModelCard) -> TrainedClassifier:
    """A model that says ``digit`` whatever it is shown."""
    model = keras.Sequential(
        [
            keras.Input((28, 28), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Flatten(),
            keras.layers.Dense(10, "softmax"),
        ]
    )
    model.layers[-1].set_weights([np.zeros((784, 10)), 5 * np.eye(10)[digit]])
    return TrainedClassifier(model, card)


def run(catalog: DataCatalog) -> None:
    SequentialRunner().run(create_pipeline(), catalog)


@pytest.mark.parametrize(
    "runtime_params",
    [{"input_dir": "photos/a"}, {"inference": {"input_dir": "photos/a"}}],
    ids=["input_dir", "inference.input_dir"],
)
def test_the_folder_read_is_the_folder_named_either_way(runtime_params):
    loader = OmegaConfigLoader(
        conf_source="conf",
        base_env="base",
        default_run_env="test",
        runtime_params=runtime_params,
        custom_resolvers=CONFIG_LOADER_ARGS["custom_resolvers"],
    )
    catalog = loader["catalog"]
    assert loader["parameters"]["inference"]["input_dir"] == "photos/a"
    assert catalog["digit_images"]["path"] == "photos/a"
    assert catalog["digit_image_stamps"]["path"] == "photos/a"
    for journal in ("classified_before", "classified_files"):
        assert "/folders/a-" in catalog[journal]["path"]


def test_inference_is_registered_and_not_part_of_the_default_run():
    bootstrap_project(Path.cwd())
    project_pipelines.set_requested(None)
    pipelines = register_pipelines()
    inference = {node.name for node in pipelines["inference"].nodes}
    assert inference == {
        "predict_digits",
        "collect_predictions",
        "preview_sheet_images",
        "plot_predictions_sheet",
    }
    assert not inference & {node.name for node in pipelines["__default__"].nodes}
    assert pipelines["inference"].inputs() == {
        "digit_images",
        "digit_image_stamps",
        "classified_before",
        "classifier",
        "params:inference",
    }


def test_a_realistic_folder_is_classified_nearly_as_well_as_raw_mnist(
    project_copy, tiny_model, sample_test, bad_files
):
    images, labels = sample_test
    folder = project_copy / "photos"
    truth = write_realistic_folder(images, labels, folder / "realistic", seed=0)
    for name, (content, _) in bad_files.items():
        (folder / "bad" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "bad" / name).write_bytes(content)
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    save_model(tiny_model)

    run(project_catalog(folder))

    predictions = pd.read_csv(output("predictions"))
    assert len(predictions) == len(truth) + len(bad_files)  # not the hidden file
    statuses = dict(zip(predictions["image"], predictions["status"]))
    assert {name: statuses[f"bad/{name}"] for name in bad_files} == {
        name: status for name, (_, status) in bad_files.items()
    }
    predicted = dict(zip(predictions["image"], predictions["prediction"]))
    pipeline = np.mean(
        [predicted[f"realistic/{name}"] == label for name, label in truth.items()]
    )
    raw = np.mean(tiny_model.predict(images).argmax(1) == labels)
    naive_views = [
        255
        - np.asarray(
            Image.open(folder / "realistic" / name).convert("L").resize((28, 28))
        )
        for name in truth
    ]
    naive = np.mean(
        tiny_model.predict(np.stack(naive_views)).argmax(1) == list(truth.values())
    )
    assert raw > 0.75  # the tiny model is a real one
    assert pipeline >= raw - 0.05  # 200 images: 0.5 points each
    assert naive < pipeline - 0.4  # the preprocessing is what makes it work
    with Image.open(output("predictions_sheet")) as sheet:
        sheet.verify()
        assert sheet.width > 800 and sheet.height > 1000  # 60 images, two views each


def test_load_versions_picks_an_older_model(project_copy, paper_digit, model_card):
    save_model(constant_model(3, model_card), "2026-01-01T00.00.00.000Z")
    save_model(constant_model(5, model_card), "2026-01-01T12.00.00.000Z")
    folder = project_copy / "photos"
    folder.mkdir()
    (folder / "digit.png").write_bytes(png_bytes(paper_digit))

    run(project_catalog(folder))
    run(
        project_catalog(
            folder,
            load_versions={"classifier": "2026-01-01T00.00.00.000Z"},
            run_version="2026-01-03T00.00.00.000Z",
        )
    )

    latest, older = (
        pd.read_csv(output("predictions", run))
        for run in [RUN_VERSION, "2026-01-03T00.00.00.000Z"]
    )
    assert list(latest["prediction"]) == [5] and list(older["prediction"]) == [3]


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_a_missing_or_empty_folder_is_an_error_naming_it(
    project_copy, tiny_model, kind
):
    folder = project_copy / "nowhere"
    if kind == "empty":
        folder.mkdir()
    save_model(tiny_model)
    with pytest.raises(DatasetError, match=f"No partitions found in '{folder}'"):
        run(project_catalog(folder))


def test_a_folder_without_a_usable_image_is_an_error_naming_it(
    project_copy, tiny_model, bad_files
):
    folder = project_copy / "photos"
    folder.mkdir()
    for name, (content, _) in bad_files.items():
        (folder / name).write_bytes(content)
    save_model(tiny_model)
    with pytest.raises(ValueError, match=f"No usable image in '{folder}'"):
        run(project_catalog(folder))
