"""Unit tests of preprocessing: an image decoded and made an MNIST-style digit, and
its own helpers."""

from __future__ import annotations

import numpy as np
import pytest
from kedro.io import DatasetError
from PIL import Image, ImageOps
from scipy import ndimage

from mnist_classifier.pipelines.inference.preprocessing import (
    UnusableImageError,
    _centre_of_mass,
    _where_to_look,
    even_out_shadows,
    percentile,
    read_image,
    stroke_width,
    to_grayscale,
    to_mnist,
)
from mnist_classifier.pipelines.inference.reading import prepare

from .helpers import correlation, decoded, on_paper, png_bytes


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


def test_an_mnist_digit_comes_back_as_itself(digit):
    view = to_mnist(Image.fromarray(digit[0]))
    assert view.dtype == np.uint8 and view.shape == (28, 28)
    assert correlation(view, digit[0]) > 0.95


def test_a_photo_is_made_to_look_like_mnist(paper_digit, digit):
    view = to_mnist(paper_digit)
    rows, cols = np.flatnonzero(view.any(axis=1)), np.flatnonzero(view.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert max(height, width) in (19, 20)  # fitted into 20x20 ...
    assert np.allclose(
        ndimage.center_of_mass(view), 14, atol=0.6
    )  # ... centred by mass
    assert view.max() >= 250 and view[0].max() == 0  # light ink on black
    assert correlation(view, digit[0]) > 0.9


def test_polarity_paper_tone_and_uneven_light_do_not_matter(paper_digit):
    reference = to_mnist(paper_digit)
    chalkboard = ImageOps.invert(paper_digit)
    dark_paper = Image.fromarray(np.uint8(np.asarray(paper_digit) * 0.6))
    light = np.linspace(0.55, 1.0, paper_digit.width)[None, :]
    shadowed = Image.fromarray(np.uint8(np.asarray(paper_digit) * light))
    for image in [chalkboard, dark_paper, shadowed]:
        assert correlation(to_mnist(image), reference) > 0.95


def test_aspect_ratio_is_kept():
    bar = np.full((120, 100), 220, np.uint8)
    bar[20:80, 40:48] = 20  # a "1": 60 px tall, 8 wide
    view = to_mnist(Image.fromarray(bar))
    rows, cols = np.flatnonzero(view.any(axis=1)), np.flatnonzero(view.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20
    assert 2 <= cols[-1] - cols[0] + 1 <= 5


def test_specks_of_dust_are_not_part_of_the_digit(paper_digit):
    dusty = np.asarray(paper_digit).copy()
    dusty[[5, 100, 8], [5, 10, 140]] = 0
    assert correlation(to_mnist(Image.fromarray(dusty)), to_mnist(paper_digit)) > 0.99


def test_hairline_strokes_are_widened_to_mnists():
    ring = np.full((300, 300), 230, np.uint8)
    rows, cols = np.ogrid[:300, :300]
    distance = np.hypot((rows - 150) / 1.4, cols - 150)
    ring[np.abs(distance - 80) < 1.5] = 30  # a "0" drawn with a 3 px pen, 230 px tall
    view = to_mnist(Image.fromarray(ring))
    stroke = view > 128
    width = 2 * stroke.sum() / (stroke & ~ndimage.binary_erosion(stroke)).sum()
    assert width >= 1.8  # without widening it would be well under 1 px, and faint


def test_strokes_thicker_than_the_shadow_search_are_not_lifted_as_a_shadow():
    """A small digit enlarged (other writers' 8x8 digits) has strokes wider than the
    closing that finds shadows; dividing by that "paper" hollowed them out."""
    page = np.full((200, 200), 220, np.uint8)
    rows, cols = np.ogrid[:200, :200]
    distance = np.hypot((rows - 100) / 1.4, cols - 100)
    page[np.abs(distance - 45) < 15] = 40  # a "0" with 30 px strokes
    image = Image.fromarray(page)
    assert even_out_shadows(image) is image
    assert (to_mnist(image) > 200).sum() > 130  # solid strokes (hollowed: under 100)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (80, 60), 235),
        Image.new("RGB", (1, 1), "white"),
        Image.fromarray(np.uint8(np.random.default_rng(0).normal(200, 4, (90, 120)))),
    ],
    ids=["blank", "one_pixel", "paper_noise_only"],
)
def test_an_image_without_a_digit_is_empty(image):
    with pytest.raises(UnusableImageError, match="^empty image$"):
        to_mnist(image)


@pytest.mark.parametrize(
    "name",
    [
        "rgb.jpg",
        "rgba_on_transparent.png",
        "grey_alpha.png",
        "palette.png",
        "sixteen_bit.png",
        "cmyk.jpg",
        "animated.gif",
        "bilevel.png",
        "float.tif",
    ],
)
def test_every_mode_gives_the_same_digit(name, odd_modes, paper_digit):
    image = decoded(odd_modes[name])
    assert to_grayscale(image).mode == "L"
    assert correlation(to_mnist(image), to_mnist(paper_digit)) > 0.9


def test_a_float_image_holding_nan_is_read(paper_digit):
    values = np.asarray(paper_digit, dtype=np.float32).copy()
    values[0, 0] = np.nan  # a float TIFF may hold NaN: no ink there, not a crash
    image = Image.fromarray(values)
    assert correlation(to_mnist(image), to_mnist(paper_digit)) > 0.95


