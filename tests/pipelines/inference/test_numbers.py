"""Finding the digits of a number written side by side: segmentation and the piece
verifier, no classifier."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from mnist_classifier.pipelines.inference.numbers import (
    Lattice,
    choose,
    find_candidates,
    find_digits,
    layout_of,
    reads_as_number,
)
from mnist_classifier.pipelines.inference.preprocessing import (
    UnusableImageError,
    to_grayscale,
)
from mnist_classifier.pipelines.inference.reading import prepare
from mnist_classifier.realistic import WrittenNumber, draw_number, render_number

from .helpers import png_bytes

# Indices into the shipped MNIST test sample: a 7, 2, 1, 0, 4, 9, 5, another 0 and an
# upright 1.
SEVEN, TWO, ONE, ZERO, FOUR, NINE, FIVE, OTHER_ZERO = 0, 1, 2, 3, 4, 7, 8, 10
UPRIGHT_ONE = 14


def written(
    digits: list[np.ndarray],
    gap: int,
    *,
    scale: int = 3,
    margin: int = 30,
    line_at: int | None = None,
    specks: tuple[tuple[int, int], ...] = (),
) -> tuple[Image.Image, list[int]]:
    """Writes MNIST digits side by side on grey paper, ``gap`` px between their ink.

    A negative gap overlaps their ink. ``line_at`` draws a faint ruled line across
    the paper at that row; ``specks`` puts 3x3 dots of dirt at (row, column).

    Returns:
        The image, and the column where each digit's ink starts.
    """
    inks = []
    for digit in digits:
        cols = np.flatnonzero(digit.any(axis=0))
        ink = Image.fromarray(digit[:, cols[0] : cols[-1] + 1])
        size = (ink.width * scale, ink.height * scale)
        inks.append(np.asarray(ink.resize(size, Image.Resampling.BICUBIC)) / 255)
    starts = [margin]
    for ink in inks[:-1]:
        starts.append(starts[-1] + ink.shape[1] + gap)
    alpha = np.zeros((28 * scale + 2 * margin, starts[-1] + inks[-1].shape[1] + margin))
    for ink, start in zip(inks, starts):
        field = alpha[
            margin - 4 * scale : margin + 24 * scale, start : start + ink.shape[1]
        ]
        np.maximum(field, np.clip(ink, 0, 1), out=field)
    if line_at is not None:
        alpha[line_at : line_at + 2] = np.maximum(alpha[line_at : line_at + 2], 0.5)
    for row, col in specks:
        alpha[row - 1 : row + 2, col - 1 : col + 2] = 1
    return Image.fromarray(np.uint8(np.round(215 - 170 * alpha))), starts


def ways_in_two(lattice: Lattice) -> list[list[int]]:
    """The ways to cut a lattice's group in two: a piece from its first seam, and
    one from where that ends to its last seam (their candidates' indices)."""
    last = len(lattice.crossed) - 1
    return [
        [left, right]
        for left, (start, end) in enumerate(lattice.spans)
        for right, (after, stop) in enumerate(lattice.spans)
        if start == 0 and end == after and stop == last
    ]


@pytest.fixture(scope="module")
def images(sample_test) -> np.ndarray:
    return sample_test[0]


def lefts(image: Image.Image) -> list[int]:
    return [digit.box[0] for digit in find_digits(to_grayscale(image))]


def test_separate_digits_are_found_left_to_right(images):
    image, starts = written([images[i] for i in (SEVEN, TWO, ONE, ZERO)], gap=12)

    digits = find_digits(image)

    assert len(digits) == 4
    assert [d.box[0] for d in digits] == pytest.approx(starts, abs=6)
    for digit in digits:
        left, top, right, bottom = digit.box
        assert 0 <= left < right <= image.width and 0 <= top < bottom <= image.height
        assert digit.view.shape == (28, 28) and digit.view.dtype == np.uint8
        assert digit.view.max() > 200  # light on black, as MNIST


def test_specks_and_a_ruled_line_are_not_digits(images):
    image, starts = written(
        [images[i] for i in (FOUR, NINE, FIVE)],
        gap=15,
        line_at=75,  # through the digits' lower half
        specks=((8, 20), (120, 70), (60, 5)),
    )

    assert lefts(image) == pytest.approx(starts, abs=6)


def test_a_five_whose_flag_is_apart_is_one_digit(images):
    five = images[FIVE].copy()
    five[:, 14] = 0  # cuts the flag off the body, as MNIST's 5s often are
    image, starts = written([images[SEVEN], five], gap=12)

    assert lefts(image) == pytest.approx(starts, abs=6)


def test_touching_digits_are_cut_apart(images):
    image, _ = written([images[ZERO], images[OTHER_ZERO]], gap=-6)
    assert ndimage.label(np.asarray(image) < 100, np.ones((3, 3)))[1] == 1  # touching

    assert len(find_digits(image)) == 2


def test_touching_digits_beside_one_apart_are_cut_apart_too(images):
    # "1 00": the touching pair is wider than twice the 1 beside it.
    one, _ = written([images[UPRIGHT_ONE]], gap=0)
    pair, _ = written([images[ZERO], images[OTHER_ZERO]], gap=-6)
    image = Image.fromarray(np.hstack([np.asarray(one), np.asarray(pair)]))

    assert len(find_digits(image)) == 3


def test_a_digit_beside_ones_is_measured_against_the_other_digits(images):
    # "7112" with a wide 2: the 1s pull the median group's width down to less than
    # half the 2's; measured against the groups wider than a 1 (the 7 and itself),
    # the 2 is one digit and never cut.
    wide_two = np.repeat(images[TWO], [1, 2] * 14, axis=1)  # half as wide again
    image, _ = written(
        [images[SEVEN], images[UPRIGHT_ONE], images[UPRIGHT_ONE], wide_two], gap=15
    )

    lattices = find_candidates(to_grayscale(image)).lattices

    assert len(lattices) == 4
    assert lattices[-1].spans == ((0, 1),)


def test_one_digit_stays_one_however_wide(images, paper_digit):
    wide_two = Image.fromarray(np.asarray(written([images[TWO]], gap=0)[0])).resize(
        (200, 90)
    )

    assert len(find_digits(to_grayscale(paper_digit))) == 1
    assert len(find_digits(wide_two)) == 1


def test_a_blank_image_has_no_digits():
    with pytest.raises(UnusableImageError, match="empty image"):
        find_digits(Image.new("L", (120, 60), 200))


@pytest.mark.parametrize("layout", ["number", "auto"])
def test_a_dash_one_pixel_high_is_one_uncut_piece(layout):
    page = np.full((100, 160), 220, np.uint8)
    page[50, 60:100] = 30  # far wider than high: auto takes it for a number

    data = png_bytes(Image.fromarray(page))
    prepared = prepare(lambda: data, False, max_pixels=10**6, layout=layout)

    assert prepared.status == "ok" and len(prepared.views) == 1


def test_auto_reads_one_digit_as_a_digit_and_a_number_as_a_number(images, paper_digit):
    number = render_number([images[i] for i in (ONE, TWO)], np.random.default_rng(0))

    assert not reads_as_number(to_grayscale(paper_digit))
    assert layout_of(to_grayscale(paper_digit), "auto") == "digit"
    assert reads_as_number(to_grayscale(number))
    assert layout_of(to_grayscale(number), "auto") == "number"
    assert layout_of(to_grayscale(paper_digit), "number") == "number"
    assert not reads_as_number(Image.new("L", (50, 50), 128))  # blank: a digit's status


def test_auto_reads_a_digit_with_a_shorter_mark_beside_it_as_a_digit(images):
    """Some MNIST digits carry a thin stray stroke beside them (docs/experiments.md,
    "`auto` on more single digits"): shorter than the digit, it is no second digit for
    ``auto``; as tall as the digit, it is a 1."""
    rows = np.flatnonzero(images[TWO].any(axis=1))
    height = rows[-1] - rows[0] + 1

    def beside_the_two(mark_height: int) -> Image.Image:
        mark = np.zeros((28, 28), np.uint8)
        mark[rows[-1] + 1 - mark_height : rows[-1] + 1, 13:15] = 200
        return to_grayscale(written([images[TWO], mark], gap=15)[0])

    assert not reads_as_number(beside_the_two(round(0.7 * height)))
    assert reads_as_number(beside_the_two(height))


def test_separate_digits_are_read_without_asking_the_model_to_choose(images):
    image, _ = written([images[i] for i in (SEVEN, TWO, ONE)], gap=12)
    calls = []

    def predict(views: np.ndarray) -> np.ndarray:
        calls.append(len(views))
        return np.full((len(views), 10), 0.1)

    assert len(find_digits(image, predict)) == 3
    assert not calls  # separate digits: nothing to choose between


def test_the_model_chooses_where_touching_digits_are_cut(images):
    image, _ = written([images[ZERO], images[OTHER_ZERO]], gap=-6)
    candidates = find_candidates(image)
    (lattice,) = candidates.lattices
    by_shape = choose(candidates.lattices)  # no model: the two zeros, by their shapes
    assert len(by_shape) == 2 and len(lattice.spans) > 3  # the whole, and many cuts
    # Another way to cut it in two: a piece ending at another seam, and the rest.
    other = next(way for way in ways_in_two(lattice) if way != by_shape)

    def sure_of(which: list[int]) -> np.ndarray:
        probabilities = np.full((len(candidates.digits), 10), 0.02)
        probabilities[:, 0], probabilities[:, 6] = 0.45, 0.39  # unsure: a 0 or a 6?
        probabilities[which] = 0.001
        probabilities[which, 0] = 0.991
        return probabilities

    # With the piece verifier silent, the model's reading alone decides.
    silent = tuple(each._replace(whole=0 * each.whole) for each in candidates.lattices)
    assert choose(silent, sure_of(by_shape)) == by_shape
    assert choose(silent, sure_of([0])) == [0]  # the whole, one digit
    assert choose(silent, sure_of(list(other))) == list(other)
    # The verifier tells two touching zeros from one digit, however sure the model.
    assert choose(candidates.lattices, sure_of([0])) in ways_in_two(lattice)


def test_the_model_may_read_a_narrow_group_as_two_ones(images):
    # Two upright 1s that overlap a little: one group, narrower than most single digits
    # (about half as wide as tall), which is still cut into candidates.
    image, _ = written([images[UPRIGHT_ONE]] * 2, gap=-4)
    candidates = find_candidates(image)
    (lattice,) = candidates.lattices
    assert lattice.shape[0, 1] < 0.8 and len(lattice.spans) > 3
    assert choose(candidates.lattices) == [0]  # by its shape alone: one digit
    halves = ways_in_two(lattice)[0]
    probabilities = np.full((len(candidates.digits), 10), 0.02)
    probabilities[:, 7], probabilities[:, 1] = 0.45, 0.39  # unsure: a 7 or a 1?
    probabilities[halves] = 0.001
    probabilities[halves, 1] = 0.991

    assert choose(candidates.lattices, probabilities) == halves


def test_the_piece_verifier_tells_whole_digits_from_pieces(images):
    # Twelve numbers of four touching digits, as the benchmark's are written (the
    # verifier was fitted on training digits, these are test digits). A candidate is
    # whole when its ink spans a drawn digit's columns, as the fit labels them.
    whole, scores = [], []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        digits = [images[i] for i in rng.choice(len(images), 4, replace=False)]
        image, columns = draw_number(digits, rng, touching=True)
        gray = to_grayscale(image)
        candidates = find_candidates(gray)
        number = WrittenNumber("", columns)
        cut = [lattice for lattice in candidates.lattices if len(lattice.spans) > 1]
        for lattice in cut:
            found = candidates.digits[
                lattice.first : lattice.first + len(lattice.spans)
            ]
            spans = np.asarray([digit.box for digit in found])[:, [0, 2]] / gray.width
            whole += list(number.drawn_at(spans))
            scores += list(lattice.whole)
    whole, scores = np.asarray(whole), np.asarray(scores)
    assert 0.1 < whole.mean() < 0.5  # cut into many pieces, some of them whole digits

    # How often a whole digit outscores a piece: about half the time for a verifier of
    # random weights; the one-hidden-layer verifier shipped before this one did not
    # reach this bar (docs/experiments.md, "Touching digits").
    assert (scores[whole][:, None] > scores[~whole][None, :]).mean() > 0.78
    assert all(not lat.whole.any() for lat in find_candidates(gray, False).lattices)
