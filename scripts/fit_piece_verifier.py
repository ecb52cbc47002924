"""Fits the piece verifier (``verifier.PieceVerifier``) and writes its weights.

When touching digits are cut apart, the classifier reads every candidate piece, and it
reads a piece of a digit, or two digits run together, as surely as a whole digit: it
has only ever seen whole ones. The verifier is a small convolutional network over a
candidate's 28x28 view that says whether the view is one whole digit; its log-odds is
one of the features by which ``numbers.choose`` picks where to cut.

Its examples are the candidate digits of numbers written by
``realistic.write_number_folder`` from MNIST *training* digits (the benchmark's numbers
are of test digits), found as the inference pipeline finds them with ``layout=number``;
a candidate is a whole digit when its ink spans, left to right, what a drawn digit's
does (``WrittenNumber.drawn_at``). Seeds 200-207 (touching) and 200-201 (apart) to fit, seed 208
(touching) held out to report how well it tells them apart.

    python scripts/fit_piece_verifier.py

Writes src/mnist_classifier/pipelines/inference/piece_verifier.npz; then refit the
cut weights on it (``python scripts/fit_number_cuts.py``).
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from mnist_classifier.catalog import open_catalog
from mnist_classifier.pipelines.inference.numbers import find_candidates
from mnist_classifier.pipelines.inference.preprocessing import read_image, to_grayscale
from mnist_classifier.pipelines.inference.verifier import VERIFIER_FILE, PieceVerifier
from mnist_classifier.realistic import write_number_folder
from mnist_classifier.startup import import_keras

ROOT = Path(__file__).resolve().parents[1]
#: (seed, touching, images) of the numbers fitted on, and of those held out.
TRAINING = [(seed, True, 150) for seed in range(200, 208)]
TRAINING += [(seed, False, 100) for seed in range(200, 202)]
HELD_OUT = [(208, True, 150)]
#: The filters of the two convolutions (``PieceVerifier`` computes two), the hidden
#: units and the epochs.
FILTERS = (8, 16)
HIDDEN_UNITS = 64
EPOCHS = 4


def examples(
    digits: np.ndarray,
    labels: np.ndarray,
    sets: list[tuple[int, bool, int]],
    tmp: Path,
) -> tuple[np.ndarray, np.ndarray]:
    """The candidate digits of groups that may be cut, and whether each is whole."""
    views, whole = [], []
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        for seed, touching, count in sets:
            folder = tmp / f"{seed}_{touching}"
            truth = write_number_folder(
                digits, labels, folder, seed=seed, touching=touching, count=count
            )
            read = functools.partial(_candidates, folder)
            for number, (found, spans, lattices) in zip(
                truth.values(), pool.map(read, truth, chunksize=8)
            ):
                for lattice in lattices:
                    if len(lattice.spans) > 1:
                        rows = slice(lattice.first, lattice.first + len(lattice.spans))
                        views.append(found[rows])
                        whole.append(number.drawn_at(spans[rows]))
    return np.concatenate(views), np.concatenate(whole)


def _candidates(folder: Path, name: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """A number's candidate digits as the pipeline finds them, but not verified: their
    views, their ink's left and right edges (as shares of the image's width) and
    lattices."""
    gray = to_grayscale(read_image((folder / name).read_bytes, 10**8, gray=True))
    candidates = find_candidates(gray, verify=False)
    boxes = np.asarray([digit.box for digit in candidates.digits])
    views = np.stack([digit.view for digit in candidates.digits])
    return views, boxes[:, [0, 2]] / gray.width, candidates.lattices


def fit(views: np.ndarray, whole: np.ndarray) -> PieceVerifier:
    """Trains the network ``PieceVerifier`` computes, seeded, and takes out its
    weights."""
    keras = import_keras()
    keras.utils.set_random_seed(0)
    conv = [
        layer
        for filters in FILTERS
        for layer in (
            keras.layers.Conv2D(filters, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
        )
    ]
    network = keras.Sequential(
        [
            keras.Input((28, 28), dtype="uint8"),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Reshape((28, 28, 1)),
            *conv,
            keras.layers.Flatten(),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    network.compile(
        keras.optimizers.Adam(2e-3),
        keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.AUC(from_logits=True, name="auc")],
    )
    network.fit(
        views, whole.astype("float32"), batch_size=256, epochs=EPOCHS, verbose=2
    )
    return PieceVerifier.of_keras(network.get_weights())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=VERIFIER_FILE)
    args = parser.parse_args()
    catalog = open_catalog(ROOT)
    digits = catalog.load("raw_train_images")
    labels = catalog.load("raw_train_labels")
    with tempfile.TemporaryDirectory(prefix="fit_piece_verifier_") as tmp:
        views, whole = examples(digits, labels, TRAINING, Path(tmp))
        held_views, held_whole = examples(digits, labels, HELD_OUT, Path(tmp))
    print(f"{len(views)} candidates, {whole.mean():.1%} of them whole digits")
    verifier = fit(views, whole)
    held = verifier.log_odds(held_views)
    print(
        f"held out (seed {HELD_OUT[0][0]}): {len(held)} candidates, "
        f"AUC {roc_auc_score(held_whole, held):.3f}, "
        f"{np.mean((held > 0) == held_whole):.1%} right"
    )
    verifier.save(args.out)
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