def test_nan_or_infinity_in_a_float_image_is_paper_not_ink(paper_digit):
    values = np.asarray(paper_digit, dtype=np.float32).copy()
    width = values.shape[1]
    values[:, width - 12 : width - 9] = np.nan  # a bar beside the digit
    values[2, 2], values[-3, -3] = np.inf, -np.inf
    image = Image.fromarray(values)
    assert correlation(to_mnist(image), to_mnist(paper_digit)) > 0.95
    blank = np.full((60, 80), 230, np.float32)
    blank[:, 40:43] = np.nan
    with pytest.raises(UnusableImageError, match="^empty image$"):
        to_mnist(Image.fromarray(blank))


@pytest.mark.parametrize("bits", [10, 12])
def test_ten_or_twelve_bits_in_sixteen_are_scaled_from_their_depth(paper_digit, bits):
    values = np.asarray(paper_digit, np.uint16) * ((2**bits - 1) // 255)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    gray = np.asarray(to_grayscale(image), dtype=int)
    assert np.abs(gray - np.asarray(paper_digit, dtype=int)).max() <= 2


def test_sixteen_bit_is_scaled_not_clipped(odd_modes, paper_digit):
    image = decoded(odd_modes["sixteen_bit.png"])
    assert image.mode == "I;16"
    gray = np.asarray(to_grayscale(image), dtype=int)
    assert np.abs(gray - np.asarray(paper_digit, dtype=int)).max() <= 1


def test_ink_on_a_transparent_background_stays_ink(odd_modes):
    image = decoded(odd_modes["rgba_on_transparent.png"])
    assert image.getchannel("A").getextrema()[0] == 0  # the background is transparent
    gray = np.asarray(to_grayscale(image))
    assert gray[0, 0] == 255 and gray.min() < 80  # dark ink on white, not all black


def test_exif_orientation_is_applied(paper_digit):
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the stored pixels are rotated
    stored = paper_digit.transpose(Image.Transpose.ROTATE_90)
    image = decoded(
        png_bytes(stored.convert("RGB"), format="JPEG", quality=95, exif=exif)
    )
    assert correlation(to_mnist(image), to_mnist(paper_digit)) > 0.9


def test_a_camera_sized_jpeg_is_decoded_at_the_size_the_digit_needs(paper_digit):
    photo = paper_digit.convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC)
    data = png_bytes(photo, format="JPEG", quality=90)

    decoded_photo = read_image(lambda: data)

    assert decoded_photo.size == (504, 378)  # draft mode: 1/8 of each side
    small = prepare(lambda: png_bytes(paper_digit), False, max_pixels=10**8)
    large = prepare(lambda: data, False, max_pixels=10**8)
    assert large.status == "ok" and correlation(large.view, small.view) > 0.9


def test_the_digits_are_decoded_in_gray_and_a_thumbnail_in_colour(paper_digit):
    paper = Image.new("L", paper_digit.size, 255)
    blue_ink = Image.merge("RGB", (paper_digit, paper_digit, paper))
    photo = blue_ink.resize((1200, 1200), Image.Resampling.BICUBIC)
    data = png_bytes(photo, format="JPEG", quality=90)

    assert read_image(lambda: data, gray=True).mode == "L"  # the JPEG's own Y
    assert read_image(lambda: data).mode == "RGB"
    for_digits = prepare(lambda: data, False, max_pixels=10**8)
    for_sheet = prepare(lambda: data, True, max_pixels=10**8)
    assert for_sheet.thumbnail[..., 2].mean() > for_sheet.thumbnail[..., 0].mean()
    # The Y stored and Y computed from the decoded colours differ by rounding at most.
    difference = np.abs(for_digits.view.astype(int) - for_sheet.view).max()
    assert for_digits.status == "ok" and difference <= 8


def test_a_jpeg_far_longer_than_it_is_high_is_read(paper_digit):
    strip = png_bytes(Image.new("RGB", (4000, 3), "white"), format="JPEG")
    assert read_image(lambda: strip, gray=True).size == (2000, 2)  # drafted at 1/2


def test_a_loader_that_fails_is_not_read_and_a_bad_file_is_unreadable(paper_digit):
    def no_network() -> bytes:
        raise DatasetError("Failed while loading data") from ConnectionResetError(
            "Connection reset by peer"
        )

    with pytest.raises(
        UnusableImageError, match="^not read: Connection reset by peer$"
    ):
        read_image(no_network)
    cut = png_bytes(paper_digit)[:200]
    with pytest.raises(UnusableImageError, match="^unreadable: truncated file$"):
        read_image(lambda: cut)


def test_postscript_is_not_an_image_so_ghostscript_never_runs():
    # Pillow decodes EPS with Ghostscript, a program no time limit could stop.
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n{ } loop\n"
    with pytest.raises(UnusableImageError, match="^not an image$"):
        read_image(lambda: eps)


@pytest.mark.parametrize("chalk", [False, True], ids=["ink", "chalk"])
def test_a_mid_size_image_is_searched_where_its_small_copy_shows_the_digit(
    digit, chalk: bool
):
    page = on_paper(digit[0], size=(480, 360), at=(300, 40), scale=4)  # 112 px
    gray = Image.fromarray(255 - page if chalk else page)

    (rows, cols), dark = _where_to_look(gray)

    ink_rows, ink_cols = np.nonzero(np.asarray(page) < 150)
    assert rows.start <= ink_rows.min() and ink_rows.max() < rows.stop
    assert cols.start <= ink_cols.min() and ink_cols.max() < cols.stop
    assert (rows.stop - rows.start) * (cols.stop - cols.start) < 0.2 * 480 * 360
    assert dark is (not chalk)
    whole = _where_to_look(gray.crop((0, 0, 200, 150)))  # too small for a copy
    assert whole == (np.s_[:, :], None)
