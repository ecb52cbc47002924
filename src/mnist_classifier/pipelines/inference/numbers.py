"""Finds the digits of a number written side by side ("2026", "07 12") in one image.

An image may hold several digits: a written number, a date, a form field. They are
read as MNIST reads one digit each, left to right. The ink is found as for one digit
(``preprocessing``: the paper's tone, polarity, the strokes); then ruled lines are
taken out, the ink's connected components are grouped into digits (the strokes of one
digit joined, specks left out) and groups that may be touching digits (any but the
narrowest) may be cut along seams that cross few strokes (``seams``), so that they
come apart.
Each candidate digit becomes its own 28x28 view exactly as a single digit does
(``thicken_thin_strokes``, ``centre_in_frame``).

Reading a number takes two steps, so that the model need not be where files are read:
``find_candidates`` (no model: a worker process can do it) finds every candidate
digit and asks a small piece verifier (``verifier``, a convolutional network in plain
NumPy) whether each is one whole digit; ``choose`` then picks the number's digits
among them, letting the model's reading of each candidate choose where touching digits
are cut (by their shapes alone it cuts only where they say so clearly, and reads
touching digits far worse), and the verifier keep it from reading two touching digits
as one.
``find_digits`` does both at once. ``reads_as_number`` is the ``auto`` layout's rule;
it says yes only when it is sure, so an image of one digit keeps going through
``digit_view`` as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage

from mnist_classifier.params import Layout

from .preprocessing import (
    FOUR_NEIGHBOURS,
    STROKE_LEVEL,
    Paper,
    UnusableImageError,
    centre_in_frame,
    measure_ink,
    percentile,
    scaled_ink,
    thicken_thin_strokes,
)
from .seams import find_seams, stroke_unit
from .verifier import whole

#: Longer side images are reduced to before their digits are looked for. (A JPEG is
#: decoded before its layout is known, at the single digit's ``WORKING_SIZE`` at least:
#: see docs/experiments.md for what reading numbers' JPEGs larger changes.)
NUMBER_WORKING_SIZE = 1024
#: Share of the ink's level down to which a stroke's pixels are followed.
FAINT_LEVEL = 0.3
#: Share of the ink's level that a ruled line is looked for at (lines are faint).
LINE_LEVEL = 0.2
#: Height of a digit-sized group of ink, times the tallest's (``auto``'s rule: a
#: number's digits are about as tall as each other, a stray stroke beside a digit is
#: shorter), and how much of the shorter's height two must share to be on one line.
DIGIT_SIZED = 0.8
SAME_LINE = 0.5
#: Width over height of ink wider than any one digit, with a margin above the widest
#: MNIST digits (docs/experiments.md, "The figures behind three constants").
WIDEST_DIGIT = 2.5

_EIGHT_NEIGHBOURS = np.ones((3, 3), bool)


class Digit(NamedTuple):
    """One digit of a number: what the model reads and where it is."""

    view: np.ndarray  # 28x28 uint8, light on black, as MNIST's digits
    # Its ink's bounding box in the upright grayscale image's pixels: left, top,
    # right, bottom (right and bottom exclusive).
    box: tuple[int, int, int, int]


class _Page(NamedTuple):
    """An image's ink at working size: what ``find_digits`` works on."""

    ink: np.ndarray  # float32, grey levels away from the paper, inkwards
    strokes: np.ndarray  # bool, the strokes, faint ones too; ruled lines taken out
    noise: float  # twice the paper's noise: ink below it is paper
    factor: int  # how much the image was reduced
    size: tuple[int, int]  # the image's width and height


class _Group(NamedTuple):
    """Ink that belongs together: one digit, or touching digits not yet cut apart."""

    rows: slice
    cols: slice
    mask: np.ndarray  # bool, the group's strokes within rows x cols


