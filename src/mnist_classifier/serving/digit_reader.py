"""The whole inference path as one MLflow pyfunc model: image files in, predictions out.

``DigitReader`` takes a DataFrame with a column ``image`` of file bytes (any format and
size Pillow reads) and answers one row per image with the columns of the inference
pipeline's ``predictions.csv``: ``prediction``, ``confidence``, ``p0``..., ``digits``,
``digit_confidences`` and ``status``. It runs the same functions as the pipeline
(``reading.preparer``, with the same limits, ``inference.time_limit`` included, and
``classify_prepared``): there is one preprocessing code path, never a copy. A broken or
too slow file gets its status, as in the pipeline, and the other images are answered.

Every training run logs one (``hooks/registry.py``): the Keras file and its card as
artifacts, the package's code beside them, the class names in the model's metadata.
"""

from __future__ import annotations

import functools
import io
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from PIL import Image

import mnist_classifier
from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.datasets import ClassifierDataset
from mnist_classifier.params import InferenceParams, Layout
from mnist_classifier.pipelines.inference.classify import classify_prepared, tabulate
from mnist_classifier.pipelines.inference.reading import PreparedImage, preparer

#: What the served model reads: one image file per row, base64 in MLflow's JSON.
INPUT = Schema([ColSpec("binary", "image")])
#: What a logged model needs to run; pinned to what is installed when it is logged.
REQUIREMENTS = (
    "keras",
    "tensorflow-cpu",
    "numpy",
    "pandas",
    "pillow",
    "scipy",
    "pydantic",
    "kedro",
    "kedro-datasets",
    "matplotlib",
    "mlflow",
)


def png_bytes(image: Image.Image) -> bytes:
    """The image as a PNG file."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def blank_png(shape: tuple[int, int]) -> bytes:
    """A plain image: the logged model's input example, answered ``empty image``."""
    return png_bytes(Image.new("L", shape[::-1], 255))


def signature(class_names: list[str]) -> ModelSignature:
    """Image bytes in; per image the prediction, its confidence, p0..pN, the digits read
    (several for a number) with their confidences, and a status."""
    outputs = [
        ColSpec("long", "prediction", required=False),
        ColSpec("double", "confidence", required=False),
        *(ColSpec("double", f"p{k}", required=False) for k in range(len(class_names))),
        ColSpec("string", "digits", required=False),
        ColSpec("string", "digit_confidences", required=False),
        ColSpec("string", "status"),
    ]
    return ModelSignature(inputs=INPUT, outputs=Schema(outputs))


class DigitReader(mlflow.pyfunc.PythonModel):
    """Reads digits from image files as the inference pipeline does; MLflow's pyfunc.

    MLflow makes it empty and calls ``load_context``; code that has the classifier at
    hand (a test, a script) passes it and the settings directly.
    """

    def __init__(
        self,
        classifier: TrainedClassifier | None = None,
        inference: InferenceParams | None = None,
    ) -> None:
        self.classifier, self.inference = classifier, inference

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Loads the classifier (Keras file and card) and the inference settings."""
        folder = Path(context.artifacts["classifier"])
        self.classifier = ClassifierDataset(
            filepath=str(folder / "classifier.keras")
        ).load()
        self.inference = InferenceParams.model_validate(context.model_config)

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One row per image: prediction, confidence, p0..pN, the digits read and
        their confidences, status (``ok`` or why not)."""
        return read_digits(list(model_input["image"]), self.classifier, self.inference)

    def warm_up(self) -> None:
        """Reads one drawn stroke, so that the first request does not wait for
        TensorFlow to trace the model."""
        shape = self.classifier.card.image_shape
        stroke = Image.new("L", shape[::-1], 255)
        stroke.paste(0, (shape[1] // 2 - 1, 4, shape[1] // 2 + 2, shape[0] - 4))
        self.read([png_bytes(stroke)])

    def with_layout(self, layout: Layout) -> DigitReader:
        """The same model reading every image as ``layout`` says (digit, number, auto)."""
        return DigitReader(
            self.classifier, self.inference.model_copy(update={"layout": layout})
        )

    def read(
        self, files: list[bytes], with_thumbnails: bool = True
    ) -> tuple[pd.DataFrame, list[PreparedImage]]:
        """``predict``'s rows for the files, and what the model saw of each."""
        return read_images(
            files, self.classifier, self.inference, with_thumbnails=with_thumbnails
        )


def read_digits(
    files: list[bytes], classifier: TrainedClassifier, inference: InferenceParams
) -> pd.DataFrame:
    """Classifies image files given as bytes, exactly as the inference pipeline does."""
    return read_images(files, classifier, inference, with_thumbnails=False)[0]


def read_images(
    files: list[bytes],
    classifier: TrainedClassifier,
    inference: InferenceParams,
    *,
    with_thumbnails: bool,
) -> tuple[pd.DataFrame, list[PreparedImage]]:
    """``read_digits``'s table, and each file's 28x28 view (and thumbnail) for display."""
    work = preparer(inference, with_thumbnail=with_thumbnails)
    prepared = [work(functools.partial(bytes, data)) for data in files]
    read = classify_prepared(prepared, classifier)
    names = [str(index) for index in range(len(files))]
    table = tabulate(names, read, classifier.card.class_names)
    return table.drop(columns="image"), [item for item, _ in read]


def log_digit_reader(
    classifier: TrainedClassifier, inference: InferenceParams, name: str
) -> mlflow.models.model.ModelInfo:
    """Logs the classifier as a ``DigitReader`` to the active MLflow run.

    The Keras file and its card are the model's artifacts, the package's code travels
    with it (so a served copy preprocesses as this version did), and the dataset and
    class names are in its metadata.
    """
    card = classifier.card
    with tempfile.TemporaryDirectory() as tmp:
        ClassifierDataset(filepath=f"{tmp}/classifier.keras").save(classifier)
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=str(Path(__file__).with_name("model_code.py")),
            artifacts={"classifier": tmp},
            model_config=inference.model_dump(mode="json"),
            code_paths=[str(Path(mnist_classifier.__file__).parent)],
            signature=signature(card.class_names),
            input_example=pd.DataFrame({"image": [blank_png(card.image_shape)]}),
            metadata={"dataset": card.dataset, "class_names": card.class_names},
            pip_requirements=[
                f"{package}=={version(package)}" for package in REQUIREMENTS
            ],
        )
