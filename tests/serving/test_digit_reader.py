"""The served model reads files with the pipeline's preprocessing, limits included."""

from __future__ import annotations

import threading

import numpy as np
from PIL import Image

from mnist_classifier.params import InferenceParams
from mnist_classifier.serving.digit_reader import read_digits
from tests.helpers import load_sample

from ..pipelines.inference.helpers import on_paper, png_bytes


def off_the_main_thread(call):
    """``call()`` on a thread of its own, as the server reads requests on a thread
    pool, where no timer signal can be had."""
    answers: list = []
    reader = threading.Thread(target=lambda: answers.append(call()))
    reader.start()
    reader.join(60)
    return answers[0]


def test_a_file_slower_than_the_time_limit_is_timed_out_when_served(stub_classifier):
    digit = png_bytes(Image.fromarray(on_paper(load_sample("t10k", "images")[0])))
    noise = np.random.default_rng(0).integers(0, 256, (4000, 6000), dtype=np.uint8)
    slow = png_bytes(Image.fromarray(noise))  # many times 0.01 s to decode and prepare

    def statuses(time_limit: float) -> list[str]:
        inference = InferenceParams(input_dir="upload", time_limit=time_limit)
        rows = read_digits([slow, digit], stub_classifier, inference)
        return list(rows["status"])

    assert off_the_main_thread(lambda: statuses(0.01))[0] == "timed out"
    assert off_the_main_thread(lambda: statuses(30)) == ["empty image", "ok"]
