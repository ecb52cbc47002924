"""ImageFileDataset: a file's bytes; anything but a regular file is refused unopened."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from kedro_datasets.partitions import PartitionedDataset

from mnist_classifier.datasets import (
    FileTooLargeError,
    ImageFileDataset,
    NotRegularFileError,
)
from mnist_classifier.pipelines.inference.reading import prepare
from tests.helpers import within


def test_a_file_loads_as_its_bytes_and_saves_back(tmp_path: Path):
    dataset = ImageFileDataset(filepath=str(tmp_path / "digit.png"))
    assert not dataset.exists()
    dataset.save(b"\x89PNG digit")
    assert dataset.exists() and dataset.load() == b"\x89PNG digit"


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_what_is_not_a_regular_file_is_refused_before_it_is_opened(tmp_path, kind):
    path = tmp_path / "pipe.png"
    if kind == "fifo":
        os.mkfifo(path)  # opening it would block until something writes to it
    elif kind == "device":
        path.symlink_to("/dev/zero")  # reading it would never end
    else:
        path.mkdir()
    error = within(ImageFileDataset(filepath=str(path)).load)
    assert isinstance(error, NotRegularFileError)
    assert str(error) == f"{path} is not a regular file"


def test_a_broken_symlink_fails_as_a_missing_file(tmp_path: Path):
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    error = within(ImageFileDataset(filepath=str(tmp_path / "gone.png")).load)
    assert isinstance(error, FileNotFoundError)


def test_a_folder_lists_a_fifo_and_its_neighbours_still_load(tmp_path: Path):
    (tmp_path / "good.png").write_bytes(b"good")
    os.mkfifo(tmp_path / "pipe.png")
    partitions = PartitionedDataset(path=str(tmp_path), dataset=ImageFileDataset).load()
    assert sorted(partitions) == ["good.png", "pipe.png"]
    assert partitions["good.png"]() == b"good"
    assert isinstance(within(partitions["pipe.png"]), NotRegularFileError)


def test_a_file_over_max_bytes_is_refused_before_it_is_read(tmp_path: Path):
    video = tmp_path / "clip.mp4"
    with video.open("wb") as file:  # 2 GB that take no disk (sparse) and no memory
        file.truncate(2 * 10**9)
    with pytest.raises(FileTooLargeError, match=r"2,000,000,000 bytes, over max_bytes"):
        ImageFileDataset(filepath=str(video), max_bytes=400_000_000).load()
    (tmp_path / "a.png").write_bytes(b"x" * 100)
    assert ImageFileDataset(filepath=str(tmp_path / "a.png"), max_bytes=100).load()
    assert (
        prepare(
            ImageFileDataset(filepath=str(video), max_bytes=10).load,
            False,
            max_pixels=1000,
        ).status
        == "too large"
    )
