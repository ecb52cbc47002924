"""Renders digits the way people's own images of digits look: a realistic test folder.

MNIST digits are light ink on black, size-normalised and centred in 28x28. People's
photos and scans are not: dark ink on light paper of some tone, with noise, uneven light
and JPEG artefacts, any size, the digit small and off-centre. ``render_user_image``
turns one digit into such an image and ``write_realistic_folder`` writes a folder of
them, so tests and ``scripts/bench_inference.py`` can measure what preprocessing buys.

The digit is never drawn smaller than its own resolution (a 28x28 MNIST field at least
28 px), so nothing is lost that a user's image would have had.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

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

    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 + rng.uniform(0, 0.15) * (
        np.cos(angle) * (cols / width - 0.5) + np.sin(angle) * (rows / height - 0.5)
    )
    paper = rng.uniform(150, 245) * light
    ink_tone = rng.uniform(0, 90)
    colour = rng.random() < 0.5
    if colour:  # tinted paper; black, blue or grey pen
        paper_tint = rng.uniform(0.9, 1.05, size=3)
        pen = rng.choice([[1.0, 1.0, 1.0], [0.6, 0.8, 2.2], [1.0, 1.0, 1.1]])
        pixels = (paper[..., None] * paper_tint) * (1 - alpha[..., None]) + (
            ink_tone * np.asarray(pen) * alpha[..., None]
        )
    else:
        pixels = paper * (1 - alpha) + ink_tone * alpha
    pixels = pixels + rng.normal(0, rng.uniform(2, 10), size=pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))


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
        image = render_user_image(digit, rng)
        if rng.random() < 0.5:
            name = f"{index:05d}.jpg"
            image.save(folder / name, quality=int(rng.integers(60, 95)))
        else:
            name = f"{index:05d}.png"
            image.save(folder / name)
        truth[name] = int(label)
    return truth
