"""Reproduces data/01_raw/custom_digits/: sample images for the inference pipeline.

The samples are MNIST *test* digits (never seen in training), one of each class and a
few more, rendered the way people's photos and scans of digits look: dark ink on paper
of some tone, uneven light, noise, small and off-centre, JPEG or PNG, grayscale or
colour (the realistic-folder generator of the test suite, with small canvases and the
scans in 16 grey levels, so each file is a few KB). Three more show odd cases: chalk on a board (light on dark), a
digit on a transparent background, and a palette image in a sub-folder.

    python scripts/make_custom_digits.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the generator lives with the tests that use it

from mnist_classifier.datasets import IDXDataset  # noqa: E402
from tests.pipelines.inference.realistic import render_user_image  # noqa: E402

OUTPUT_DIR = ROOT / "data" / "01_raw" / "custom_digits"
MNIST_DIR = ROOT / "data" / "01_raw" / "mnist"
SIDES = (56, 160)
SEED = 2024


def main() -> None:
    images = IDXDataset(filepath=str(MNIST_DIR / "t10k-images-idx3-ubyte.gz")).load()
    labels = IDXDataset(filepath=str(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")).load()
    rng = np.random.default_rng(SEED)
    picks = [
        int(np.flatnonzero(labels == digit)[rng.integers(20)]) for digit in range(10)
    ]
    picks += [int(index) for index in rng.choice(len(labels), 5, replace=False)]
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for number, index in enumerate(picks[:12], start=1):
        image = render_user_image(images[index], rng, SIDES)
        if number % 3:
            save(image, f"photo_{number:02d}.jpg", written, labels[index])
        else:  # a scanner's 16 grey levels keep the PNG small
            scan = ImageOps.posterize(image.convert("L"), 4)
            save(scan, f"scan_{number:02d}.png", written, labels[index])
    chalk = ImageOps.invert(
        render_user_image(images[picks[12]], rng, SIDES).convert("L")
    )
    save(chalk, "chalkboard.jpg", written, labels[picks[12]])
    ink = Image.fromarray(images[picks[13]]).resize((96, 96), Image.Resampling.BICUBIC)
    transparent = Image.new("RGBA", (140, 120), (20, 40, 120, 0))
    transparent.paste(Image.new("RGBA", ink.size, (20, 40, 120, 255)), (30, 14), ink)
    save(transparent, "transparent.png", written, labels[picks[13]])
    palette = (
        render_user_image(images[picks[14]], rng, SIDES).convert("RGB").quantize(16)
    )
    save(palette, "more/palette.png", written, labels[picks[14]])
    for name, label, size in written:
        print(f"{name:<18} digit {label}  {size:,} bytes")


def save(image: Image.Image, name: str, written: list, label: int) -> None:
    path = OUTPUT_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=85, optimize=True)
    written.append((name, int(label), path.stat().st_size))


if __name__ == "__main__":
    main()
