"""Fixtures of the inference tests: digits as people's images, bad files, models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.pipelines.data_processing.nodes import one_hot_labels
from mnist_classifier.pipelines.inference import workers

from .helpers import on_paper, png_bytes, png_header


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


@pytest.fixture
def started(monkeypatch) -> list[int]:
    """The worker counts of the pools the nodes start (each started, of 2 workers)."""
    counts = []
    real_pool = workers.worker_pool
    monkeypatch.setattr(
        workers, "worker_pool", lambda count: counts.append(count) or real_pool(2)
    )
    return counts
