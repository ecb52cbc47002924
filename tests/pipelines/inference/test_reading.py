"""Unit tests of reading one file: its digits' views, or a status that says why not."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from mnist_classifier.datasets import ImageFileDataset
from mnist_classifier.pipelines.inference.preprocessing import to_mnist
from mnist_classifier.pipelines.inference.reading import prepare
from tests.helpers import within

from .helpers import correlation, decoded, png_bytes


def test_only_the_first_frame_of_an_animation_is_read(odd_modes, paper_digit):
    animated = odd_modes["animated.gif"]
    assert decoded(animated).n_frames == 2  # the digit, then blank paper
    prepared = prepare(lambda: animated, False, max_pixels=10**6)
    assert prepared.status == "ok"  # the blank frame would be an "empty image"
    assert correlation(prepared.view, to_mnist(paper_digit)) > 0.95


@pytest.mark.parametrize(
    "name",
    [
        "empty.png",
        "notes.png",
        "readme.txt",
        "truncated.png",
        "truncated.jpg",
        "blank.png",
        "one_pixel.png",
        "huge.png",
    ],
)
def test_a_bad_file_gets_a_status(name, bad_files, tmp_path):
    content, status = bad_files[name]
    (tmp_path / name).write_bytes(content)
    loader = ImageFileDataset(filepath=str(tmp_path / name)).load
    prepared = prepare(loader, True, max_pixels=50_000_000)
    assert prepared.status == status
    assert prepared.view is None


def test_a_huge_image_is_refused_before_it_is_decoded(bad_files, tmp_path):
    (tmp_path / "huge.png").write_bytes(bad_files["huge.png"][0])  # 144 MP, 200 bytes
    start = time.perf_counter()
    prepared = prepare(
        ImageFileDataset(filepath=str(tmp_path / "huge.png")).load,
        False,
        max_pixels=50_000_000,
    )
    assert prepared.status == "too large"
    assert time.perf_counter() - start < 0.5  # decoding 144 MP would take seconds


def test_the_pixel_limit_is_ours_and_pillows_is_restored(paper_digit):
    digit = png_bytes(paper_digit.resize((100, 100)))
    larger = png_bytes(paper_digit.resize((101, 100)))
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may leak out either
        assert prepare(lambda: digit, False, max_pixels=10_000).status == "ok"
        assert prepare(lambda: larger, False, max_pixels=10_000).status == "too large"
    assert Image.MAX_IMAGE_PIXELS == before


def test_a_thumbnail_is_kept_only_when_asked(paper_digit):
    with_thumbnail = prepare(lambda: png_bytes(paper_digit), True, max_pixels=10**6)
    without = prepare(lambda: png_bytes(paper_digit), False, max_pixels=10**6)
    assert with_thumbnail.thumbnail.shape == (66, 96, 4)  # RGBA, 96 px at most
    assert without.thumbnail is None
    assert np.array_equal(with_thumbnail.view, without.view)


def test_a_file_slower_than_the_time_limit_is_timed_out(paper_digit):
    data = png_bytes(paper_digit)

    def slow() -> bytes:  # a decoder stuck on a file, as a network mount can be
        time.sleep(30)
        return data

    start = time.perf_counter()
    prepared = prepare(slow, False, max_pixels=10**6, seconds=0.2)
    assert prepared.status == "timed out" and prepared.views == ()
    assert time.perf_counter() - start < 5
    assert prepare(lambda: data, False, max_pixels=10**6, seconds=0.2).status == "ok"


def test_off_the_main_thread_a_slow_file_is_timed_out_too(paper_digit):
    data = png_bytes(paper_digit)  # as on a Dask worker, which runs tasks in threads

    def slow() -> bytes:  # blocked in the operating system: abandoned, not stopped
        time.sleep(30)
        return data

    def busy() -> bytes:  # slow in Python, as decoding is: stopped
        while True:
            sum(range(1000))

    start = time.perf_counter()
    statuses = within(
        lambda: [
            prepare(load, False, max_pixels=10**6, seconds=0.2).status
            for load in (slow, busy, lambda: data)
        ]
    )
    assert statuses == ["timed out", "timed out", "ok"]
    assert time.perf_counter() - start < 5
    time.sleep(0.5)
    readers = [t for t in threading.enumerate() if t.name == "read-one-file"]
    assert len(readers) == 1  # the sleeping one; the busy one has stopped


def test_one_digit_is_read_the_same_whatever_the_layout_says(paper_digit):
    data = png_bytes(paper_digit)
    digit, auto = (
        prepare(lambda: data, False, max_pixels=10**6, layout=layout)
        for layout in ("digit", "auto")
    )
    assert len(auto.views) == 1 and np.array_equal(auto.view, digit.view)
