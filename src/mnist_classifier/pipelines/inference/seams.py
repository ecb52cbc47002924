"""Where a group of ink may be cut into touching digits: seams from top to bottom that
cross few strokes, found by dynamic programming. ``numbers`` builds its candidate digits
between them and lets the model's reading choose among the cuts."""

from __future__ import annotations

import numpy as np

from .preprocessing import percentile, stroke_width

#: What a seam's step sideways costs, as a share of crossing one stroke pixel.
SEAM_STEP = 0.02
#: Seams cost a stroke pixel's darkness (0-1) to this power: they cut where it is light.
SEAM_GAMMA = 6.0
#: Rows (as shares of the height) through each pixel of which seams are candidates.
SEAM_ANCHORS = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875)
#: Most strokes a cut between touching digits crosses.
MOST_CROSSED = 2.5
#: Least stroke ink between two candidate cuts, in strokes times the group's height.
SEAM_SPACING = 0.1


def find_seams(
    mask: np.ndarray, darkness: np.ndarray, stroke: float
) -> tuple[list[np.ndarray], np.ndarray]:
    """The candidate cuts through a group of ink: seams that cross few stroke pixels.

    A seam runs from the top row to the bottom one, a pixel sideways at most from row
    to row, and along a row through paper as far as it likes: so it can pass under the
    flag of a 5 that reaches over the next digit. Its cost is the stroke pixels it
    crosses, each by its darkness to the power ``SEAM_GAMMA`` (where two touching
    strokes meet, the ink is lighter than in either's core), plus a little for each
    step sideways. The cheapest seams through each pixel of a few rows
    (``SEAM_ANCHORS``) are candidates, each a little apart from the others.

    Args:
        mask: The group's stroke pixels (bool).
        darkness: Its ink's grey levels away from the paper, over the same pixels.
        stroke: Its strokes' width (``stroke_unit``), what crossings are counted in.

    Returns:
        Each seam's column in each row (a stroke pixel at or left of it belongs to the
        piece on its left; the first seam is left of everything, the last right of
        it), left to right, and about how many strokes each crosses (the stroke it
        crosses, weighted by darkness, over the stroke width).
    """
    height, width = mask.shape
    level = percentile(darkness[mask], 90)
    weight = np.where(mask, np.clip(darkness / level, 0, 1) ** SEAM_GAMMA, 0)
    weight = np.pad(weight, ((0, 0), (1, 1)))
    ink = np.pad(mask, ((0, 0), (1, 1)))
    down = _seam_costs(weight, ink)
    up = _seam_costs(weight[::-1], ink[::-1])
    paths, costs, crossed = [], [], []
    for anchor in sorted({round(height * share) for share in SEAM_ANCHORS}):
        if anchor >= height - 1:
            continue
        above, ink_above = _trace(weight, down, anchor)
        below, ink_below = _trace(weight[::-1], up, height - 2 - anchor)
        paths.append(np.concatenate([above, below[::-1]]))
        costs.append(down[0][anchor] + up[0][height - 2 - anchor])
        crossed.append((ink_above + ink_below) / stroke)
    if not paths:  # a group a pixel high (a dash): no seam to cut along
        return [np.full(height, -1), np.full(height, width - 1)], np.zeros(2)
    paths, costs, crossed = (
        np.concatenate(x, axis=-1) for x in (paths, costs, crossed)
    )
    # The cheapest seams, each leaving some ink more or less on its left than others.
    on_left = np.cumsum(ink, axis=1)[np.arange(height)[:, None], paths].sum(axis=0)
    spacing = SEAM_SPACING * stroke * height
    chosen = [0, width + 1]  # the seams left and right of everything (anchor 1)
    for index in np.argsort(costs, kind="stable"):
        if crossed[index] > MOST_CROSSED:
            continue
        if np.all(np.abs(on_left[chosen] - on_left[index]) >= spacing):
            chosen.append(int(index))
    chosen.sort(key=lambda index: on_left[index])
    seams = [paths[:, index] - 1 for index in chosen]  # the group's columns
    seams[0] = np.full(height, -1)
    seams[-1] = np.full(height, width - 1)
    return seams, crossed[chosen]


def _seam_costs(
    weight: np.ndarray, ink: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cheapest seams from the top row down to each pixel, by dynamic programming.

    Returns:
        Each pixel's cost (the cheapest seam leaving its row there), the column each
        seam came from in the row above, and where it came into its row.
    """
    height, width = ink.shape
    columns = np.arange(width)
    totals = np.zeros((height, width))
    came = np.zeros((height, width), np.int64)
    entries = np.zeros((height, width), np.int64)
    totals[0], entries[0] = _slide(weight[0].astype(np.float64), ink[0])
    for row in range(1, height):
        total = totals[row - 1]
        options = np.stack(
            [
                np.concatenate([[np.inf], total[:-1]]) + SEAM_STEP,
                total,
                np.concatenate([total[1:], [np.inf]]) + SEAM_STEP,
            ]
        )
        choice = np.argmin(options, axis=0)
        came[row] = columns + choice - 1
        totals[row], entries[row] = _slide(
            options[choice, columns] + weight[row], ink[row]
        )
    return totals, came, entries


def _trace(
    weight: np.ndarray, costs: tuple[np.ndarray, np.ndarray, np.ndarray], last: int
) -> tuple[np.ndarray, np.ndarray]:
    """Follows the cheapest seams back from each pixel of row ``last`` to the top.

    Returns:
        Each seam's column in rows 0 to ``last``, and the stroke it crosses: its
        stroke pixels, each weighted by its darkness as in the seam's cost.
    """
    _, came, entries = costs
    paths = np.empty((last + 1, weight.shape[1]), np.int64)
    crossed = np.zeros(weight.shape[1])
    position = np.arange(weight.shape[1])
    for row in range(last, -1, -1):
        paths[row] = position
        entry = entries[row, position]
        crossed += weight[row, entry]
        position = came[row, entry]
    return paths, crossed


def _slide(cost: np.ndarray, ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lets seams move along a row through paper, ``SEAM_STEP`` a pixel.

    Args:
        cost: Each pixel's cost of a seam entering the row there.
        ink: Which of the row's pixels are stroke (a seam cannot slide through them).

    Returns:
        Each pixel's cost of a seam leaving the row there, and where it entered.
    """
    best, entered = _slide_right(cost, ink)
    back, back_entered = _slide_right(cost[::-1], ink[::-1])
    back, back_entered = back[::-1], len(cost) - 1 - back_entered[::-1]
    better = back < best
    return np.where(better, back, best), np.where(better, back_entered, entered)


def _slide_right(cost: np.ndarray, ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_slide`` rightwards only: a running minimum within each run of paper."""
    columns = np.arange(len(cost))
    starts = ink.copy()
    starts[1:] |= ink[:-1]
    starts[0] = True
    run = np.cumsum(starts) * 1e7  # runs apart: no minimum carries over into the next
    key = cost - SEAM_STEP * columns - run
    lowest = np.minimum.accumulate(key)
    entered = np.maximum.accumulate(np.where(key <= lowest, columns, 0))
    return lowest + SEAM_STEP * columns + run, entered


def stroke_unit(mask: np.ndarray) -> float:
    """The strokes' width, at least a pixel: what seams' crossings and a piece's ink
    are counted in."""
    return max(stroke_width(mask), 1.0)
