"""FileStampDataset: a file's stamp changes with the file, and only then."""

from __future__ import annotations

import os

from mnist_classifier.datasets import FileStampDataset
from tests.helpers import within


def stamp(path) -> str | None:
    return FileStampDataset(filepath=str(path)).load()


def test_the_stamp_changes_when_the_file_does(tmp_path):
    path = tmp_path / "digit.png"
    path.write_bytes(b"one")
    first = stamp(path)
    assert first and stamp(path) == first
    path.write_bytes(b"two")
    os.utime(path, ns=(0, 10**18))  # as if written at another time
    assert stamp(path) not in {first, None}


def test_a_broken_symlink_or_a_fifo_is_stamped_without_opening_it(tmp_path):
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    os.mkfifo(tmp_path / "pipe.png")
    assert stamp(tmp_path / "gone.png") is None
    # A stat, not an open: nothing blocks (an open would, and fail the test).
    pipe = within(lambda: stamp(tmp_path / "pipe.png"), seconds=10)
    assert isinstance(pipe, str) and pipe