class Lattice(NamedTuple):
    """A group of ink and the ways to cut it into digits (one way: whole, if narrow).

    Its candidate digits each lie between two of its seams, numbered left to right; a
    way to cut it is a run of candidates from the first seam to the last, each starting
    at the seam where the one before ends.
    """

    first: int  # its first candidate's index among the number's candidates
    spans: tuple[tuple[int, int], ...]  # each candidate's first and last seam
    # Each candidate's shape, a row of: how much shorter than 0.85 of the group's
    # height it is, its width and width squared (times the height), its ink (stroke
    # pixels over a stroke as long as the height).
    shape: np.ndarray
    crossed: np.ndarray  # how many strokes each seam crosses
    # The piece verifier's log-odds that each candidate is one whole digit (``whole``);
    # zero for a group never cut.
    whole: np.ndarray


class CutScores(NamedTuple):
    """How the model's reading chooses the cuts: each piece scores ``weights`` times
    its ``reading_features``, each cut costs ``cut`` per stroke it crosses."""

    weights: tuple[float, ...]
    cut: float


class Candidates(NamedTuple):
    """Where a number's digits may be: every candidate digit, group by group."""

    digits: tuple[Digit, ...]  # left to right within each group; groups left to right
    lattices: tuple[Lattice, ...]  # one per group of ink


def find_candidates(gray: Image.Image, verify: bool = True) -> Candidates:
    """Finds the groups of ink of a number and every way to cut the wide ones.

    No model is needed: each candidate gets its 28x28 view and the piece verifier's
    log-odds that it is a whole digit (``Lattice.whole``), and ``choose`` then picks the
    number's digits among them, with the model's reading of those views or by their
    shapes alone.

    Args:
        gray: The image in 8-bit luminance, upright (``to_grayscale``'s output).
        verify: Whether to run the piece verifier (off only to find the examples it
            is fitted on: ``Lattice.whole`` is then zero).

    Raises:
        UnusableImageError: ``empty image`` when nothing stands out from the paper.
    """
    page = _page(gray)
    groups, _ = _groups(page.strokes)
    digits: list[Digit] = []
    lattices = []
    for group in groups:
        pieces, lattice = _lattice(page, group, groups, first=len(digits))
        digits += [_digit(page, piece) for piece in pieces]
        if verify and len(pieces) > 1:
            views = np.stack([digit.view for digit in digits[lattice.first :]])
            lattice = lattice._replace(whole=whole(views))
        lattices.append(lattice)
    return Candidates(tuple(digits), tuple(lattices))


def choose(
    lattices: tuple[Lattice, ...],
    probabilities: np.ndarray | None = None,
    guided: CutScores | None = None,
) -> list[int]:
    """Which candidates are the number's digits, left to right (their indices).

    For each group, the way to cut it whose pieces score highest as digits, less a
    weight for each stroke a cut crosses (dynamic programming). With the model's
    ``probabilities`` for every candidate, a piece scores by what the model reads in
    it and how surely, as well as by its shape (``GUIDED``, or ``guided``), so that a
    cut through the middle of a 0 loses to the cut between two digits; without them,
    by its shape alone (``SHAPE_WEIGHTS``), which cuts cautiously, so that a wide
    single digit stays whole.

    Raises:
        ValueError: if the model does not read the 10 digits.
    """
    guided = guided or GUIDED
    chosen = []
    for lattice in lattices:
        scores, cut = FREE_BIAS + lattice.shape @ SHAPE_WEIGHTS, CUT_WEIGHT
        if probabilities is not None and len(lattice.spans) > 1:
            read = probabilities[lattice.first : lattice.first + len(lattice.spans)]
            scores = reading_features(lattice, read) @ guided.weights
            cut = guided.cut
        chosen += [lattice.first + index for index in _best_cut(lattice, scores, cut)]
    return chosen


