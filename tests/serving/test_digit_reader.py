"""The served model reads files with the pipeline's preprocessing, limits included."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from PIL import Image

from mnist_classifier.params import InferenceParams
from mnist_classifier.serving.digit_reader import REQUIREMENTS, read_digits
from tests.helpers import load_sample

from ..pipelines.inference.helpers import on_paper, png_bytes


def off_the_main_thread(call):
    """``call()`` on a thread of its own, as the server reads requests on a thread
    pool, where no timer signal can be had; its error, if it fails, is raised here."""
    with ThreadPoolExecutor(1) as reader:
        return reader.submit(call).result(timeout=60)


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


#: Imported if installed, and done without otherwise (opentelemetry-sdk, fastapi).
OPTIONAL = {"psutil", "orjson"}


def installed_with(packages: tuple[str, ...]) -> set[str]:
    """The distributions pip installs for ``packages``: they and what they require,
    recursively, without optional extras (as the model's requirements.txt would)."""
    wanted, found = [canonicalize_name(name) for name in packages], set()
    while wanted:
        name = wanted.pop()
        if name in found:
            continue
        found.add(name)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(canonicalize_name(requirement.name))
    return found


def test_the_logged_models_requirements_install_all_that_its_code_imports():
    """A model served in an environment built from its requirements.txt (``mlflow
    models serve``, ``build-docker``) must find every package its code imports."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mnist_classifier.serving.model_code;print(*sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    owners = importlib.metadata.packages_distributions()
    imported = {
        canonicalize_name(owner)
        for module in loaded
        for owner in owners.get(module.partition(".")[0], [])
    } - {"mnist-classifier", *OPTIONAL}
    assert imported - installed_with(REQUIREMENTS) == set()
