"""Fits how the model's reading chooses where touching digits are cut (``numbers.GUIDED``).

A number's candidate digits and the ways to cut it (``numbers.find_candidates``, as
``reading.prepare`` makes them with ``layout=number``) are read by the model; a way to
cut scores the sum of its pieces' ``weights`` times their ``numbers.reading_features``,
less ``cut`` per stroke its cuts cross, and ``numbers.choose`` takes the best. This fits
``weights`` and ``cut`` so that the best way reads the whole number right, by an
averaged structured perceptron: for each training number read wrong, the weights move
towards the best way that reads it right and away from the one chosen. Numbers from
``realistic.write_number_folder`` of the 6,000 training digits the default's run holds
out for validation (``catalog.validation_digits``, seed 42): the model never trained on
them, so it reads them as it reads new digits, and the MNIST *test* digits the inference
benchmark writes its numbers of stay unseen by the fit. Seeds 100-105 touching and
100-103 apart for training; seed 5 held out to check the fit (the share of whole
numbers read right, before and after). Fit with the default trained with seed 42.

    python scripts/fit_number_cuts.py [--model-version <timestamp>] [--epochs 15]

Prints the weights to put in ``numbers.GUIDED``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mnist_classifier.catalog import open_catalog, validation_digits
from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.pipelines.inference.numbers import (
    DIGITS,
    CutScores,
    Lattice,
    choose,
    reading_features,
)
from mnist_classifier.pipelines.inference.reading import prepare
from mnist_classifier.realistic import write_number_folder

ROOT = Path(__file__).resolve().parents[1]
#: (seed, touching, images) of the numbers fitted on, and of those held out.
TRAINING = [(seed, True, 150) for seed in range(100, 106)]
TRAINING += [(seed, False, 100) for seed in range(100, 104)]
HELD_OUT = [(5, True, 300), (5, False, 300)]
#: Where the fit starts: the weights set by hand and by a logistic fit of each piece
#: before (a piece's shape, the model's two likeliest probabilities, and whether it
#: reads a 1, which here is a 1's own width and constant), the piece verifier's
#: log-odds not yet counted.
START = CutScores(
    weights=(
        *(-14.0, -4.6, 0.9, 1.75, -0.97, 0.0),
        *[4.9 + 0.2 * (digit == 1) for digit in range(DIGITS)],
        *[-3.2 - 0.5 * (digit == 1) for digit in range(DIGITS)],
    ),
    cut=6.6,
)


class Number(NamedTuple):
    """One image of a number: what it says, its candidates and the model's reading."""

    text: str
    lattices: tuple[Lattice, ...]
    probabilities: np.ndarray  # one row per candidate
    features: list[np.ndarray]  # each lattice's ``reading_features``


def numbers(
    source: tuple[np.ndarray, np.ndarray, TrainedClassifier],
    sets: list[tuple[int, bool, int]],
    tmp: Path,
) -> list[Number]:
    """Writes numbers of the digits and reads their candidates with the model, as
    the inference pipeline does."""
    digits, labels, model = source
    found = []
    for seed, touching, count in sets:
        folder = tmp / f"{seed}_{touching}"
        truth = write_number_folder(
            digits, labels, folder, seed=seed, touching=touching, count=count
        )
        for name, (text, _) in truth.items():
            load = (folder / name).read_bytes
            item = prepare(load, False, max_pixels=10**8, layout="number")
            probabilities = model.predict(np.stack(item.views))
            features = [
                reading_features(lattice, probabilities[_rows(lattice)])
                for lattice in item.lattices
            ]
            found.append(Number(text, item.lattices, probabilities, features))
    return found


def _rows(lattice: Lattice) -> slice:
    return slice(lattice.first, lattice.first + len(lattice.spans))


def read(number: Number, guided: CutScores) -> tuple[str, list[int]]:
    """The number as ``choose`` reads it with ``guided``, and the pieces chosen."""
    chosen = choose(number.lattices, number.probabilities, guided)
    return "".join(str(k) for k in number.probabilities[chosen].argmax(axis=1)), chosen