def reading_features(lattice: Lattice, probabilities: np.ndarray) -> np.ndarray:
    """What a piece's score is made of when the model helps choose, a row per piece.

    Its shape (``Lattice.shape``, its width left to the next columns), the log of the
    model's likeliest and second likeliest class's probability, the piece verifier's
    log-odds that it is one whole digit (``Lattice.whole``), then its width if the
    model reads class k there, for each k, then whether it reads class k: how wide
    each digit is (a 1 narrow, a 0 wide) and how readily a piece is taken for it.

    Raises:
        ValueError: if the model does not read the 10 digits.
    """
    if probabilities.shape[1] != DIGITS:
        raise ValueError(
            f"Numbers are read with a model of the {DIGITS} digits; this one has "
            f"{probabilities.shape[1]} classes. Set inference.layout to digit."
        )
    likeliest = np.sort(probabilities, axis=1)[:, ::-1]
    read = np.eye(DIGITS)[probabilities.argmax(axis=1)]
    short, wide, wide2, ink = lattice.shape.T
    return np.column_stack(
        [
            short,
            wide2,
            ink,
            np.log(np.maximum(likeliest[:, 0], 1e-6)),
            np.log(np.maximum(likeliest[:, 1], 1e-4)),
            lattice.whole,
            read * wide[:, None],
            read,
        ]
    )


def find_digits(
    gray: Image.Image, predict: Callable[[np.ndarray], np.ndarray] | None = None
) -> list[Digit]:
    """Finds the digits written side by side in an image, left to right.

    ``find_candidates``, then ``choose``: with ``predict`` (the model: (n, 28, 28)
    uint8 views to (n, classes) probabilities), the model helps choose where touching
    digits are cut, as every reading of a number in this project does; without it,
    by the pieces' shapes alone.

    Raises:
        UnusableImageError: ``empty image`` when nothing stands out from the paper.
    """
    candidates = find_candidates(gray)
    probabilities = None
    if predict and any(len(lattice.spans) > 1 for lattice in candidates.lattices):
        probabilities = np.asarray(
            predict(np.stack([digit.view for digit in candidates.digits]))
        )
    return [candidates.digits[i] for i in choose(candidates.lattices, probabilities)]


def reads_as_number(gray: Image.Image) -> bool:
    """Whether an image clearly holds a number, not one digit: the ``auto`` rule.

    Yes when two digit-sized groups of ink stand side by side on one line, or one
    group is far wider than any single digit is (touching digits). Ink touching the
    image's edge does not count: a shadow, the page's edge. When in doubt, no: then
    the image is read as one digit, exactly as before numbers were read.
    """
    try:
        page = _page(gray)
        groups, height = _groups(page.strokes)
    except UnusableImageError:
        return False
    bottom, right = page.strokes.shape
    sized = [
        g
        for g in groups
        if g.rows.stop - g.rows.start >= DIGIT_SIZED * height
        and g.rows.start > 0
        and g.cols.start > 0
        and g.rows.stop < bottom
        and g.cols.stop < right
    ]
    for before, after in zip(sized, sized[1:]):
        shared = min(before.rows.stop, after.rows.stop) - max(
            before.rows.start, after.rows.start
        )
        shorter = min(g.rows.stop - g.rows.start for g in (before, after))
        if shared >= SAME_LINE * shorter:
            return True
    return any(
        (g.cols.stop - g.cols.start) > WIDEST_DIGIT * (g.rows.stop - g.rows.start)
        for g in sized
    )


def layout_of(gray: Image.Image, layout: Layout) -> Literal["digit", "number"]:
    """What to read an image as, given the ``inference.layout`` parameter."""
    if layout == "auto":
        return "number" if reads_as_number(gray) else "digit"
    return layout


