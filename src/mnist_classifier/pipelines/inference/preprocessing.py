"""Turns any image of a handwritten digit into what MNIST's digits look like.

MNIST was made like this: light ink on black, the digit cropped to its ink, fitted into
20x20 keeping its aspect ratio, anti-aliased, then placed in 28x28 so that its centre
of mass is at the centre. People's images are dark ink on light paper of some tone,
any size and mode, the digit small and anywhere. ``to_mnist`` bridges the two.
"""

from __future__ import annotations

import contextlib
import functools
import io
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import NamedTuple

import numpy as np
from kedro.io import DatasetError
from PIL import ExifTags, Image, ImageOps
from scipy import ndimage

from mnist_classifier.datasets import FileTooLargeError, NotRegularFileError

#: MNIST's frame and the box the digit is fitted into, in pixels.
FRAME_SIZE = 28
BOX_SIZE = 20
#: Longer side images are reduced to before the ink is looked for (bounds the work).
WORKING_SIZE = 512
#: Images larger than about this squared are first searched in a copy about this size.
DETECTION_SIZE = 160
#: Weakest ink, in grey levels (0-255) away from the paper, that counts as a digit.
MIN_CONTRAST = 24
#: Share of a photo's paper a plane cannot follow (a shadow across it) above which the
#: paper is measured locally, in windows of at least this many pixels (working size).
UNEVEN_SHARE = 0.05
MIN_WINDOW = 24
#: Fewest ink pixels (at working size) that make a digit rather than a speck.
MIN_INK_PIXELS = 6
#: Share of the ink's level (its 90th percentile) above which a pixel is a stroke;
#: lower in the small copy the digit is first looked for in, whose strokes are blurred.
STROKE_LEVEL = 0.4
SMALL_COPY_STROKE_LEVEL = 0.25
#: Blobs of ink smaller than this share of the largest are specks, left out.
SPECK_SHARE = 0.05
#: Stroke width (pixels, once in the 20x20 box) below which strokes are widened, and
#: to what: about MNIST's thinnest and typical (docs/experiments.md, "The figures
#: behind three constants").
MIN_STROKE = 1.8
TARGET_STROKE = 2.5
#: Longer side of the images' copies on the contact sheet.
THUMBNAIL_SIZE = 96
#: A pixel's four neighbours, the structure scipy's morphology and labels default to;
#: made once, as building it for each call costs about as much as a digit's erosion.
FOUR_NEIGHBOURS = ndimage.generate_binary_structure(2, 1)
_HIGH_BIT_DEPTH = {"I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


#: The status of a file its loader failed to read (``not read: <why>``): the journal
#: reads it again, as a permission or a network may be back by the next run.
NOT_READ = "not read"


class UnusableImageError(ValueError):
    """A file that cannot be classified; the message is its status, e.g. ``too large``."""


#: Held while Pillow's limit is ours (``pixel_limit``).
_PILLOW_SETTINGS = threading.Lock()


@contextlib.contextmanager
def pixel_limit(max_pixels: int) -> Iterator[None]:
    """Makes ``Image.open`` refuse images above ``max_pixels`` before any is decoded.

    ``Image.open`` checks the size a file declares against ``Image.MAX_IMAGE_PIXELS``,
    warning above it and failing above twice it. Within this context the limit is ours
    and the warning is an error, so a 144-megapixel file costs its header, not 432 MB.
    Pillow's limit and the warning filters are process-wide, and a server reads
    several requests at once: one thread at a time holds them, the previous ones are
    restored on exit, and only opening (reading the header) belongs inside.
    """
    with _PILLOW_SETTINGS:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def read_image(
    loader: Callable[[], bytes], max_pixels: int | None = None, *, gray: bool = False
) -> Image.Image:
    """Reads a file with its loader and decodes it, no larger than the digit needs.

    A file declaring more than ``max_pixels`` pixels (default: Pillow's own limit) is
    refused before it is decoded. The limit is held only while the header is read: the
    file is read before (a read that hangs, and is abandoned by ``reading.within``,
    holds nothing) and decoded after.

    A JPEG much larger than ``WORKING_SIZE`` is decoded at 1/2, 1/4 or 1/8 of its size
    (Pillow's draft mode: the decoder skips the detail), to the size ``find_ink`` would
    reduce it to anyway: a 12-megapixel photo costs a fraction of its full decode.
    With ``gray``, a colour JPEG is decoded to its luminance alone (the ``Y`` it
    stores, which is what ``to_grayscale`` computes from its colours), sparing the
    colour conversion. Each way a file can be bad becomes a status.

    Raises:
        UnusableImageError: ``not a regular file``, ``empty file``, ``too large``,
            ``not an image``, ``unreadable: <why>`` (the file is bad) or
            ``not read: <why>`` (the loader failed: a permission, the network).
    """
    try:
        data = loader()
    except Exception as error:  # the filesystem's failure, not the file's
        raise UnusableImageError(_status(error, NOT_READ)) from error
    try:
        if not data:
            raise UnusableImageError("empty file")
        with pixel_limit(max_pixels) if max_pixels else contextlib.nullcontext():
            # The header, and its size checked.
            image = Image.open(io.BytesIO(data), formats=_image_formats())
        factor = -(-max(image.size) // WORKING_SIZE)
        if factor > 1 or gray:  # draft() changes nothing but JPEGs
            size = (max(image.width // factor, 1), max(image.height // factor, 1))
            image.draft("L" if gray else None, size)
        image.load()
        return image
    except Exception as error:  # a broken file can fail anywhere in a decoder
        raise UnusableImageError(_status(error)) from error


@functools.cache
def _image_formats() -> tuple[str, ...]:
    """Every format Pillow reads but EPS: decoding one runs Ghostscript, a program of
    its own that no time limit stops (an EPS file is ``not an image``)."""
    Image.init()
    return tuple(name for name in Image.OPEN if name != "EPS")


def _status(error: BaseException, failure: str = "unreadable") -> str:
    """Says in a few words why a file could not be read: a known reason, or
    ``<failure>: <the error's first line>``."""
    if isinstance(error, UnusableImageError):
        return str(error)
    while isinstance(error, DatasetError) and error.__cause__ is not None:
        error = error.__cause__  # the catalog wraps what Pillow raised
    if isinstance(error, NotRegularFileError):
        return "not a regular file"
    if isinstance(
        error,
        Image.DecompressionBombError
        | Image.DecompressionBombWarning
        | FileTooLargeError,
    ):
        return "too large"
    if isinstance(error, Image.UnidentifiedImageError):
        return "not an image"
    reason = str(error).split("\n")[0].strip() or type(error).__name__
    if "truncated" in reason.lower():
        reason = "truncated file"
    return f"{failure}: {reason[:60]}"


def to_grayscale(image: Image.Image) -> Image.Image:
    """Converts any mode to 8-bit luminance (``L``), upright as the camera was held.

    Transparency is flattened onto a background that contrasts with the opaque
    pixels, so ink on a transparent background stays ink; 16-bit and float images are
    scaled to 8 bits rather than clipped (from the depth their values fill: 8, 10, 12
    or 16 bits, or 0-1), a float image's NaN or infinity taken for paper; a mode
    Pillow cannot convert (LAB) keeps its first band, which is its lightness.
    """
    image = _upright(image)
    if image.mode in _HIGH_BIT_DEPTH:
        values = np.asarray(image, dtype=np.float32)
        finite = np.isfinite(values)
        if not finite.all():  # the paper's tone (the median) there, not ink's
            paper = float(np.median(values[finite])) if finite.any() else 0.0
            values = np.where(finite, values, np.float32(paper))
        top = float(values.max(initial=0))
        full_scale = next(s for s in (1, 255, 1023, 4095, 65535, top) if top <= s)
        return Image.fromarray(np.uint8(np.clip(values, 0, None) / full_scale * 255))
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255
        luminance = rgba[..., :3] @ np.float32([0.299, 0.587, 0.114])
        alpha = rgba[..., 3]
        opaque = luminance[alpha > 0.5]
        background = 1.0 if opaque.size == 0 or opaque.mean() < 0.5 else 0.0
        flat = alpha * luminance + (1 - alpha) * background
        return Image.fromarray(np.uint8(np.round(flat * 255)))
    try:
        return image.convert("L")
    except ValueError:
        return image.getchannel(0)


def _upright(image: Image.Image) -> Image.Image:
    """Turns a photo as its EXIF orientation says (copies nothing when it is upright)."""
    if image.getexif().get(ExifTags.Base.Orientation, 1) == 1:
        return image
    return ImageOps.exif_transpose(image)


def find_ink(gray: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Finds the digit: paper tone, polarity, then the ink in the strokes' bounding box.

    The paper's tone is followed across the image from its edges; the ink is whichever
    of darker or lighter than the paper holds more contrast, so dark ink on light paper
    and chalk on a board both come out as MNIST's light on black. The digit is looked
    for in a small copy first, then measured in the full image; specks far smaller than
    it are left out, and paper noise around its strokes is cleared.

    Returns:
        The ink in the digit's bounding box, 0 (paper) to 1 (full ink), and the mask
        of its strokes, at a working size of at most ``WORKING_SIZE`` pixels a side.

    Raises:
        UnusableImageError: ``empty image`` when nothing stands out from the paper.
    """
    if max(gray.size) > WORKING_SIZE:
        gray = gray.reduce(-(-max(gray.size) // WORKING_SIZE))
    gray, pixels, paper = _evened(gray)
    region, dark = _where_to_look(gray)
    ink, level, _ = measure_ink(pixels, paper, region, dark)
    box, mask = _digit_box(ink > STROKE_LEVEL * level)
    return scaled_ink(ink[box], mask, level, 2 * paper.noise), mask


def scaled_ink(
    ink: np.ndarray,
    mask: np.ndarray,
    level: float,
    noise: float,
    others: np.ndarray | None = None,
) -> np.ndarray:
    """A digit's ink in its box, from 0 (the paper's noise) to 1 (its ``level``), kept
    only on its strokes (``mask``) and a pixel around them, not on ``others`` (a
    neighbouring digit's strokes): one digit's, or each of a number's, alike."""
    ink = np.clip((ink - noise) / max(level - noise, 1), 0, 1)
    keep = ndimage.binary_dilation(mask, FOUR_NEIGHBOURS)
    return np.where(keep if others is None else keep & ~others, ink, 0)


def even_out_shadows(gray: Image.Image) -> Image.Image:
    """Lifts a shadow or uneven light off the paper of a photo.

    The paper's tone is modelled as a plane through its edges' medians. A shadow across
    a photo (a hand, the phone) breaks that: part of the page stands out from the plane
    as much as ink does, and would be taken for the digit. So the paper is also
    measured locally, as the tone around each pixel once strokes narrower than a
    tenth of the image are closed over (the brightest for dark ink), when more than
    ``UNEVEN_SHARE`` of the page stands out from the plane. Where that local paper
    differs from the plane out to the image's edge (a shadow falls across the page
    from beyond it), the image is divided by it. Otherwise, the usual case for scans
    and cropped photos, it is returned as it is: local paper that differs only inside
    the page is the core of strokes thicker than the closing, which dividing would
    hollow out.
    """
    return _evened(gray)[0]


def _evened(gray: Image.Image) -> tuple[Image.Image, np.ndarray, Paper]:
    """``even_out_shadows``, with the returned image's pixels (float32) and paper, so
    that ``find_ink`` does not measure them again: those measured on the way when the
    image is returned as it is, measured again on the evened image when it is not."""
    pixels = np.asarray(gray, dtype=np.float32)
    paper = Paper.of(pixels)
    if min(pixels.shape) < 3 * MIN_WINDOW:
        return gray, pixels, paper
    small = pixels[::2, ::2]  # the paper's light changes slowly: half size is plenty
    plane = paper.at(small.shape, np.s_[:, :])
    floor = max(MIN_CONTRAST, 5 * paper.noise)
    off = small - plane
    if np.mean(np.abs(off) > floor) < UNEVEN_SHARE:
        return gray, pixels, paper  # a plane explains ink and paper: the usual case
    window = max(MIN_WINDOW, min(pixels.shape) // 10) // 2
    dark = np.maximum(-off - floor, 0).sum() > np.maximum(off - floor, 0).sum()
    close_over = ndimage.grey_closing if dark else ndimage.grey_opening
    local = close_over(small, size=window)  # the paper, strokes of either ink gone
    differs = np.abs(local - plane) > floor
    if not (differs[[0, -1]].any() or differs[:, [0, -1]].any()):
        return gray, pixels, paper  # strokes, closed over or too thick; not a shadow
    local = np.repeat(np.repeat(local, 2, axis=0), 2, axis=1)
    local = local[: pixels.shape[0], : pixels.shape[1]]
    even = pixels / np.maximum(local, 1) * float(np.median(local))
    evened = Image.fromarray(np.uint8(np.clip(np.round(even), 0, 255)))
    pixels = np.asarray(evened, dtype=np.float32)
    return evened, pixels, Paper.of(pixels)


def _where_to_look(gray: Image.Image) -> tuple[tuple[slice, slice], bool | None]:
    """Finds roughly where the digit is, and its polarity, in a small copy of the image.

    This spares measuring most of a large image's paper pixel by pixel.

    Returns:
        The region of the image to measure (all of it if the image is small or the
        copy shows no digit clearly) and whether the ink is dark (``None``: not known).
    """
    factor = round(np.sqrt(gray.width * gray.height) / DETECTION_SIZE)
    if factor < 2:
        return np.s_[:, :], None
    small = np.asarray(gray.reduce(factor), dtype=np.float32)
    try:
        ink, level, dark = measure_ink(small, Paper.of(small), np.s_[:, :])
        rows, cols = _digit_box(ink > SMALL_COPY_STROKE_LEVEL * level)[0]
    except UnusableImageError:  # too faint or thin to see when small
        return np.s_[:, :], None
    return np.s_[
        max(rows.start - 2, 0) * factor : (rows.stop + 2) * factor,
        max(cols.start - 2, 0) * factor : (cols.stop + 2) * factor,
    ], dark


class Paper(NamedTuple):
    """The paper's tone, a plane through the medians of an image's four edges (so light
    falling off across a photo is followed), and the noise on it."""

    tone: float
    slope_down: float
    slope_across: float
    noise: float

    @classmethod
    def of(cls, pixels: np.ndarray) -> Paper:
        """Measures them on the image's edges; the noise from neighbouring pixels."""
        top_bottom, left_right = pixels[[0, -1]], pixels[:, [0, -1]].T
        top, bottom = _median(top_bottom)
        left, right = _median(left_right)
        steps = np.concatenate(
            [np.diff(top_bottom).ravel(), np.diff(left_right).ravel()]
        )
        noise = _median(np.abs(steps)) * 1.4826 / np.sqrt(2) if steps.size else 0.0
        tone = (top + bottom + left + right) / 4
        return cls(float(tone), float(bottom - top), float(right - left), float(noise))

    def at(self, shape: tuple[int, int], region: tuple[slice, slice]) -> np.ndarray:
        """The paper's tone at each pixel of ``region`` of an image of ``shape``."""
        rows, cols = (
            np.arange(size, dtype=np.float32)[part] / max(size - 1, 1) - 0.5
            for size, part in zip(shape, region)
        )
        return self.tone + self.slope_down * rows[:, None] + self.slope_across * cols


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear, as NumPy computes it, to the bit, for
    finite, non-empty ``values`` and ``0 <= q <= 100``), without its overhead, which
    is most of its cost on one image's few thousand pixels."""
    flat = values.ravel()
    index = (flat.size - 1) * (q / 100)
    below = int(index)
    above = min(below + 1, flat.size - 1)
    low, high = np.partition(flat, [below, above])[[below, above]]
    step, weight = high - low, index - below
    return float(high - step * (1 - weight) if weight >= 0.5 else low + step * weight)


def _median(values: np.ndarray) -> np.ndarray:
    """The (upper) median along the last axis; a fraction of ``np.median``'s overhead."""
    middle = values.shape[-1] // 2
    return np.partition(values, middle, axis=-1)[..., middle]


def measure_ink(
    pixels: np.ndarray,
    paper: Paper,
    region: tuple[slice, slice],
    dark: bool | None = None,
) -> tuple[np.ndarray, float, bool]:
    """Measures the ink in ``region``: how far each pixel is from the paper, inkwards.

    Args:
        pixels: The image, as float32 grey levels.
        paper: Its paper.
        region: Where to measure.
        dark: Whether the ink is darker than the paper; ``None`` decides by contrast.

    Returns:
        The ink (in grey levels; paper and the other side of it <= 0), its level (the
        90th percentile of the clearly inked pixels) and whether it is dark.

    Raises:
        UnusableImageError: ``empty image`` when nothing stands out from the paper.
    """
    ink = pixels[region] - paper.at(pixels.shape, region)
    floor = max(MIN_CONTRAST, 5 * paper.noise)
    if dark is None:
        sample = ink[::2, ::2]
        dark = (
            np.maximum(-sample - floor, 0).sum() > np.maximum(sample - floor, 0).sum()
        )
    if dark:
        np.negative(ink, out=ink)
    strong = ink[ink > floor]
    if strong.size < MIN_INK_PIXELS:
        raise UnusableImageError("empty image")
    return ink, percentile(strong, 90), bool(dark)


def _digit_box(mask: np.ndarray) -> tuple[tuple[slice, slice], np.ndarray]:
    """Leaves out specks: blobs of ink smaller than ``SPECK_SHARE`` of the largest.

    Returns:
        The bounding box of the blobs kept, and their mask within it.

    Raises:
        UnusableImageError: ``empty image`` when even the largest is a mere speck.
    """
    labels, count = ndimage.label(mask, FOUR_NEIGHBOURS)
    largest = int(mask.sum())
    if count > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0  # the paper
        largest = int(sizes.max())
        mask = (sizes >= SPECK_SHARE * largest)[labels]
    if largest < MIN_INK_PIXELS:
        raise UnusableImageError("empty image")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return box, mask[box]


def stroke_width(mask: np.ndarray) -> float:
    """The strokes' width in pixels: their area over half their outline's length
    (0 for an empty mask)."""
    outline = mask & ~ndimage.binary_erosion(mask, FOUR_NEIGHBOURS)
    return 2 * mask.sum() / max(outline.sum(), 1)


def thicken_thin_strokes(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Widens strokes that would be thinner than MNIST's thinnest once fitted in 20x20.

    A fine pen photographed large comes out as hairlines in 20x20, which the model
    never saw: MNIST's strokes are 2-4 px wide there. Thicker strokes are left alone.
    """
    width = stroke_width(mask)
    scale = BOX_SIZE / max(mask.shape)
    if width * scale >= MIN_STROKE:
        return ink
    grow = round(TARGET_STROKE / scale - width) + 1
    return ndimage.maximum_filter(np.pad(ink, grow // 2), grow)


def centre_in_frame(ink: np.ndarray) -> np.ndarray:
    """Fits the ink into 20x20 keeping its aspect ratio, centred by mass in 28x28.

    Returns:
        The 28x28 uint8 digit, light on black: what MNIST's images look like.
    """
    height, width = ink.shape
    scale = BOX_SIZE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = Image.fromarray(np.uint8(np.round(ink * 255)))
    # reducing_gap: box-reduce large crops first, then anti-alias (as fine, and faster)
    box = np.asarray(digit.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
    if not box.any():
        raise UnusableImageError("empty image")
    mass_row, mass_col = _centre_of_mass(box)
    top = int(np.clip(round(FRAME_SIZE / 2 - mass_row), 0, FRAME_SIZE - box.shape[0]))
    left = int(np.clip(round(FRAME_SIZE / 2 - mass_col), 0, FRAME_SIZE - box.shape[1]))
    frame = np.zeros((FRAME_SIZE, FRAME_SIZE), np.uint8)
    frame[top : top + box.shape[0], left : left + box.shape[1]] = box
    return frame


def _centre_of_mass(box: np.ndarray) -> tuple[float, float]:
    """``ndimage.center_of_mass(box)``, the same sums to the bit, without its overhead
    (a number's candidates each need one)."""
    rows = np.arange(box.shape[0], dtype=float)[:, None]
    cols = np.arange(box.shape[1], dtype=float)
    total = box.sum()
    return float((box * rows).sum() / total), float((box * cols).sum() / total)


def to_mnist(image: Image.Image) -> np.ndarray:
    """Turns one decoded image into a 28x28 uint8 digit, light on black, as in MNIST.

    Raises:
        UnusableImageError: ``empty image`` when no digit stands out from the paper.
    """
    return digit_view(to_grayscale(image))


def digit_view(gray: Image.Image) -> np.ndarray:
    """``to_mnist`` of an image already in grayscale: its ink found, thickened where
    thinner than MNIST's strokes, and centred in MNIST's frame.

    Raises:
        UnusableImageError: ``empty image`` when no digit stands out from the paper.
    """
    return centre_in_frame(thicken_thin_strokes(*find_ink(gray)))


def thumbnail(image: Image.Image) -> np.ndarray:
    """A small upright RGBA copy of the image as its owner sees it, for display."""
    small = to_grayscale(image) if image.mode in _HIGH_BIT_DEPTH else _upright(image)
    small = small.copy()  # thumbnail() works in place
    small.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    try:
        return np.asarray(small.convert("RGBA"))
    except ValueError:
        return np.asarray(to_grayscale(small).convert("RGBA"))
