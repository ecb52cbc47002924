"""Helpers the inference tests import: digits drawn as people's images, files' bytes,
a folder read as the pipeline reads it, and how alike two images are."""

from __future__ import annotations

import functools
import io
import struct
import time
import zlib

import numpy as np
import pandas as pd
from PIL import Image

from mnist_classifier.params import InferenceParams
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


def slow_load(loader) -> bytes:
    """A partition loader that takes a minute to read a file (picklable, for the
    worker processes and the cluster's workers)."""
    time.sleep(60)
    return loader()
