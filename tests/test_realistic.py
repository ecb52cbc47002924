"""Phone photos of handwritten digits (``mnist_classifier.realistic``): size, EXIF
orientation, reproducibility, and that the inference preprocessing reads them."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PIL import Image, ImageOps

from mnist_classifier import realistic
from mnist_classifier.pipelines.inference.preprocessing import to_mnist
from mnist_classifier.realistic import (
    EXIF_ORIENTATION,
    PHONE_PHOTO_SIZE,
    render_camera_photo,
    write_camera_folder,
)

#: A quarter of a phone photo's sides: the same photo, 16 times fewer pixels.
SMALL = (1008, 756)


@pytest.fixture(scope="module")
def digits(sample_test) -> tuple[np.ndarray, np.ndarray]:
    images, labels = sample_test
    return images[:6], labels[:6]


def resemblance(view: np.ndarray, digit: np.ndarray) -> float:
    """Correlation of a 28x28 view with the MNIST digit it was made from."""
    return float(np.corrcoef(view.ravel(), digit.ravel().astype(np.float64))[0, 1])


def test_photo_is_rgb_of_its_size_and_reproducible_by_seed(digits):
    images, _ = digits
    photo = render_camera_photo(images[0], np.random.default_rng(3), size=SMALL)
    assert photo.mode == "RGB"
    assert photo.size == SMALL
    again = render_camera_photo(images[0], np.random.default_rng(3), size=SMALL)
    other = render_camera_photo(images[0], np.random.default_rng(4), size=SMALL)
    assert np.array_equal(np.asarray(photo), np.asarray(again))
    assert not np.array_equal(np.asarray(photo), np.asarray(other))


def test_photo_is_dark_ink_on_light_paper(digits):
    images, _ = digits
    pixels = np.asarray(
        render_camera_photo(images[1], np.random.default_rng(0), size=SMALL).convert(
            "L"
        )
    )
    paper, ink = np.percentile(pixels, [50, 0.5])
    assert paper > 120  # paper, even in a shadow and dark corners
    assert paper - ink > 100  # the pen stands out
    assert (pixels < paper - 60).mean() < 0.2  # and is a digit, not the page


# Most of these photos have a shadow across the page (15-35% darker), which the
# paper's plane cannot follow: preprocessing.even_out_shadows lifts it.
@pytest.mark.parametrize(
    ("index", "seed"), [(0, 0), (1, 1), (2, 6), (0, 2), (1, 4), (2, 7)]
)
def test_preprocessing_reads_the_digit_in_a_photo(digits, index, seed):
    images, _ = digits
    photo = render_camera_photo(images[index], np.random.default_rng(seed), size=SMALL)
    view = to_mnist(photo)
    assert view.shape == (28, 28)
    assert view.dtype == np.uint8
    assert resemblance(view, images[index]) > 0.7


@pytest.mark.parametrize("size", [(1001, 750), (1004, 750), (1008, 756)])
def test_a_photo_of_any_width_is_ruled_across(digits, size):
    images, _ = digits
    photo = render_camera_photo(images[0], np.random.default_rng(3), size=size)
    assert photo.size == size
    rulings = realistic._rulings(size, size[0] / 4032, np.random.default_rng(3))
    assert rulings.shape == (size[1], size[0])
    assert (rulings.max(axis=0) > 0.1).all()  # every column, the last ones too


def test_folder_holds_jpegs_some_stored_sideways(digits, tmp_path, monkeypatch):
    """Small photos (``render_camera_photo`` at a quarter size) for the bookkeeping."""
    small = functools.partial(realistic.render_camera_photo, size=SMALL)
    monkeypatch.setattr(realistic, "render_camera_photo", small)
    images, labels = digits
    truth = write_camera_folder(images, labels, tmp_path, seed=1, sideways=0.5)

    assert truth == {f"photo_{i:05d}.jpg": int(label) for i, label in enumerate(labels)}
    orientations = []
    for name in truth:
        with Image.open(tmp_path / name) as stored:
            assert stored.format == "JPEG"
            orientation = stored.getexif()[EXIF_ORIENTATION]
            assert stored.size == (SMALL if orientation == 1 else SMALL[::-1])
            assert ImageOps.exif_transpose(stored).size == SMALL
        orientations.append(orientation)
    assert set(orientations) <= {1, 6, 8}
    assert 1 in orientations
    assert {6, 8} & set(orientations)


def test_full_size_sideways_photo_comes_out_upright(digits, tmp_path):
    """A 12-megapixel photo stored turned, as a phone held sideways stores it."""
    images, labels = digits
    write_camera_folder(images[:1], labels[:1], tmp_path, seed=5, sideways=1.0)
    path = tmp_path / "photo_00000.jpg"
    with Image.open(path) as stored:
        assert stored.format == "JPEG"
        assert stored.size == PHONE_PHOTO_SIZE[::-1]  # 3024x4032, portrait
        assert stored.getexif()[EXIF_ORIENTATION] in (6, 8)
        upright = ImageOps.exif_transpose(stored)
    assert upright.size == PHONE_PHOTO_SIZE  # 4032x3024, landscape
    assert 0.5e6 < path.stat().st_size < 8e6  # a phone JPEG's few MB
    # upright means as rendered: the folder's first photo is its seed's first draw
    rendered = render_camera_photo(images[0], np.random.default_rng(5))
    difference = np.abs(
        np.asarray(upright.reduce(8), np.float32)
        - np.asarray(rendered.reduce(8), np.float32)
    )
    assert difference.mean() < 3
