"""Renders digits the way people's own images of digits look: a realistic test folder.

MNIST digits are light ink on black, size-normalised and centred in 28x28. People's
photos and scans are not: dark ink on light paper of some tone, with noise, uneven light
and JPEG artefacts, any size, the digit small and off-centre. ``render_user_image``
turns one digit into such an image and ``write_realistic_folder`` writes a folder of
them, so tests and ``scripts/bench_inference.py`` can measure what preprocessing buys.
``render_camera_photo`` and ``write_camera_folder`` do the same for 12-megapixel phone
photos of a digit on ruled paper, some stored sideways with an EXIF orientation.

The digit is never drawn smaller than its own resolution (a 28x28 MNIST field at least
28 px), so nothing is lost that a user's image would have had.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFilter
from scipy import ndimage

#: Canvas sides, in pixels (inclusive).
CANVAS_SIDES = (48, 400)
#: Digit field side as a share of the canvas' shorter side: small, never filling it.
FIELD_SHARE = (0.25, 0.6)


def render_user_image(
    digit: np.ndarray, rng: np.random.Generator, sides: tuple[int, int] = CANVAS_SIDES
) -> Image.Image:
    """Renders one digit as a photo or scan of dark ink on light paper.

    Args:
        digit: The digit as ink, light on dark, e.g. an MNIST image (uint8, 0-255) or a
            scikit-learn digit (0-16): any 2-D array, scaled by its own maximum.
        rng: Source of every random choice, so a seed reproduces the image.
        sides: Smallest and largest side of the canvas, in pixels.

    Returns:
        An RGB or grayscale (``L``) image, by default of 48-400 px a side.
    """
    width, height = (int(side) for side in rng.integers(*sides, endpoint=True, size=2))
    shorter = min(width, height)
    low = min(shorter, max(*digit.shape, FIELD_SHARE[0] * shorter))
    field = round(rng.uniform(low, max(low, FIELD_SHARE[1] * shorter)))
    ink = Image.fromarray(np.uint8(np.round(255 * (digit / max(digit.max(), 1)))))
    ink = ink.resize((field, field), Image.Resampling.BICUBIC)
    blur = rng.uniform(0, 0.8) * field / 28  # focus, pen width and scanner softness
    alpha = np.zeros((height, width), np.float32)
    top, left = rng.integers(0, height - field + 1), rng.integers(0, width - field + 1)
    alpha[top : top + field, left : left + field] = (
        np.asarray(ink.filter(ImageFilter.GaussianBlur(blur)), np.float32) / 255
    )

    return _photograph(alpha, rng)


def write_realistic_folder(
    digits: np.ndarray, labels: np.ndarray, folder: Path, seed: int = 0
) -> dict[str, int]:
    """Writes each digit as a realistic user image into ``folder``, half of them JPEG.

    Returns:
        The label of each file, keyed by its path relative to ``folder``.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for index, (digit, label) in enumerate(zip(digits, labels, strict=True)):
        name = _save_jpeg_or_png(render_user_image(digit, rng), folder, index, rng)
        truth[name] = int(label)
    return truth


