"""Measures the inference pipeline: throughput, and accuracy on realistic images.

1. Writes the 10,000 MNIST test digits as realistic user images (mixed-size PNG and
   JPEG photos and scans, 48-400 px, dark ink on paper; see
   ``mnist_classifier.realistic``) into a temporary folder.
2. Times ``kedro run --pipelines inference --params input_dir=<folder>`` on it, and on
   the 15 shipped samples: the difference is the time the 10,000 images take with
   start-up (Python, Kedro, TensorFlow, loading the model) excluded. Everything else
   counts: listing, decoding, preprocessing, predicting, the CSV, the contact sheet.
   The CPU time it takes is reported too: on a busy machine, images per CPU-second
   say what the code costs when wall time says more about the neighbours.
3. Measures accuracy with the latest trained model (or ``--model-version``; every run
   uses that one): on the raw MNIST test set, on the realistic folder through the
   pipeline (its predictions.csv), on the same folder with a naive resize-and-invert,
   and on digits by other writers than MNIST's: scikit-learn's 1,797 8x8 digits (43
   writers, the UCI ML hand-written digits dataset), rendered the same way.
4. Camera photos: ``--camera-photos`` MNIST test digits as 12-megapixel phone JPEGs
   (``realistic.write_camera_folder``: ruled paper, shadows, blue or black ink, a third
   stored sideways), linked ``--camera-copies`` times over into one folder (the same
   files again: the decoding work is the same), through the pipeline: files/s with
   start-up excluded, accuracy, and the peak resident memory of the run's processes.
5. Whole numbers: 2 to 6 MNIST test digits side by side, apart and touching
   (``realistic.write_number_folder``, ``--numbers-seed``), read with
   ``inference.layout=number``: the share of images whose number is read exactly, the
   files/s, and how ``auto`` decides on them.

The model, the test set, the shipped samples and each run's predictions are read
through the project's Kedro catalog (``--env`` as for ``kedro run``): a run's
predictions are the version of ``predictions`` it added. Prints the figures and writes
them to a new version of data/08_reporting/inference_benchmark.json/. The runs'
outputs are new versions of the catalog's ``predictions`` and ``predictions_sheet``.

    python scripts/bench_inference.py [--images 10000] [--camera-photos 200]
        [--camera-copies 1] [--numbers 300] [--numbers-seed 5]
        [--model-version <timestamp>]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from kedro.io import CatalogProtocol
from kedro.io.core import Version, generate_timestamp
from kedro_datasets.json import JSONDataset
from PIL import Image
from sklearn.datasets import load_digits

from mnist_classifier.catalog import open_catalog
from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.realistic import (
    write_camera_folder,
    write_number_folder,
    write_realistic_folder,
)

KEDRO = str(Path(sys.executable).parent / "kedro")
ROOT = Path(__file__).resolve().parents[1]
RESULT = Path("data/08_reporting/inference_benchmark.json")  # in the project


class Run(NamedTuple):
    """One ``kedro run`` of the inference pipeline, measured."""

    seconds: float  # wall time
    cpu: float  # CPU time of all its processes
    predictions: pd.DataFrame  # the predictions.csv it wrote
    peak_rss_mb: int  # the largest resident memory of its processes, summed


def time_inference_run(
    args: argparse.Namespace,
    catalog: CatalogProtocol,
    folder: Path | None,
    model_version: str,
    params: str = "",
) -> Run:
    """Times ``kedro run --pipelines inference`` on ``folder``, in a process of its own
    as a user would run it, with that model, reading every file (``inference.redo``:
    what earlier runs read is not reused).

    Args:
        args: The command line: project, environment and more parameters.
        catalog: The project's catalog, to read the predictions the run wrote.
        folder: The images; None for the catalog's default, the shipped samples.
        model_version: The classifier to use.
        params: More runtime parameters for this run.

    Returns:
        Its times, the predictions it wrote and its processes' peak memory.
    """
    params = ",".join(
        filter(
            None,
            [
                folder and f"input_dir={folder}",
                "inference.redo=true",
                args.params,
                params,
            ],
        )
    )
    command = [KEDRO, "run", "--pipelines", "inference"]
    command += ["--load-versions", f"classifier:{model_version}"]
    command += ["--params", params] if params else []
    command += ["--env", args.env] if args.env else []
    predictions = catalog.get("predictions")
    before = set(predictions.list_versions(full_path=False))
    start, cpu = time.perf_counter(), cpu_seconds()
    with tempfile.TemporaryFile("w+") as output:
        run = subprocess.Popen(
            command, cwd=args.project_path, stdout=output, stderr=subprocess.STDOUT
        )
        peak = 0
        while run.poll() is None:
            peak = max(peak, tree_rss(run.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        reap_orphans()  # the fork server the workers came from, and so their CPU
        cpu = cpu_seconds() - cpu
        if run.returncode:
            output.seek(0)
            sys.exit(f"{' '.join(command)} failed:\n{output.read()[-6000:]}")
    new = set(predictions.list_versions(full_path=False)) - before
    if len(new) != 1:
        sys.exit(f"Expected the run to add one version of predictions, found {new}.")
    predictions = catalog.load("predictions", version=new.pop())
    return Run(seconds, cpu, predictions, round(peak / 2**20))


def tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (from /proc)."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid], rss[pid] = (
            int(fields[1]),
            int(fields[21]) * os.sysconf("SC_PAGE_SIZE"),
        )
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += [child for child, parent in parents.items() if parent == pid]
    return total


def cpu_seconds() -> float:
    """CPU time used so far by this script's finished child processes and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def adopt_orphans() -> None:
    """Makes this script the parent of its runs' orphans (Linux's child subreaper).

    A run's worker processes are children of a fork server that outlives the run, so
    their CPU time reaches only the process that waits for that server: without
    this, init, and ``cpu_seconds`` would leave the workers out.
    """
    pr_set_child_subreaper = 36
    if ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0):
        sys.exit(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def reap_orphans(seconds: float = 30) -> None:
    """Waits for the run's orphans (a fork server stops once its run has ended)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # none left
        if pid == 0:
            time.sleep(0.05)
    sys.exit(f"A run's processes were still running {seconds:.0f} s after it ended.")


def accuracy(predictions: pd.DataFrame, truth: dict[str, int]) -> float:
    """Share of the files whose prediction is their label (an unusable file is wrong)."""
    predicted = dict(zip(predictions["image"], predictions["prediction"]))
    return float(
        np.mean([predicted.get(name) == label for name, label in truth.items()])
    )


def naive_accuracy(
    classifier: TrainedClassifier, folder: Path, truth: dict[str, int]
) -> float:
    """Accuracy when each image is just resized to 28x28 and inverted: no MNIST framing."""
    height, width = classifier.card.image_shape
    views = [
        255 - np.asarray(Image.open(folder / name).convert("L").resize((width, height)))
        for name in truth
    ]
    predicted = classifier.predict(np.stack(views))
    return float(np.mean(predicted.argmax(axis=1) == list(truth.values())))


def camera_photos(
    args: argparse.Namespace,
    catalog: CatalogProtocol,
    version: str,
    tmp: Path,
    startup: float,
) -> dict:
    """Phone photos through the pipeline: files/s, accuracy, peak memory.

    Args:
        startup: The seconds of a run on the shipped samples (start-up, mostly),
            taken off this run's to count its files' time only.
    """
    count = args.camera_photos
    digits = catalog.load("raw_test_images")[:count]
    labels = catalog.load("raw_test_labels")[:count]
    print(f"Writing {count} 12-megapixel phone photos...")
    photos = tmp / "camera_photos"
    truth = write_camera_folder(digits, labels, photos, seed=3)
    megabytes = np.mean([(photos / name).stat().st_size for name in truth]) / 2**20
    folder = photos
    if args.camera_copies > 1:  # the same photos again under other names (hard links)
        folder = tmp / "camera_copies"
        for copy in range(args.camera_copies):
            (folder / f"{copy:03d}").mkdir(parents=True)
            for name in truth:
                os.link(photos / name, folder / f"{copy:03d}" / name)
    run = time_inference_run(args, catalog, folder, version)
    files = len(run.predictions)
    right = [
        prediction == truth[image.split("/")[-1]]
        for image, prediction in zip(
            run.predictions["image"], run.predictions["prediction"]
        )
    ]
    return {
        "photos": count,
        "files": files,
        "mean_megabytes": round(float(megabytes), 2),
        "seconds": round(run.seconds, 2),
        "files_per_second": round(files / (run.seconds - startup)),
        "accuracy": float(np.mean(right)),
        "peak_rss_mb": run.peak_rss_mb,
        "statuses": run.predictions["status"].value_counts().to_dict(),
    }


def whole_numbers(
    args: argparse.Namespace,
    catalog: CatalogProtocol,
    version: str,
    tmp: Path,
    startup: float,
) -> dict:
    """Numbers of 2-6 digits, apart and touching: exact reads and files/s (start-up
    excluded) with ``layout=number``, and auto's choice."""
    digits = catalog.load("raw_test_images")
    labels = catalog.load("raw_test_labels")
    result = {}
    for touching in (False, True):
        kind = "touching" if touching else "apart"
        folder = tmp / f"numbers_{kind}"
        truth = write_number_folder(
            digits,
            labels,
            folder,
            seed=args.numbers_seed,
            touching=touching,
            count=args.numbers,
        )
        runs = {
            layout: time_inference_run(
                args, catalog, folder, version, f"inference.layout={layout}"
            )
            for layout in ("number", "auto")
        }
        read = {
            layout: dict(zip(run.predictions["image"], run.predictions["digits"]))
            for layout, run in runs.items()
        }
        result[kind] = {
            "images": len(truth),
            "seed": args.numbers_seed,
            "files_per_second_number_layout": round(
                len(truth) / (runs["number"].seconds - startup), 1
            ),
            "exact_number_layout": float(
                np.mean(
                    [read["number"].get(name) == n.text for name, n in truth.items()]
                )
            ),
            "exact_auto_layout": float(
                np.mean([read["auto"].get(name) == n.text for name, n in truth.items()])
            ),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="realistic images")
    parser.add_argument("--camera-photos", type=int, default=200, help="12 MP JPEGs")
    parser.add_argument(
        "--camera-copies", type=int, default=1, help="links to each photo, e.g. 25"
    )
    parser.add_argument(
        "--numbers", type=int, default=300, help="images of each kind (0: skip)"
    )
    parser.add_argument(
        "--numbers-seed", type=int, default=5, help="their seed, default %(default)s"
    )
    parser.add_argument("--params", default="", help="more, e.g. inference.workers=1")
    parser.add_argument("--model-version", help="classifier version (default: latest)")
    parser.add_argument("--env", help="Kedro configuration environment, as for run")
    parser.add_argument(
        "--project-path", type=Path, default=ROOT, help="default: %(default)s"
    )
    args = parser.parse_args()
    adopt_orphans()
    catalog = open_catalog(args.project_path, args.env)
    digits = catalog.load("raw_test_images")[: args.images]
    labels = catalog.load("raw_test_labels")[: args.images]
    count = len(labels)
    others = load_digits()
    if not (args.model_version or catalog.exists("classifier")):
        sys.exit("No trained model yet: run `kedro run` first.")
    # One model for every figure: the version asked for, or the latest now.
    version = args.model_version or catalog.get("classifier").resolve_load_version()
    classifier = catalog.load("classifier", version=version)
    samples = len(catalog.load("digit_images"))  # the shipped samples, by default
    with tempfile.TemporaryDirectory(prefix="bench_inference_") as tmp:
        realistic, other = Path(tmp) / "realistic", Path(tmp) / "other_writers"
        print(
            f"Writing {count:,} realistic MNIST test images and 1,797 other writers'..."
        )
        truth = write_realistic_folder(digits, labels, realistic, seed=1)
        other_truth = write_realistic_folder(
            others.images, others.target, other, seed=2
        )
        sizes = np.array([Image.open(realistic / name).size for name in truth])

        print("Running the inference pipeline on the samples, then on the folders...")
        startup, startup_cpu, *_ = time_inference_run(args, catalog, None, version)
        seconds, cpu, predictions, _ = time_inference_run(
            args, catalog, realistic, version
        )
        other_predictions = time_inference_run(
            args, catalog, other, version
        ).predictions
        raw = classifier.predict(digits)
        throughput = (count - samples) / (seconds - startup)
        camera = camera_photos(args, catalog, version, Path(tmp), startup)
        numbers = (
            whole_numbers(args, catalog, version, Path(tmp), startup)
            if args.numbers
            else {}
        )
        result = {
            "images": count,
            "jpeg_images": sum(name.endswith(".jpg") for name in truth),
            "image_sides_px": [int(sizes.min()), int(sizes.max())],
            "cpu_cores": os.cpu_count(),
            "model_version": version,
            "params": args.params,
            "run_seconds": round(seconds, 2),
            "startup_seconds": round(startup, 2),
            "images_per_second": round(throughput),
            "images_per_cpu_second": round((count - samples) / (cpu - startup_cpu)),
            "statuses": predictions["status"].value_counts().to_dict(),
            "accuracy": {
                "mnist_test_raw": float(np.mean(raw.argmax(axis=1) == labels)),
                "realistic_pipeline": accuracy(predictions, truth),
                "realistic_naive_resize_invert": naive_accuracy(
                    classifier, realistic, truth
                ),
                "other_writers_images": len(other_truth),
                "other_writers_pipeline": accuracy(other_predictions, other_truth),
                "other_writers_naive_resize_invert": naive_accuracy(
                    classifier, other, other_truth
                ),
            },
            "camera_photos": camera,
            "numbers": numbers,
        }
    version = generate_timestamp()  # each run adds a version
    path = str(args.project_path / RESULT)
    JSONDataset(filepath=path, version=Version(None, version)).save(result)
    print(json.dumps(result, indent=2))
    print(
        f"\n{count:,} images: {throughput:,.0f} images/s on {os.cpu_count()} cores, "
        f"start-up ({startup:.1f} s) excluded. Written to {RESULT}/{version}/."
    )


if __name__ == "__main__":
    main()