def path_features(number: Number, chosen: list[int]) -> np.ndarray:
    """A way to cut's features: its pieces' summed, then minus its cuts' strokes."""
    total = np.zeros(number.features[0].shape[1] + 1)
    for lattice, features in zip(number.lattices, number.features):
        rows = _rows(lattice)
        pieces = [i - lattice.first for i in chosen if rows.start <= i < rows.stop]
        total[:-1] += features[pieces].sum(axis=0)
        total[-1] -= sum(lattice.crossed[lattice.spans[i][1]] for i in pieces[:-1])
    return total


def best_right_way(number: Number, guided: CutScores) -> list[int] | None:
    """The best-scoring way to cut that reads the number right, if there is one."""
    labels = number.probabilities.argmax(axis=1)
    weights = np.asarray(guided.weights)
    # (characters read so far) -> (score, pieces), over the lattices left to right
    ways: dict[int, tuple[float, list[int]]] = {0: (0.0, [])}
    for lattice, features in zip(number.lattices, number.features):
        scores = features @ weights
        last_seam = len(lattice.crossed) - 1
        after: dict[int, tuple[float, list[int]]] = {}
        for start, (score, pieces) in ways.items():
            # (seam, characters read) -> (score, pieces) within this lattice
            within = {(0, start): (score, pieces)}
            order = sorted(range(len(lattice.spans)), key=lambda i: lattice.spans[i][1])
            for index in order:
                first, end = lattice.spans[index]
                for (seam, done), (before, taken) in list(within.items()):
                    if seam != first or done >= len(number.text):
                        continue
                    if str(labels[lattice.first + index]) != number.text[done]:
                        continue
                    total = before + scores[index]
                    if end < last_seam:
                        total -= guided.cut * lattice.crossed[end]
                    key = (end, done + 1)
                    if key not in within or total > within[key][0]:
                        within[key] = (total, [*taken, lattice.first + index])
            for (seam, done), way in within.items():
                if seam == last_seam and (done not in after or way[0] > after[done][0]):
                    after[done] = way
        ways = after
    right = ways.get(len(number.text))
    return right[1] if right else None


def fit(training: list[Number], epochs: int) -> CutScores:
    """The averaged perceptron: from ``START``, over the numbers that can be read
    right at all, in a seeded order each epoch."""
    weights = np.append(START.weights, START.cut)
    total, steps = np.zeros_like(weights), 0
    rng = np.random.default_rng(0)
    readable = sum(best_right_way(number, START) is not None for number in training)
    print(f"{readable} of {len(training)} numbers can be read right by some way to cut")
    for epoch in range(epochs):
        for index in rng.permutation(len(training)):
            number = training[index]
            now = CutScores(tuple(weights[:-1]), float(weights[-1]))
            text, chosen = read(number, now)
            if text != number.text:
                right = best_right_way(number, now)
                if right is not None:
                    weights = weights + 0.1 * (
                        path_features(number, right) - path_features(number, chosen)
                    )
            total, steps = total + weights, steps + 1
        average = total / steps
        guided = CutScores(tuple(average[:-1]), float(average[-1]))
        print(
            f"epoch {epoch + 1}: {exact(training, guided):.1%} read right", flush=True
        )
    return guided


def exact(found: list[Number], guided: CutScores) -> float:
    """The share of numbers read exactly right."""
    return float(np.mean([read(number, guided)[0] == number.text for number in found]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-version", help="default: the latest classifier")
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args()
    catalog = open_catalog(ROOT)
    model = catalog.load("classifier", version=args.model_version)
    source = (*validation_digits(catalog), model)
    with tempfile.TemporaryDirectory(prefix="fit_number_cuts_") as tmp:
        training = numbers(source, TRAINING, Path(tmp))
        held_out = numbers(source, HELD_OUT, Path(tmp))
    guided = fit(training, args.epochs)
    for (seed, touching, count), start in zip(HELD_OUT, (0, HELD_OUT[0][2])):
        kind = f"seed {seed}, {'touching' if touching else 'apart'}"
        part = held_out[start : start + count]
        print(
            f"{kind}: {exact(part, START):.1%} read right from the start, "
            f"{exact(part, guided):.1%} with the fitted weights"
        )
    weights = ", ".join(f"{weight:.2f}" for weight in guided.weights)
    print(f"numbers.GUIDED: weights=({weights}), cut={guided.cut:.2f}")


if __name__ == "__main__":
    main()
