"""Unit tests of classifying prepared files: one call to the model, one row a file."""

from __future__ import annotations

import numpy as np

from mnist_classifier.pipelines.inference.classify import (
    classify_batch,
    classify_prepared,
    tabulate,
)
from mnist_classifier.pipelines.inference.numbers import choose
from mnist_classifier.pipelines.inference.reading import PreparedImage, prepare
from mnist_classifier.realistic import render_number
from tests.helpers import StubClassifier

from .helpers import COLUMNS, png_bytes


def test_classify_batch_without_a_usable_image_calls_no_model(stub_classifier):
    table = classify_batch(
        ["a", "b"], [PreparedImage((), "not an image")] * 2, stub_classifier
    )
    assert stub_classifier.batches == [] and list(table.columns) == COLUMNS
    assert table["prediction"].isna().all()


class SureOf(StubClassifier):
    """Reads the views at ``rows`` of each call as sure 0s, the others as unsure."""

    def __init__(self, card, rows: list[int]) -> None:
        super().__init__(card)
        self.rows = rows

    def predict(self, images: np.ndarray) -> np.ndarray:
        probabilities = np.full((len(images), 10), 0.02, np.float32)
        probabilities[:, 0], probabilities[:, 6] = 0.45, 0.39
        probabilities[self.rows] = 0.001
        probabilities[self.rows, 0] = 0.991
        return probabilities


def test_the_model_chooses_a_number_s_digits_among_its_candidates(
    sample_test, model_card
):
    images, _ = sample_test
    zeros = render_number([images[3], images[10]], np.random.default_rng(0), True)
    data = png_bytes(zeros)
    item = prepare(lambda: data, False, max_pixels=10**6, layout="number")
    assert len(item.lattices) == 1 and len(item.views) == len(item.boxes) > 2
    by_shape = choose(item.lattices)  # without the model, the two zeros
    assert len(by_shape) == 2

    # With the piece verifier silent, the model's reading alone decides.
    silent = [lattice._replace(whole=0 * lattice.whole) for lattice in item.lattices]
    unverified = item._replace(lattices=tuple(silent))
    for sure, digits in ((by_shape, "00"), ([0], "0")):  # [0]: the whole group
        ((read, probabilities),) = classify_prepared(
            [unverified], SureOf(model_card, sure)
        )
        assert read.views == tuple(item.views[i] for i in sure)
        assert read.boxes == tuple(item.boxes[i] for i in sure) and not read.lattices
        assert (probabilities[:, 0] > 0.99).all()
        table = tabulate(["zeros.png"], [(read, probabilities)], model_card.class_names)
        assert table["digits"][0] == digits

    # The verifier tells two touching zeros from one digit, however sure the model.
    ((read, _),) = classify_prepared([item], SureOf(model_card, [0]))
    assert read.views == tuple(item.views[i] for i in by_shape)
