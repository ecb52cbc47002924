"""Unit tests of preprocessing's own helpers (its behaviour on images: test_nodes.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mnist_classifier.pipelines.inference.preprocessing import (
    _centre_of_mass,
    percentile,
    stroke_width,
)


@pytest.mark.parametrize("q", [0, 10, 50, 90, 99.5, 100])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_percentile_is_numpys_to_the_bit(q: float, dtype: type) -> None:
    rng = np.random.default_rng(int(q * 10))
    for size in [1, 2, 3, 7, 100, 1001, 4096]:
        values = (rng.random(size) * 255).astype(dtype)
        values = values.reshape(-1, 1) if size % 2 else values  # any shape
        assert percentile(values, q) == float(np.percentile(values, q))


def test_percentile_leaves_its_input_as_it_was() -> None:
    values = np.float32([5, 1, 4, 2, 3])
    percentile(values, 90)
    np.testing.assert_array_equal(values, np.float32([5, 1, 4, 2, 3]))


def test_centre_of_mass_is_scipys_to_the_bit() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        box = (rng.random(rng.integers(1, 21, 2)) * 255).astype(np.uint8)
        box[0, 0] = max(box[0, 0], 1)  # some ink
        assert _centre_of_mass(box) == tuple(map(float, ndimage.center_of_mass(box)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_percentile_is_numpys_to_the_bit_at_any_q(dtype: type) -> None:
    # Few values, so that neighbours lie far apart and each way to interpolate (from
    # below under a weight of 0.5, from above at or over it) rounds its own way.
    rng = np.random.default_rng(1)
    for _ in range(300):
        values = (rng.random(rng.integers(2, 12)) * 255).astype(dtype)
        q = float(rng.uniform(0, 100))
        assert percentile(values, q) == float(np.percentile(values, q))


@pytest.mark.parametrize("width", [3, 5, 8])
def test_stroke_width_of_a_long_bar_is_its_width(width: int) -> None:
    mask = np.zeros((200, 30), bool)
    mask[10:190, 5 : 5 + width] = True
    assert stroke_width(mask) == pytest.approx(width, rel=0.05)
    assert stroke_width(mask.T) == stroke_width(mask)


def test_stroke_width_of_no_ink_is_zero() -> None:
    assert stroke_width(np.zeros((5, 5), bool)) == 0
