"""How far a run through a long folder is: files done, files/s and the time left."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType

import rich
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
)

logger = logging.getLogger(__name__)

#: What the bar shows until a second batch gives a rate.
NO_RATE = "- files/s"


class FolderProgress:
    """Reports the files done as a run goes: in place on a terminal, else in the log.

    On a terminal, a bar on the console Kedro's rich logging writes to, updated in
    place and gone when the run ends (the summary line stays). Elsewhere (CI, a log
    file), one line every ``every`` seconds, so a long run's log stays short.

    Files/s and the time left are counted from the first batch done, so the start-up
    before it (worker processes, the model loading) does not drag the rate down for
    the rest of the run; both read the same rate, on the bar and in the log.
    """

    def __init__(
        self,
        total: int,
        folder: str,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.folder, self.every, self.clock = total, folder, every, clock
        self.last = clock()
        # When the first batch came, and how many files it held.
        self.first: tuple[float, int] | None = None
        console = rich.get_console()
        self.bar = (
            Progress(
                TextColumn("Classifying"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("files, {task.fields[pace]}"),
                console=console,
                transient=True,
            )
            if console.is_terminal
            else None
        )
        self.task = (
            self.bar.add_task("", total=total, pace=NO_RATE) if self.bar else None
        )

    def __enter__(self) -> FolderProgress:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.bar:
            self.bar.stop()

    def update(self, done: int) -> None:
        """Says that ``done`` files of ``total`` are classified."""
        now = self.clock()
        if self.first is None:
            self.first = now, done
        since, done_then = self.first
        rate = (done - done_then) / (now - since) if now > since else None
        if rate:
            left = round((self.total - done) / rate)
            pace = f"{per_second(rate)} files/s, about {left} s left"
        else:
            pace = NO_RATE
        if self.bar:
            self.bar.update(self.task, completed=done, pace=pace)
        elif rate and now - self.last >= self.every and done < self.total:
            self.last = now
            logger.info(
                "Classified %s of %s files in '%s' (%d%%): %s.",
                f"{done:,}",
                f"{self.total:,}",
                self.folder,
                100 * done // self.total,
                pace,
            )


def per_second(rate: float) -> str:
    """A rate as people read it: 1,250, or 0.4 for a slow folder (not 0)."""
    return f"{rate:,.0f}" if rate >= 10 else f"{rate:.1f}"
