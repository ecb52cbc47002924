"""The contact sheet's drawing: each file's image, its digits boxed, beside the
28x28 views the model saw, with what it read and how sure it was."""

from __future__ import annotations

import textwrap

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .reading import PreparedImage


def contact_sheet(
    shown: pd.DataFrame,
    previews: dict[str, PreparedImage],
    title: str,
    low_confidence: float,
) -> Figure:
    """A grid of ``shown``'s rows, four a line, each drawn from its file's preview;
    red where the model is below ``low_confidence`` or the file was not classified."""
    columns = min(4, max(1, len(shown)))
    rows = max(1, -(-len(shown) // columns))
    height = 1.5 * rows + 0.7
    figure = Figure(figsize=(2.6 * columns, height))
    figure.suptitle(title, fontsize=9)
    # A fixed layout: the layout engines take seconds to place this many axes.
    grid = figure.subplots(
        rows,
        columns,
        squeeze=False,
        gridspec_kw={
            "left": 0.01,
            "right": 0.99,
            "bottom": 0.01,
            "top": 1 - 0.75 / height,
        },
    )
    for axes in grid.flat:
        axes.set_axis_off()
    for (_, row), axes in zip(shown.iterrows(), grid.flat):
        _draw_cell(axes, row, previews[row["image"]], low_confidence)
    return figure


def _draw_cell(
    axes: Axes, row: pd.Series, preview: PreparedImage, low_confidence: float
) -> None:
    """One file: its image in the left unit square (a number's digits boxed), the 28x28
    views the model saw in the right one."""
    if preview.thumbnail is not None:
        height, width = preview.thumbnail.shape[:2]
        w, h = width / max(height, width), height / max(height, width)
        left, bottom = (1 - w) / 2, (1 - h) / 2
        axes.imshow(preview.thumbnail, extent=(left, left + w, bottom, bottom + h))
        for x0, y0, x1, y1 in preview.boxes:  # fractions of the image, from its top
            axes.add_patch(
                Rectangle(
                    (left + x0 * w, bottom + (1 - y1) * h),
                    (x1 - x0) * w,
                    (y1 - y0) * h,
                    fill=False,
                    edgecolor="tab:orange",
                    linewidth=1,
                )
            )
    if preview.view is not None:
        share = preview.view.shape[0] / preview.view.shape[1]  # 1 for a digit
        axes.imshow(
            preview.view,
            cmap="gray",
            vmin=0,
            vmax=255,
            extent=(1.1, 2.1, (1 - share) / 2, (1 + share) / 2),
        )
    axes.set(xlim=(-0.02, 2.12), ylim=(-0.02, 1.02))  # room for the frame's line
    ok = row["status"] == "ok"
    unsure = not ok or row["confidence"] < low_confidence
    colour = "tab:red" if unsure else "black"
    label = (
        f"{row['digits']} ({row['confidence']:.0%})"
        if ok
        else textwrap.fill(row["status"], 16)
    )
    axes.set_title(_shorten(row["image"]), fontsize=7, loc="left")
    axes.set_title(
        label,
        fontsize=8,
        loc="right",
        color=colour,
        fontweight="bold" if unsure else None,
    )
    if unsure:
        axes.add_patch(
            Rectangle((1.1, 0), 1, 1, fill=False, edgecolor=colour, linewidth=2)
        )


def _shorten(name: str, width: int = 20) -> str:
    return name if len(name) <= width else "..." + name[-(width - 3) :]
