"""FolderProgress: a long folder's progress, on a terminal's bar or in the log."""

from __future__ import annotations

import io
import logging

import rich.console
import rich.text

from mnist_classifier.pipelines.inference.progress import FolderProgress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_a_line_every_few_seconds_says_done_rate_and_time_left(caplog):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    clock = Clock()
    with FolderProgress(10_000, "photos", every=10, clock=clock) as progress:
        for second in range(1, 8):
            clock.now = 5.0 * second
            progress.update(1_000 * second)
    lines = [record.getMessage() for record in caplog.records]
    # At 10, 20 and 30 s: one line per 10 s, not one per batch.
    assert lines == [
        "Classified 2,000 of 10,000 files in 'photos' (20%): 200 files/s, about 40 s left.",
        "Classified 4,000 of 10,000 files in 'photos' (40%): 200 files/s, about 30 s left.",
        "Classified 6,000 of 10,000 files in 'photos' (60%): 200 files/s, about 20 s left.",
    ]


def test_the_rate_is_counted_from_the_first_batch_not_through_the_start_up(caplog):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    clock = Clock()
    with FolderProgress(10_000, "photos", every=10, clock=clock) as progress:
        clock.now = 20.0  # 20 s of start-up (workers, the model) before the first batch
        progress.update(1_000)
        clock.now = 30.0
        progress.update(3_000)
    lines = [record.getMessage() for record in caplog.records]
    # 2,000 more files in the 10 s since the first batch, not 3,000 in 30 s.
    assert lines == [
        "Classified 3,000 of 10,000 files in 'photos' (30%): 200 files/s, about 35 s left."
    ]


def test_a_folder_read_within_the_first_interval_logs_no_progress(caplog):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    clock = Clock()
    with FolderProgress(15, "samples", clock=clock) as progress:
        clock.now = 0.1
        progress.update(15)
    assert caplog.records == []


def test_a_slow_folder_s_rate_is_not_rounded_to_zero(caplog):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    clock = Clock()
    with FolderProgress(100, "numbers", every=10, clock=clock) as progress:
        for second in (10.0, 20.0):
            clock.now = second
            progress.update(int(second * 0.4))
    (line,) = [record.getMessage() for record in caplog.records]
    assert line.endswith("(8%): 0.4 files/s, about 230 s left.")


def test_on_a_terminal_the_bar_shows_the_same_rate_and_time_left(monkeypatch):
    screen = io.StringIO()
    terminal = rich.console.Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(rich, "get_console", lambda: terminal)
    clock = Clock()
    with FolderProgress(10_000, "photos", clock=clock) as progress:
        clock.now = 20.0
        progress.update(1_000)
        progress.bar.refresh()
        before = screen.getvalue()
        clock.now = 30.0
        progress.update(3_000)
        progress.bar.refresh()
    assert rich.text.Text.from_ansi(before).plain.endswith(
        "1000/10000 files, - files/s"
    )
    shown = rich.text.Text.from_ansi(screen.getvalue()[len(before) :]).plain
    assert "3000/10000 files, 200 files/s, about 35 s left" in shown
