"""Seams: where a group of ink may be cut into touching digits."""

from __future__ import annotations

import numpy as np

from mnist_classifier.pipelines.inference.seams import (
    MOST_CROSSED,
    find_seams,
    stroke_unit,
)

# Two upright strokes, 3 px wide and 24 px tall, 4 px of paper between them.
HEIGHT, WIDTH, GAP = 24, 10, slice(3, 7)


def _two_strokes(bridge: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The strokes' mask and darkness; ``bridge``: a 2-row stroke across the gap at
    mid-height, that dark (the strokes are 1)."""
    darkness = np.zeros((HEIGHT, WIDTH), np.float32)
    darkness[:, :3] = darkness[:, 7:] = 1.0
    if bridge is not None:
        darkness[11:13, GAP] = bridge
    return darkness > 0, darkness


def _inner_seams(mask: np.ndarray, darkness: np.ndarray) -> list[tuple]:
    seams, crossed = find_seams(mask, darkness, stroke_unit(mask))
    # The first seam is left of everything, the last right of it.
    assert (seams[0] == -1).all() and (seams[-1] == mask.shape[1] - 1).all()
    return list(zip(seams[1:-1], crossed[1:-1]))


def test_the_cheapest_seam_runs_down_the_paper_between_two_strokes():
    seam, crossed = min(_inner_seams(*_two_strokes()), key=lambda inner: inner[1])

    assert crossed == 0
    assert ((seam >= GAP.start - 1) & (seam < GAP.stop)).all()


def test_a_seam_cuts_where_touching_strokes_meet_lightly_not_through_dark_ink():
    light = _inner_seams(*_two_strokes(bridge=0.3))
    dark = _inner_seams(*_two_strokes(bridge=1.0))

    # Both cut through the bridge (no way round it), the light one almost for free.
    assert light and dark
    assert min(crossed for _, crossed in light) < 0.01
    assert 0.3 < min(crossed for _, crossed in dark) < MOST_CROSSED


def test_no_seam_crosses_three_strokes_to_cut_a_digit_in_two():
    # An 8's strokes, squared: three bars across, 3 px thick, joined at both sides.
    mask = np.zeros((24, 12), bool)
    mask[0:3] = mask[10:13] = mask[21:24] = True
    mask[:, 0:3] = mask[:, 9:12] = True

    inner = _inner_seams(mask, mask.astype(np.float32))

    # Seams may slice a corner off; none runs down between the sides through all
    # three bars (about 2.8 strokes: more than a cut between digits crosses).
    assert all(crossed <= MOST_CROSSED for _, crossed in inner)
    assert not [seam for seam, _ in inner if ((seam >= 3) & (seam <= 8)).all()]
