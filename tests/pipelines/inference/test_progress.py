"""FolderProgress: a long folder's progress, in the log when not on a terminal."""

from __future__ import annotations

import logging

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
        clock.now = 10.0
        progress.update(4)
    (line,) = [record.getMessage() for record in caplog.records]
    assert line.endswith("(4%): 0.4 files/s, about 240 s left.")