#: A 12-megapixel phone photo, width x height, as it is seen upright.
PHONE_PHOTO_SIZE = (4032, 3024)
#: The digit's height as a share of the photo's shorter side.
PHOTO_DIGIT_SHARE = (0.12, 0.35)
#: EXIF tag of a photo's orientation.
EXIF_ORIENTATION = 0x0112
#: How a phone held sideways stores the pixels, by the EXIF orientation it writes:
#: ``ImageOps.exif_transpose`` undoes the turn.
SIDEWAYS_TURNS = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def render_camera_photo(
    digit: np.ndarray,
    rng: np.random.Generator,
    size: tuple[int, int] = PHONE_PHOTO_SIZE,
) -> Image.Image:
    """Renders one digit handwritten on ruled paper, photographed by a phone.

    White paper under uneven light (a gradient and darker corners), faint blue or grey
    rulings and sometimes a red margin, a soft shadow across part of the page (a hand's
    or the phone's: a half-plane or a band, 15-35% darker), the digit in blue or black
    ink, 12-35% of the shorter side tall, and soft sensor noise. The light, the shadow
    and the noise are made at a lower resolution and enlarged, and each colour is
    composed as a plane of its own, so a 12-megapixel photo takes a fraction of a
    second.

    Args:
        digit: The digit as ink, light on dark, e.g. an MNIST image (a 2-D array with
            some ink, scaled by its own maximum).
        rng: Source of every random choice, so a seed reproduces the photo.
        size: Width and height of the photo, upright; the rulings' spacing and the
            pen's edge are scaled with it from a 4032x3024 photo's.

    Returns:
        An RGB image of ``size``.
    """
    width, height = size
    shorter = min(width, height)
    scale = shorter / min(PHONE_PHOTO_SIZE)
    exposure = rng.uniform(185, 240)  # the paper's grey level where the light is full
    shade = _light_and_shadow(size, rng)
    # Sensor noise (after the phone's denoising: fine, slightly soft grain), made at
    # half resolution and enlarged with the light, as a share of the paper's level.
    half = (max(width // 2, 1), max(height // 2, 1))
    noise = rng.standard_normal(half[::-1], dtype=np.float32)
    noise *= rng.uniform(2, 6) / exposure
    shade = Image.fromarray(_enlarge(shade, half) + noise)
    shade = np.asarray(shade.resize(size, Image.Resampling.BILINEAR))

    warmth = rng.uniform(-0.03, 0.1)  # the white balance: from bluish to warm
    paper = exposure * np.array(
        [1, 1 - 0.35 * warmth + rng.uniform(-0.01, 0.01), 1 - warmth]
    )
    paper /= paper.max() / exposure
    ruling = _rulings(size, scale, rng)
    ruling_tone = rng.choice([[0.55, 0.7, 0.95], [0.62, 0.64, 0.68]])  # blue, grey
    margin = _margin(size, scale, rng) if rng.random() < 0.5 else None
    ink, (top, left) = _pen_ink(digit, size, scale, margin, rng)
    pen = (
        rng.uniform([0.1, 0.17, 0.45], [0.2, 0.27, 0.62])  # blue ballpoint
        if rng.random() < 0.5
        else rng.uniform(0.1, 0.18) * rng.uniform(0.95, 1.05, size=3)  # black
    )
    box = np.s_[top : top + ink.shape[0], left : left + ink.shape[1]]
    planes = []
    for channel in range(3):
        plane = ruling * np.float32(-paper[channel] * (1 - ruling_tone[channel]))
        plane += np.float32(paper[channel])
        if margin is not None:
            lines, columns = margin
            plane[:, columns] *= 1 - lines * np.float32(1 - [0.95, 0.5, 0.55][channel])
        plane[box] *= 1 - ink * np.float32(1 - pen[channel])
        plane *= shade
        np.clip(plane, 0, 255, out=plane)
        planes.append(Image.fromarray(plane.astype(np.uint8)))
    return Image.merge("RGB", planes)


def write_camera_folder(
    digits: np.ndarray,
    labels: np.ndarray,
    folder: Path,
    seed: int = 0,
    sideways: float = 1 / 3,
) -> dict[str, int]:
    """Writes each digit as a phone's JPEG photo (``photo_00000.jpg``...) in ``folder``.

    A ``sideways`` share of them is stored as a phone held sideways stores it: the
    pixels turned a quarter (3024x4032) and an EXIF orientation of 6 or 8 saying how to
    turn them upright; the others say 1 (upright). JPEG quality 85-95.

    Returns:
        The label of each file, keyed by its name.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for index, (digit, label) in enumerate(zip(digits, labels, strict=True)):
        photo = render_camera_photo(digit, rng)
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = 1
        if rng.random() < sideways:
            exif[EXIF_ORIENTATION] = int(rng.choice(list(SIDEWAYS_TURNS)))
            photo = photo.transpose(SIDEWAYS_TURNS[exif[EXIF_ORIENTATION]])
        name = f"photo_{index:05d}.jpg"
        photo.save(
            folder / name, quality=int(rng.integers(85, 95, endpoint=True)), exif=exif
        )
        truth[name] = int(label)
    return truth


def _enlarge(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Enlarges a smooth float32 field to ``size`` (width, height), bilinearly."""
    return np.array(Image.fromarray(values).resize(size, Image.Resampling.BILINEAR))


def _light_and_shadow(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The light on the page, 1 at its brightest, at an eighth of the photo's size.

    It falls off across the page and towards the corners, and a soft-edged shadow (a
    half-plane or a band, its edge slightly curved like a hand's) darkens part of it.
    """
    width, height = size
    low = (max(width // 8, 8), max(height // 8, 8))
    rows, cols = np.mgrid[0 : low[1], 0 : low[0]].astype(np.float32)
    # positions in units of the shorter side, 0 at the centre
    x = ((cols + 0.5) / low[0] - 0.5) * width / min(size)
    y = ((rows + 0.5) / low[1] - 0.5) * height / min(size)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0.03, 0.12) * (np.cos(angle) * x + np.sin(angle) * y)
    corner = (width**2 + height**2) / (4 * min(size) ** 2)
    light *= 1 - rng.uniform(0.04, 0.15) * (x**2 + y**2) / corner

    angle = rng.uniform(0, 2 * np.pi)
    across = np.cos(angle) * x + np.sin(angle) * y
    along = np.cos(angle) * y - np.sin(angle) * x
    across += rng.uniform(-0.15, 0.15) * along**2
    # the penumbra of a hand under room lights (docs/experiments.md, "The figures
    # behind three constants")
    softness = rng.uniform(0.03, 0.12)
    if rng.random() < 0.5:  # half of the page, its edge anywhere near the middle
        inside = across - rng.uniform(-0.35, 0.35)
    else:  # a band across the page: an arm's or the phone's shadow
        inside = rng.uniform(0.1, 0.3) - np.abs(across - rng.uniform(-0.4, 0.4))
    shadow = 0.5 * (1 + np.tanh(inside / softness))
    light *= 1 - rng.uniform(0.15, 0.35) * shadow
    return light / light.max()


def _rulings(
    size: tuple[int, int], scale: float, rng: np.random.Generator
) -> np.ndarray:
    """The ruled lines' strength (0-1) at each pixel: thin, faint, slightly tilted.

    Lines every 80-120 px (in a 4032x3024 photo); the tilt is drawn in strips 8 px
    wide, each a column of one row profile, which is 0.2 px of drift at most.
    """
    width, height = size
    spacing = rng.uniform(80, 120) * scale
    tilt = np.tan(np.radians(rng.uniform(-1.5, 1.5)))
    sigma = max(rng.uniform(0.7, 1.2) * scale, 0.6)  # a line 2-3 px wide
    strength = rng.uniform(0.3, 0.55)
    strip = 8
    centres = np.arange(strip / 2, width + strip / 2, strip, dtype=np.float32)
    centres -= width / 2  # one strip for every 8 columns, the last maybe cut short
    phase = (
        np.arange(height, dtype=np.float32)[:, None]
        - (rng.uniform(0, spacing) + tilt * centres)
    ) / spacing
    distance = (phase - np.round(phase)) * spacing
    profile = strength * np.exp(-0.5 * (distance / sigma) ** 2)
    return np.repeat(profile.astype(np.float32), strip, axis=1)[:, :width]


def _margin(
    size: tuple[int, int], scale: float, rng: np.random.Generator
) -> tuple[np.ndarray, slice]:
    """A red margin line near the left of the page: its strength in a band of columns.

    Returns:
        The line's strength (0-1), and the columns it is given for.
    """
    width, height = size
    at = rng.uniform(0.06, 0.2) * width
    tilt = np.tan(np.radians(rng.uniform(-1.5, 1.5)))
    sigma = max(rng.uniform(0.9, 1.4) * scale, 0.7)
    reach = abs(tilt) * height / 2 + 5 * sigma
    columns = slice(max(int(at - reach), 0), min(int(at + reach) + 2, width))
    rows = np.arange(height, dtype=np.float32)[:, None] - height / 2
    cols = np.arange(columns.start, columns.stop, dtype=np.float32)
    distance = cols - (at - tilt * rows)
    lines = rng.uniform(0.35, 0.6) * np.exp(-0.5 * (distance / sigma) ** 2)
    return lines.astype(np.float32), columns


def _pen_ink(
    digit: np.ndarray,
    size: tuple[int, int],
    scale: float,
    margin: tuple[np.ndarray, slice] | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, tuple[int, int]]:
    """The digit's ink (0-1) as a pen draws it, and where it goes (top, left).

    The digit, cropped to its ink, is enlarged smoothly (a blur at 4x removes MNIST's
    pixels), its strokes' edge set where the pen's ink ends, then softened by the lens.
    It is placed anywhere clear of the photo's edges, right of a margin line.
    """
    width, height = size
    values = np.asarray(digit, np.float32) / max(float(digit.max()), 1)
    rows = np.flatnonzero(values.max(axis=1) > 0.1)
    cols = np.flatnonzero(values.max(axis=0) > 0.1)
    values = np.pad(values[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 2)
    ink_height = rng.uniform(*PHOTO_DIGIT_SHARE) * min(size)
    factor = ink_height / (rows[-1] - rows[0] + 1)
    fine = np.asarray(
        Image.fromarray(values).resize(
            (4 * values.shape[1], 4 * values.shape[0]), Image.Resampling.BICUBIC
        )
    )
    fine = ndimage.gaussian_filter(fine, 1.6)
    shape = (round(values.shape[1] * factor), round(values.shape[0] * factor))
    field = np.asarray(Image.fromarray(fine).resize(shape, Image.Resampling.BICUBIC))
    # The field rises by about 1 per MNIST pixel (``factor`` px): an edge 1-2.5 px wide
    edge = rng.uniform(1.0, 2.5) * max(scale, 0.5) / factor
    ink = np.clip((field - rng.uniform(0.3, 0.55)) / edge + 0.5, 0, 1)
    ink = ndimage.gaussian_filter(ink, max(rng.uniform(0.6, 1.4) * scale, 0.5))
    pressure = Image.fromarray(rng.uniform(0.85, 1, (4, 4)).astype(np.float32))
    ink *= np.asarray(pressure.resize(shape, Image.Resampling.BICUBIC))
    clear = round(0.04 * min(size))
    first_col = clear if margin is None else margin[1].stop + clear
    first_col = min(first_col, width - ink.shape[1] - clear)
    top = int(rng.integers(clear, height - ink.shape[0] - clear, endpoint=True))
    left = int(rng.integers(first_col, width - ink.shape[1] - clear, endpoint=True))
    return ink.astype(np.float32), (top, left)


# --- Numbers: several digits written side by side ------------------------------------

#: Height of a written number's digits, in pixels (inclusive).
NUMBER_HEIGHTS = (28, 120)
#: Fewest and most digits in a written number (inclusive).
NUMBER_LENGTHS = (2, 6)


class WrittenNumber(NamedTuple):
    """A number as ``write_number_folder`` wrote it: what it says and where its digits are."""

    text: str  # its digits left to right, with no space ("07 12" reads "0712")
    # Each digit's ink, left and right edge, as shares of the image's width: what a
    # reader's cuts between touching digits can be checked against.
    columns: tuple[tuple[float, float], ...]

    def drawn_at(self, spans: np.ndarray, match: float = 0.8) -> np.ndarray:
        """Whether each of (n, 2) spans of ink (left and right, as shares of the
        image's width) is where one digit was drawn: its columns and that digit's
        overlap by at least ``match`` of the two together."""
        drawn = np.asarray(self.columns)
        left, right = spans[:, None, 0], spans[:, None, 1]
        overlap = np.minimum(right, drawn[:, 1]) - np.maximum(left, drawn[:, 0])
        union = np.maximum(right, drawn[:, 1]) - np.minimum(left, drawn[:, 0])
        return (np.maximum(overlap, 0) / union).max(axis=1) >= match


def render_number(
    digits: list[np.ndarray], rng: np.random.Generator, touching: bool = False
) -> Image.Image:
    """Renders digits written side by side (a date, a form field) as a photo or scan:
    ``draw_number``'s image."""
    return draw_number(digits, rng, touching)[0]


def draw_number(
    digits: list[np.ndarray], rng: np.random.Generator, touching: bool = False
) -> tuple[Image.Image, tuple[tuple[float, float], ...]]:
    """Renders digits written side by side (a date, a form field) as a photo or scan.

    Each digit is cropped to its ink and scaled to a common height, with a little
    jitter in size, baseline and spacing as handwriting has; paper, light, pen, noise
    and focus are chosen as ``render_user_image`` chooses them. Some images get a
    faint ruled line or two (possibly through the digits) and a speck or two of dirt
    away from the digits, which a reader must ignore. Some numbers of four or more
    separate digits have a wider gap between two groups of them ("07 12").

    Args:
        digits: The digits as ink, light on dark (e.g. MNIST images), left to right,
            each with some ink.
        rng: Source of every random choice, so a seed reproduces the image.
        touching: Whether each digit's ink overlaps its neighbours' by 1-4 px, as
            hurried handwriting does; otherwise a clear gap separates them.

    Returns:
        An RGB or grayscale (``L``) image, the number 28-120 px tall (each digit
        within 10% of that), and each digit's ink's left and right edge as shares of
        its width (``WrittenNumber.columns``).
    """
    height = int(rng.integers(*NUMBER_HEIGHTS, endpoint=True))
    inks = [_cropped_ink(digit, height * rng.uniform(0.9, 1.1)) for digit in digits]
    blur = rng.uniform(0, 0.8) * height / 20  # as render_user_image's, for 20 px tall
    tops = [
        round(rng.uniform(-0.06, 0.06) * height) + (height - ink.shape[0]) // 2
        for ink in inks
    ]
    split = int(rng.integers(1, len(inks) - 2)) if len(inks) >= 4 else 0
    split = split if not touching and rng.random() < 0.3 else 0
    lefts = [0]
    for index in range(1, len(inks)):
        before = inks[index - 1]
        if touching:
            overlap = int(rng.integers(1, 5))
            drop = tops[index] - tops[index - 1]
            start, drop = _touch(before, inks[index], drop, overlap)
            tops[index] = tops[index - 1] + drop
        else:  # a clear gap, wider than the blur can bridge
            gap = max(3 + 3 * blur, rng.uniform(0.08, 0.4) * height)
            if index == split + 1 and split:
                gap += rng.uniform(0.4, 0.9) * height
            start = before.shape[1] + round(gap)
        lefts.append(lefts[-1] + start)

    margin_x = round(rng.uniform(0.2, 1.5) * height + 2 * blur)
    margin_y = round(rng.uniform(0.3, 1.2) * height + 2 * blur)
    first, last = min(tops), max(top + ink.shape[0] for top, ink in zip(tops, inks))
    alpha = np.zeros(
        (last - first + 2 * margin_y, lefts[-1] + inks[-1].shape[1] + 2 * margin_x),
        np.float32,
    )
    for ink, top, left in zip(inks, tops, lefts, strict=True):
        row, col = margin_y + top - first, margin_x + left
        field = alpha[row : row + ink.shape[0], col : col + ink.shape[1]]
        np.maximum(field, ink, out=field)  # where strokes cross, ink on ink
    alpha = np.uint8(np.round(255 * alpha))
    alpha = np.float32(
        np.asarray(Image.fromarray(alpha).filter(ImageFilter.GaussianBlur(blur))) / 255
    )
    if rng.random() < 0.5:
        _add_specks(alpha, height, rng)
    if rng.random() < 0.5:
        alpha = 1 - (1 - alpha) * (1 - _ruled_lines(alpha.shape, height, rng))
    columns = tuple(
        (
            (margin_x + left) / alpha.shape[1],
            (margin_x + left + ink.shape[1]) / alpha.shape[1],
        )
        for ink, left in zip(inks, lefts, strict=True)
    )
    return _photograph(alpha, rng), columns


def _cropped_ink(digit: np.ndarray, height: float) -> np.ndarray:
    """The digit's ink (0-1), cropped to its bounding box and scaled to ``height``."""
    ink = np.float32(digit / max(float(digit.max()), 1))
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = height / ink.shape[0]
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(height)))
    image = Image.fromarray(ink).resize(size, Image.Resampling.BICUBIC)
    return np.clip(np.asarray(image, np.float32), 0, 1)


def _touch(
    before: np.ndarray, after: np.ndarray, drop: int, overlap: int
) -> tuple[int, int]:
    """Places ``after`` right of ``before`` so that ``overlap`` pixels of ink meet.

    ``after`` may sit a little higher or lower than drawn (by up to 5% of the height,
    as a baseline wanders), wherever it tucks in under ``before`` the least.

    Args:
        drop: How much lower ``after``'s top is than ``before``'s, as drawn.

    Returns:
        Where ``after`` starts (from ``before``'s left) and how much lower its top is.
    """
    nudge = max(1, round(0.05 * before.shape[0]))
    drops = sorted(range(drop - nudge, drop + nudge + 1), key=lambda d: abs(d - drop))
    starts = [_touching_start(before, after, d, overlap) for d in drops]
    best = int(np.argmax(starts))  # the first of the best: the least nudged
    return starts[best], drops[best]


def _edges(
    before: np.ndarray, after: np.ndarray, drop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Row by row of ``before``, its rightmost stroke pixel and ``after``'s leftmost.

    ``after``'s top is ``drop`` rows lower; rows without stroke are infinite.
    """
    right = np.full(before.shape[0], -np.inf)
    strokes = before > 0.5
    inked = strokes.any(axis=1)
    right[inked] = before.shape[1] - 1 - np.argmax(strokes[:, ::-1], axis=1)[inked]
    left = np.full(before.shape[0], np.inf)
    strokes = after > 0.5
    inked = strokes.any(axis=1)
    rows = np.arange(before.shape[0]) - drop
    inside = (rows >= 0) & (rows < after.shape[0])
    rows_inked = np.zeros(before.shape[0], bool)
    rows_inked[inside] = inked[rows[inside]]
    left[rows_inked] = np.argmax(strokes, axis=1)[rows[rows_inked]]
    return right, left


def _touching_start(
    before: np.ndarray, after: np.ndarray, shift: int, overlap: int
) -> int:
    """How far right of ``before``'s left edge ``after`` starts for their inks to touch.

    Row by row, ``before``'s rightmost and ``after``'s leftmost stroke pixel are
    compared; ``after`` is placed so that where they come closest they share
    ``overlap`` pixels. ``shift`` is how much lower ``after``'s top is.
    """
    right, left = _edges(before, after, shift)
    reach = right - left
    reach = reach[np.isfinite(reach)]
    if not reach.size:  # no stroke in the same row: the bounding boxes touch
        return before.shape[1] - overlap
    return int(reach.max()) + 1 - overlap


def _add_specks(alpha: np.ndarray, height: int, rng: np.random.Generator) -> None:
    """Adds one or two specks of dirt to ``alpha``, clear of the ink already there."""
    clear = round(0.4 * height)
    rows, cols = np.mgrid[0 : alpha.shape[0], 0 : alpha.shape[1]]
    for _ in range(int(rng.integers(1, 3))):
        radius = max(0.75, rng.uniform(0.015, 0.04) * height)
        for _attempt in range(20):
            row = rng.uniform(radius, alpha.shape[0] - radius)
            col = rng.uniform(radius, alpha.shape[1] - radius)
            around = np.s_[
                max(round(row) - clear, 0) : round(row) + clear + 1,
                max(round(col) - clear, 0) : round(col) + clear + 1,
            ]
            if alpha[around].max() < 0.05:
                break
        else:
            continue
        distance = np.hypot(rows - row, cols - col)
        speck = rng.uniform(0.5, 1) * np.clip(radius + 0.5 - distance, 0, 1)
        np.maximum(alpha, np.float32(speck), out=alpha)


def _ruled_lines(
    shape: tuple[int, int], height: int, rng: np.random.Generator
) -> np.ndarray:
    """One or two faint horizontal ruled lines across the paper, as alpha (0-1)."""
    lines = np.zeros(shape, np.float32)
    rows = np.arange(shape[0], dtype=np.float32)[:, None]
    for _ in range(int(rng.integers(1, 3))):
        centre = rng.uniform(0, shape[0] - 1)
        half_width = rng.uniform(0.5, 1.0 + 0.01 * height)
        line = np.clip(half_width + 0.5 - np.abs(rows - centre), 0, 1)
        np.maximum(lines, rng.uniform(0.15, 0.45) * line, out=lines)
    return lines


def _save_jpeg_or_png(
    image: Image.Image, folder: Path, index: int, rng: np.random.Generator
) -> str:
    """Saves ``image`` as ``<index>.jpg`` (quality 60-94) or ``.png``, half and half;
    returns the file's name."""
    if rng.random() < 0.5:
        name = f"{index:05d}.jpg"
        image.save(folder / name, quality=int(rng.integers(60, 95)))
    else:
        name = f"{index:05d}.png"
        image.save(folder / name)
    return name


def _photograph(alpha: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """Turns ink (``alpha``, 0-1) into a photo or scan: paper of some tone lit
    unevenly, a pen of some tone and colour, sensor noise."""
    height, width = alpha.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0, 0.15) * (
        np.cos(angle) * (cols / width - 0.5) + np.sin(angle) * (rows / height - 0.5)
    )
    paper = rng.uniform(150, 245) * light
    ink_tone = rng.uniform(0, 90)
    if rng.random() < 0.5:  # tinted paper; black, blue or grey pen
        paper_tint = rng.uniform(0.9, 1.05, size=3)
        pen = rng.choice([[1.0, 1.0, 1.0], [0.6, 0.8, 2.2], [1.0, 1.0, 1.1]])
        pixels = (paper[..., None] * paper_tint) * (1 - alpha[..., None]) + (
            ink_tone * np.asarray(pen) * alpha[..., None]
        )
    else:
        pixels = paper * (1 - alpha) + ink_tone * alpha
    pixels = pixels + rng.normal(0, rng.uniform(2, 10), size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))


def write_number_folder(
    digits: np.ndarray,
    labels: np.ndarray,
    folder: Path,
    *,
    seed: int = 0,
    touching: bool = False,
    count: int | None = None,
) -> dict[str, WrittenNumber]:
    """Writes numbers of 2-6 of the given digits as realistic images, half of them JPEG.

    The digits are taken in a seeded random order, each once, until they run out (or
    until ``count`` images are written, going on in a new order if needed, so that a
    number may then hold one digit twice). For touching numbers, each next digit is the
    first of the next 20 in that order that touches the one before without tucking in
    under it deeper than ``DEEPEST_TUCK`` (the very next one if none does): digits that
    touch in people's writing are those whose shapes meet at the pace they write at,
    not a 0 written inside the bowl of a 5.

    Returns:
        The number each file holds and where its digits are, keyed by its name in
        ``folder``.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    order = rng.permutation(len(digits))
    truth: dict[str, WrittenNumber] = {}
    while count is None or len(truth) < count:
        length = int(rng.integers(*NUMBER_LENGTHS, endpoint=True))
        if len(order) < length:
            if count is None:
                break
            order = np.concatenate([order, rng.permutation(len(digits))])
        chosen, order = _next_number(digits, order, length, touching)
        image, columns = draw_number([digits[i] for i in chosen], rng, touching)
        name = _save_jpeg_or_png(image, folder, len(truth), rng)
        text = "".join(str(int(labels[i])) for i in chosen)
        truth[name] = WrittenNumber(text, columns)
    return truth


#: Deepest a touching digit tucks in under the one before, times the narrower's width.
DEEPEST_TUCK = 0.3


def _next_number(
    digits: np.ndarray, order: np.ndarray, length: int, touching: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Takes the next number's digits from ``order``: which, and what is left of it."""
    if not touching:
        return order[:length], order[length:]
    chosen, rest = [int(order[0])], list(order[1:])
    while len(chosen) < length:
        before = _cropped_ink(digits[chosen[-1]], 56)
        pick = next(
            (
                k
                for k, index in enumerate(rest[:20])
                if _tuck(before, _cropped_ink(digits[index], 56)) <= DEEPEST_TUCK
            ),
            0,
        )
        chosen.append(int(rest.pop(pick)))
    return np.asarray(chosen), np.asarray(rest, dtype=order.dtype)


def _tuck(before: np.ndarray, after: np.ndarray) -> float:
    """How deep ``after`` tucks in under ``before`` when they touch, as ``_touch``
    places them: the overlap of their boxes, times the narrower's width."""
    start, _ = _touch(before, after, (before.shape[0] - after.shape[0]) // 2, 2)
    return (before.shape[1] - start) / min(before.shape[1], after.shape[1])
