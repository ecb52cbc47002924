"""Fixtures of the inference tests: digits as people's images, bad files, models."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines.data_processing.nodes import one_hot_labels
from mnist_classifier.pipelines.inference import workers
from mnist_classifier.pipelines.inference.nodes import (
    collect_predictions,
    predict_digits,
)


def on_paper(digit: np.ndarray, size=(160, 110), at=(66, 16), scale=3) -> np.ndarray:
    """Draws an MNIST digit as dark ink on light grey paper, small and off-centre."""
    ink = Image.fromarray(digit).resize(
        (28 * scale, 28 * scale), Image.Resampling.BICUBIC
    )
    alpha = np.zeros(size[::-1], np.float32)
    alpha[at[1] : at[1] + ink.height, at[0] : at[0] + ink.width] = np.asarray(ink) / 255
    return np.uint8(np.round(210 - 180 * alpha))


def read_folder(
    digit_images: dict,
    classifier,
    inference: InferenceParams,
    *,
    stamps: dict | None = None,
    before: dict[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Runs ``predict_digits`` and ``collect_predictions`` as the pipeline does, with
    the folder's journal in memory (``before``: its batches, to which this run's are
    added); returns the folder's predictions. Without stamps every file is read."""
    journal = dict(before or {})
    chunks = list(
        predict_digits(digit_images, stamps or {}, dict(journal), classifier, inference)
    )
    for batch, _ in chunks:
        journal |= batch
    plan = chunks[-1][1]  # every chunk carries the plan
    if before is not None:
        before |= journal
    loaders = {
        name: functools.partial(lambda rows: rows, rows)
        for name, rows in journal.items()
    }
    return collect_predictions(loaders, plan, inference)


def png_bytes(image: Image.Image, **save_args) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=save_args.pop("format", "PNG"), **save_args)
    return buffer.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A valid PNG that declares ``width`` x ``height`` pixels but holds almost none."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def digit(sample_test) -> tuple[np.ndarray, int]:
    """The first digit of the shipped MNIST test sample (a 7) and its label."""
    images, labels = sample_test
    return images[0], int(labels[0])


@pytest.fixture(scope="session")
def paper_digit(digit) -> Image.Image:
    """That digit as a grayscale photo: dark ink on light paper, small, off-centre."""
    return Image.fromarray(on_paper(digit[0]))


@pytest.fixture
def write_files(tmp_path: Path) -> Callable[[dict[str, bytes]], Path]:
    """Writes ``{relative path: content}`` into a fresh folder and returns the folder."""

    def write(files: dict[str, bytes]) -> Path:
        folder = tmp_path / "images"
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(content)
        return folder

    return write


@pytest.fixture(scope="session")
def bad_files(paper_digit) -> dict[str, tuple[bytes, str]]:
    """Every kind of bad file, with the status it must get."""
    good = png_bytes(paper_digit)
    jpeg = png_bytes(paper_digit.convert("RGB"), format="JPEG", quality=90)
    return {
        "empty.png": (b"", "empty file"),
        "notes.png": (b"Shopping list: milk, eggs, 7 apples.\n", "not an image"),
        "readme.txt": (b"Not an image at all.\n", "not an image"),
        "truncated.png": (good[: len(good) // 2], "unreadable: truncated file"),
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "unreadable: truncated file"),
        "blank.png": (png_bytes(Image.new("L", (64, 48), 230)), "empty image"),
        "one_pixel.png": (png_bytes(Image.new("RGB", (1, 1), "white")), "empty image"),
        "huge.png": (png_header(12_000, 12_000), "too large"),
    }


@pytest.fixture(scope="session")
def odd_modes(digit, paper_digit) -> dict[str, bytes]:
    """The digit in every mode and format people's files come in; all are usable."""
    ink = Image.fromarray(on_paper(digit[0]) < 128)  # True where the ink is
    alpha = Image.fromarray(
        np.uint8((210 - on_paper(digit[0]).astype(int)) * 255 // 180)
    )
    rgba = Image.new("RGBA", paper_digit.size, (20, 30, 90, 0))
    rgba.putalpha(alpha)
    palette = paper_digit.convert("RGB").quantize(8)
    sixteen = Image.fromarray(np.uint16(np.asarray(paper_digit)) * 257)
    frames = [paper_digit, Image.new("L", paper_digit.size, 210)]
    animated = png_bytes(
        frames[0], format="GIF", save_all=True, append_images=frames[1:]
    )
    return {
        "rgb.jpg": png_bytes(paper_digit.convert("RGB"), format="JPEG", quality=85),
        "rgba_on_transparent.png": png_bytes(rgba),
        "grey_alpha.png": png_bytes(paper_digit.convert("LA")),
        "palette.png": png_bytes(palette),
        "sixteen_bit.png": png_bytes(sixteen),
        "cmyk.jpg": png_bytes(paper_digit.convert("CMYK"), format="JPEG", quality=90),
        "animated.gif": animated,
        "bilevel.png": png_bytes(ink.convert("1")),
        "float.tif": png_bytes(paper_digit.convert("F"), format="TIFF"),
    }


@pytest.fixture(scope="session")
def tiny_model(sample_train, dataset_params, model_card) -> TrainedClassifier:
    """A small CNN fitted in a few seconds on the 600-image training sample."""
    keras.utils.set_random_seed(0)
    images, labels = sample_train
    model = keras.Sequential(
        [
            keras.Input((28, 28), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    targets = one_hot_labels(labels, dataset_params)
    model.fit(images, targets, batch_size=32, epochs=12, verbose=0)
    return TrainedClassifier(model, model_card)


COLUMNS = [
    "image",
    "prediction",
    "confidence",
    *[f"p{k}" for k in range(10)],
    "digits",
    "digit_confidences",
    "status",
]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two images are, allowing a shift of a pixel (centring rounds)."""
    return max(
        float(np.corrcoef(np.roll(a, (dy, dx), (0, 1)).ravel(), b.ravel())[0, 1])
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


def decoded(content: bytes) -> Image.Image:
    """Decodes a file's bytes, as the preprocessing does."""
    return Image.open(io.BytesIO(content))


@pytest.fixture
def started(monkeypatch) -> list[int]:
    """The worker counts of the pools the nodes start (each started, of 2 workers)."""
    counts = []
    real_pool = workers.worker_pool
    monkeypatch.setattr(
        workers, "worker_pool", lambda count: counts.append(count) or real_pool(2)
    )
    return counts
