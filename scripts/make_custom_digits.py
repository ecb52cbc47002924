"""Reproduces data/01_raw/custom_digits/: sample images for the inference pipeline.

The samples are MNIST *test* digits (never seen in training), one of each class and a
few more, rendered the way people's photos and scans of digits look: dark ink on paper
of some tone, uneven light, noise, small and off-centre, JPEG or PNG, grayscale or
colour (``mnist_classifier.realistic``, the renderer the tests and the inference
benchmark use, with small canvases and the scans in 16 grey levels, so each file is a
few KB). Three more show odd cases: chalk on a board (light on dark), a digit on a
transparent background, and a palette image in a sub-folder.

    python scripts/make_custom_digits.py [--output <folder>]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from mnist_classifier.catalog import open_catalog
from mnist_classifier.realistic import render_user_image

ROOT = Path(__file__).resolve().parents[1]
OUTPUT_DIR = ROOT / "data" / "01_raw" / "custom_digits"
SIDES = (56, 160)
SEED = 2024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=OUTPUT_DIR,
        help="folder to write (default: %(default)s)",
    )
    output = parser.parse_args().output
    catalog = open_catalog(ROOT)  # as `kedro run` sees it: the full MNIST test set
    images = catalog.load("raw_test_images")
    labels = catalog.load("raw_test_labels")
    rng = np.random.default_rng(SEED)
    picks = [
        int(np.flatnonzero(labels == digit)[rng.integers(20)]) for digit in range(10)
    ]
    picks += [int(index) for index in rng.choice(len(labels), 5, replace=False)]
    written = []
    for number, index in enumerate(picks[:12], start=1):
        image = render_user_image(images[index], rng, SIDES)
        if number % 3:
            save(image, output / f"photo_{number:02d}.jpg", written, labels[index])
        else:  # a scanner's 16 grey levels keep the PNG small
            scan = ImageOps.posterize(image.convert("L"), 4)
            save(scan, output / f"scan_{number:02d}.png", written, labels[index])
    chalk = ImageOps.invert(
        render_user_image(images[picks[12]], rng, SIDES).convert("L")
    )
    save(chalk, output / "chalkboard.jpg", written, labels[picks[12]])
    ink = Image.fromarray(images[picks[13]]).resize((96, 96), Image.Resampling.BICUBIC)
    transparent = Image.new("RGBA", (140, 120), (20, 40, 120, 0))
    transparent.paste(Image.new("RGBA", ink.size, (20, 40, 120, 255)), (30, 14), ink)
    save(transparent, output / "transparent.png", written, labels[picks[13]])
    palette = (
        render_user_image(images[picks[14]], rng, SIDES).convert("RGB").quantize(16)
    )
    save(palette, output / "more/palette.png", written, labels[picks[14]])
    for path, label, size in written:
        print(f"{path.relative_to(output)!s:<18} digit {label}  {size:,} bytes")


def save(image: Image.Image, path: Path, written: list, label: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=85, optimize=True)
    written.append((path, int(label), path.stat().st_size))


if __name__ == "__main__":
    main()
