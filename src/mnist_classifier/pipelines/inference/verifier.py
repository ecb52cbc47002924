"""The piece verifier: whether a candidate digit that ``numbers`` found is one whole
digit, not a piece of one or two digits run together. Its log-odds is one of the
features by which ``numbers.choose`` picks where touching digits are cut."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np

#: The piece verifier's weights: written by ``scripts/fit_piece_verifier.py``.
VERIFIER_FILE = Path(__file__).with_name("piece_verifier.npz")


class PieceVerifier(NamedTuple):
    """A small convolutional network that tells a whole digit's 28x28 view from a
    piece of a digit or two digits run together, which the classifier, having seen only
    whole digits, reads as surely as any.

    Two 3x3 convolutions (ReLU, 2x2 max-pooling each), a hidden layer, one output, in
    plain NumPy so that the worker processes that find candidates need no TensorFlow.
    Fitted by ``scripts/fit_piece_verifier.py`` on the candidate digits of numbers of
    MNIST *training* digits, each labelled by whether it is where a digit was drawn; it
    reads no classifier's output, so it serves every model version.
    """

    conv1: np.ndarray  # (3, 3, 1, filters1)
    conv1_bias: np.ndarray  # (filters1,)
    conv2: np.ndarray  # (3, 3, filters1, filters2)
    conv2_bias: np.ndarray  # (filters2,)
    hidden: np.ndarray  # (5 * 5 * filters2, units)
    hidden_bias: np.ndarray  # (units,)
    output: np.ndarray  # (units,)
    output_bias: float

    def log_odds(self, views: np.ndarray) -> np.ndarray:
        """The log-odds that each of (n, 28, 28) uint8 views is one whole digit."""
        pixels = views[..., None].astype(np.float32) / 255
        maps = _conv_relu_pool(pixels, self.conv1, self.conv1_bias)
        maps = _conv_relu_pool(maps, self.conv2, self.conv2_bias)
        flat = maps.reshape(len(views), -1)
        hidden = np.maximum(flat @ self.hidden + self.hidden_bias, 0)
        return hidden @ self.output + self.output_bias

    @classmethod
    def of_keras(cls, weights: list[np.ndarray]) -> PieceVerifier:
        """The verifier of a Keras network's ``get_weights()``: its two ``Conv2D``, its
        hidden and its output ``Dense`` layers' kernels and biases, in that order, as
        ``scripts/fit_piece_verifier.py`` builds and trains it."""
        *layers, output, output_bias = weights
        return cls(*layers, output[:, 0], float(output_bias[0]))

    def save(self, path: Path) -> None:
        """Writes the weights as ``load`` reads them."""
        np.savez_compressed(path, **self._asdict())

    @classmethod
    def load(cls, path: Path) -> PieceVerifier:
        """Reads weights ``save`` wrote.

        Raises:
            FileNotFoundError: naming the file and the script that writes it.
        """
        if not path.is_file():
            raise FileNotFoundError(
                f"The piece verifier's weights {path} are missing: they ship with the "
                "package; `python scripts/fit_piece_verifier.py` writes them again."
            )
        with np.load(path) as weights:
            return cls(**{field: weights[field] for field in cls._fields})


def _conv_relu_pool(
    maps: np.ndarray, kernel: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    """A 3x3 convolution without padding, ReLU, then 2x2 max-pooling (as Keras's
    ``Conv2D``, ``MaxPooling2D``) of (n, height, width, channels) maps: one matrix
    product over every 3x3 patch, pooled before the bias and ReLU, which commute
    with taking the maximum and so cost a quarter as much."""
    count, height, width, channels = maps.shape
    height, width = height - 2, width - 2
    patches = np.lib.stride_tricks.sliding_window_view(maps, (3, 3), axis=(1, 2))
    patches = patches.reshape(count * height * width, channels * 9)
    weights = kernel.transpose(2, 0, 1, 3).reshape(channels * 9, -1)
    out = (patches @ weights).reshape(count, height, width, -1)
    rows, cols = slice(0, height // 2 * 2, 2), slice(0, width // 2 * 2, 2)
    below, right = slice(1, height, 2), slice(1, width, 2)
    pooled = np.maximum(
        np.maximum(out[:, rows, cols], out[:, rows, right]),
        np.maximum(out[:, below, cols], out[:, below, right]),
    )
    return np.maximum(pooled + bias, 0)


@functools.cache
def _verifier() -> PieceVerifier:
    return PieceVerifier.load(VERIFIER_FILE)


def whole(views: np.ndarray) -> np.ndarray:
    """The shipped piece verifier's log-odds that each view is one whole digit."""
    return _verifier().log_odds(views)