def _page(gray: Image.Image) -> _Page:
    """Measures the paper and the ink, as ``find_ink`` does, over the whole image.

    The strokes are what is faintly inked (``FAINT_LEVEL``) around what is clearly
    so (``STROKE_LEVEL``): a light digit among dark ones keeps its strokes joined.
    (``even_out_shadows`` is not applied: on numbers it takes much of the ink for
    shadow and loses digits.)

    Raises:
        UnusableImageError: ``empty image`` when nothing stands out from the paper.
    """
    factor = -(-max(gray.size) // NUMBER_WORKING_SIZE)
    small = gray.reduce(factor) if factor > 1 else gray
    pixels = np.asarray(small, dtype=np.float32)
    paper = Paper.of(pixels)
    ink, level, _ = measure_ink(pixels, paper, np.s_[:, :])
    faint = _without_ruled_lines(ink > FAINT_LEVEL * level, ink > LINE_LEVEL * level)
    labels, _ = ndimage.label(faint, _EIGHT_NEIGHBOURS)
    inked = np.unique(labels[faint & (ink > STROKE_LEVEL * level)])
    strokes = np.isin(labels, inked[inked > 0])
    if not strokes.any():
        raise UnusableImageError("empty image")
    return _Page(ink, strokes, 2 * paper.noise, factor, gray.size)


def _without_ruled_lines(strokes: np.ndarray, faint: np.ndarray) -> np.ndarray:
    """Takes out thin horizontal lines that run across most of the image.

    A ruled line is found in the faint ink (lines are often lighter than the pen) as
    long runs of ink along rows. Where a digit's stroke crosses the line, the line's
    pixels next to the stroke are kept, so the digit is not cut in two.
    """
    width = strokes.shape[1]
    run = max(width // 4, 8)
    along = ndimage.uniform_filter1d(faint.astype(np.float32), run, axis=1)
    band = ndimage.maximum_filter1d(along > 0.8, run, axis=1) & faint
    band = ndimage.maximum_filter1d(band, 3, axis=0)  # a line's soft edges
    labels, count = ndimage.label(band, FOUR_NEIGHBOURS)
    if not count:
        return strokes
    lines = np.zeros_like(strokes)
    for index, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
        if cols.stop - cols.start < 0.6 * width:
            continue
        line = labels[rows, cols] == index
        thickness = np.median(line.sum(axis=0))
        if thickness <= max(8, 0.1 * strokes.shape[0]):
            lines[rows, cols] |= line
    if not lines.any():
        return strokes
    reach = 2 * int(lines.sum(axis=0).max()) + 3
    crossing = ndimage.maximum_filter1d(strokes & ~lines, reach, axis=0)
    return strokes & ~(lines & ~crossing)


def _groups(strokes: np.ndarray) -> tuple[list[_Group], float]:
    """Groups the strokes' connected components into digits, left to right.

    Components at least ``0.45`` of the tallest digit's height are digits or their
    major parts; those overlapping horizontally much (the two strokes of a 4), or at
    all if one is above the other (a 9's head and tail), are one digit. Smaller
    pieces on the written line join the digit they overlap horizontally or nearly
    touch; others (above or below the line, or apart) are specks.

    Returns:
        The groups, and the digits' height (the tallest large component's).
    """
    labels, count = ndimage.label(strokes, _EIGHT_NEIGHBOURS)
    boxes = ndimage.find_objects(labels)
    areas = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    tops = np.array([rows.start for rows, _ in boxes])
    bottoms = np.array([rows.stop for rows, _ in boxes])
    lefts = np.array([cols.start for _, cols in boxes])
    rights = np.array([cols.stop for _, cols in boxes])
    large = areas >= 0.2 * areas.max()
    height = float((bottoms - tops)[large].max())
    tall = np.flatnonzero(bottoms - tops >= 0.45 * height)  # the tallest at least

    members: list[list[int]] = []
    for index in tall[np.argsort(lefts[tall])]:
        if members:
            last = members[-1]
            right = rights[last].max()
            narrower = min(rights[index] - lefts[index], right - lefts[last].min())
            across = right - lefts[index]  # how much they overlap horizontally
            down = min(bottoms[last].max(), bottoms[index]) - max(
                tops[last].min(), tops[index]
            )
            shorter = min(
                bottoms[index] - tops[index], bottoms[last].max() - tops[last].min()
            )
            if across >= 0.4 * narrower or (across > 0 and down <= 0.3 * shorter):
                last.append(index)  # one above the other: a 9's head and tail
                continue
        members.append([index])
    spans = np.array([[lefts[m].min(), rights[m].max()] for m in members])
    line_top = tops[tall].min() - 0.1 * height
    line_bottom = bottoms[tall].max() + 0.1 * height
    for index in np.setdiff1d(np.arange(count), tall):
        if not line_top <= (tops[index] + bottoms[index]) / 2 <= line_bottom:
            continue  # above or below the written line: a speck
        overlap = np.minimum(spans[:, 1], rights[index]) - np.maximum(
            spans[:, 0], lefts[index]
        )
        if overlap.max() >= -0.15 * height:  # overlapping, or nearly touching
            members[int(np.argmax(overlap))].append(index)

    groups = []
    for member in members:
        rows = slice(int(tops[member].min()), int(bottoms[member].max()))
        cols = slice(int(lefts[member].min()), int(rights[member].max()))
        mask = np.isin(labels[rows, cols], np.asarray(member) + 1)
        groups.append(_Group(rows, cols, mask))
    return groups, height


#: Groups narrower than this times their height are never cut: one digit (a 1, or a
#: narrow 7). Wider ones may be two touching digits ("11", "19"); whether they are is
#: left to the model's reading of the pieces (``choose``).
CUT_ASPECT = 0.45
#: Nor are groups narrower than this times a digit's width in the number
#: (``_digit_width``), when there are others and that is no wider than 1.3 times the
#: group's height (single digits, then): in "3 0 7" the 0 is one digit, however wide.
CUT_CONTEXT = 2.0
#: Shortest a digit of a number is, times its group's height (not a stroke's sliver).
SHORTEST_DIGIT = 0.6
#: Widest a digit is, times the group's height; wider pieces are not considered.
PIECE_ASPECT = 1.3
#: Without the model, a piece's score as one digit is a logistic model's log-odds over
#: its ``Lattice.shape``, fitted on numbers from ``realistic.write_number_folder``
#: (seeds 100 and 101, touching and not; checked on seed 102); each cut costs
#: ``CUT_WEIGHT`` per stroke it crosses. ``FREE_BIAS`` is set so that separate digits
#: keep their accuracy: the lower, the fewer cuts.
SHAPE_WEIGHTS = (-14.0, 4.9, -4.6, 0.9)
CUT_WEIGHT = 6.6
FREE_BIAS = -2.0
#: The classes a number's digits are.
DIGITS = 10
#: With the model: weights of ``reading_features`` (short, width squared, ink, log
#: likeliest, log second likeliest, the piece verifier's log-odds, width if read as
#: 0...9, read as 0...9) and of a cut's strokes, fitted by
#: ``scripts/fit_number_cuts.py`` to read whole numbers right, on numbers of the
#: training digits the default holds out for validation (seeds 100-105 touching,
#: 100-103 apart), never of the test digits the benchmark's numbers are made of;
#: checked on seed 5.
GUIDED = CutScores(
    weights=(
        *(-13.11, -5.75, 0.88, 1.23, -0.68, 0.70),
        *(6.23, 3.01, 4.43, 5.85, 3.97, 4.79, 5.18, 4.59, 4.27, 5.05),
        *(-3.59, -1.89, -3.81, -3.98, -1.73, -3.53, -2.96, -3.69, -1.86, -2.37),
    ),
    cut=0.39,
)


def _lattice(
    page: _Page, group: _Group, groups: list[_Group], first: int
) -> tuple[list[_Group], Lattice]:
    """The ways to cut a group into digits where few strokes cross, unless it is
    clearly one digit (``CUT_ASPECT``, ``CUT_CONTEXT``).

    Candidate cuts are ``seams.find_seams``; a candidate piece lies between two of
    them, is no wider than ``PIECE_ASPECT`` and no shorter than ``SHORTEST_DIGIT``
    times the group's height. The whole group is always the first candidate.

    Returns:
        The candidate pieces, and how they fit together.
    """
    height, width = group.mask.shape
    typical = _digit_width(group, groups)
    if width <= CUT_ASPECT * height or (
        len(groups) > 1 and typical <= 1.3 * height and width < CUT_CONTEXT * typical
    ):
        return [group], Lattice(
            first, ((0, 1),), np.zeros((1, 4)), np.zeros(2), np.zeros(1)
        )
    stroke = stroke_unit(group.mask)
    seams, crossed = find_seams(group.mask, page.ink[group.rows, group.cols], stroke)
    count = len(seams)
    columns = np.arange(width)
    spans, pieces = [(0, count - 1)], [group]
    for start in range(count - 1):
        for last in range(start + 1, count):
            if (start, last) == (0, count - 1):
                continue
            mask = (
                group.mask
                & (columns > seams[start][:, None])
                & (columns <= seams[last][:, None])
            )
            cols = np.flatnonzero(mask.any(axis=0))
            if not cols.size:
                continue
            if cols[-1] - cols[0] + 1 > PIECE_ASPECT * height:
                break
            rows = np.flatnonzero(mask.any(axis=1))
            if rows[-1] - rows[0] + 1 < SHORTEST_DIGIT * height:
                continue
            spans.append((start, last))
            pieces.append(_Group(group.rows, group.cols, mask))
    shape = _shape(pieces, height, stroke)
    lattice = Lattice(first, tuple(spans), shape, crossed, np.zeros(len(pieces)))
    return pieces, lattice


def _digit_width(group: _Group, groups: list[_Group]) -> float:
    """How wide one digit of the number is, for ``CUT_CONTEXT``: the median width of
    its groups wider than a 1 (``CUT_ASPECT``; a 1 is narrow in every hand, so it
    says nothing of the writer's digits), or of all of them if fewer than two are; of
    two groups, the other's (the median of both would let either pass)."""
    widths = [other.cols.stop - other.cols.start for other in groups]
    if len(groups) == 2:
        return sum(widths) - (group.cols.stop - group.cols.start)
    wider = [
        width
        for width, other in zip(widths, groups)
        if width > CUT_ASPECT * (other.rows.stop - other.rows.start)
    ]
    return float(np.median(wider if len(wider) >= 2 else widths))


def _best_cut(lattice: Lattice, scores: np.ndarray, cut: float) -> list[int]:
    """The run of pieces from the first seam to the last whose scores sum highest,
    less ``cut`` per stroke each cut crosses: their indices, left to right."""
    count = len(lattice.crossed)
    best = np.full(count, -np.inf)
    best[0] = 0.0
    came_from = {}
    spans = lattice.spans
    for index in sorted(range(len(spans)), key=lambda index: spans[index][1]):
        start, last = spans[index]
        total = best[start] + scores[index]
        if last < count - 1:
            total -= cut * lattice.crossed[last]
        if total > best[last]:
            best[last], came_from[last] = total, index
    chosen, last = [], count - 1
    while last:
        chosen.append(came_from[last])
        last = spans[came_from[last]][0]
    return chosen[::-1]


def _extent(pieces: list[_Group], height: float) -> tuple[np.ndarray, np.ndarray]:
    """Each piece's ink's height and width, times the digits' height."""
    extents = [
        [np.ptp(np.flatnonzero(piece.mask.any(axis=axis))) + 1 for axis in (1, 0)]
        for piece in pieces
    ]
    tall, wide = np.asarray(extents, dtype=np.float64).T / height
    return tall, wide


def _shape(pieces: list[_Group], height: float, stroke: float) -> np.ndarray:
    """Each piece's ``Lattice.shape``: a digit of a number is about as tall as the
    others, about 0.5 of its height wide (a 1 less, a 0 more), and holds a few
    strokes' worth of ink along its height."""
    tall, wide = _extent(pieces, height)
    ink = np.array([piece.mask.sum() for piece in pieces]) / (stroke * height)
    return np.column_stack([np.maximum(0.85 - tall, 0), wide, wide**2, ink])


def _digit(page: _Page, group: _Group) -> Digit:
    """Makes a group's 28x28 view as a single digit's is made, and its box.

    Its ink is measured against its own level, as ``find_ink`` measures one digit's,
    so a light digit among dark ones looks like any other.
    """
    region = np.s_[group.rows, group.cols]
    ink = page.ink[region]
    level = percentile(ink[group.mask], 90)
    mask = group.mask & (ink > STROKE_LEVEL * level)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    inner = np.s_[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    mask, ink = mask[inner], ink[inner]
    others = page.strokes[region][inner] & ~group.mask[inner]
    ink = scaled_ink(ink, mask, level, page.noise, others)
    view = centre_in_frame(thicken_thin_strokes(ink, mask))
    top, left = group.rows.start + rows[0], group.cols.start + cols[0]
    factor, (width, height) = page.factor, page.size
    return Digit(
        view,
        (
            int(left * factor),
            int(top * factor),
            int(min((left + mask.shape[1]) * factor, width)),
            int(min((top + mask.shape[0]) * factor, height)),
        ),
    )
