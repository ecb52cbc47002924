"""Measures the inference pipeline: throughput, and accuracy on realistic images.

1. Writes the 10,000 MNIST test digits as realistic user images (mixed-size PNG and
   JPEG photos and scans, 48-400 px, dark ink on paper; see
   tests/pipelines/inference/realistic.py) into a temporary folder.
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

Prints the figures and writes them to data/08_reporting/inference_benchmark.json. The
runs' outputs land in data/07_model_output and data/08_reporting as new versions.

    python scripts/bench_inference.py [--images 10000] [--model-version <timestamp>]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from PIL import Image
from sklearn.datasets import load_digits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the realistic-folder generator lives with the tests

from mnist_classifier.datasets import IDXDataset  # noqa: E402
from mnist_classifier.pipelines.data_processing.nodes import scale_images  # noqa: E402
from tests.pipelines.inference.realistic import write_realistic_folder  # noqa: E402

KEDRO = str(Path(sys.executable).parent / "kedro")
MNIST_DIR = ROOT / "data" / "01_raw" / "mnist"
SAMPLES_DIR = ROOT / "data" / "01_raw" / "custom_digits"
MODELS_DIR = ROOT / "data" / "06_models" / "classifier.keras"
PREDICTIONS_DIR = ROOT / "data" / "07_model_output" / "predictions.csv"
RESULT = ROOT / "data" / "08_reporting" / "inference_benchmark.json"


def kedro_run(
    folder: Path, model_version: str, params: str = ""
) -> tuple[float, float, pd.DataFrame]:
    """Runs the inference pipeline on ``folder`` as a user would, with that model.

    Returns:
        The run's wall time and CPU time (all its processes) in seconds, and the
        predictions it wrote.
    """
    params = ",".join(filter(None, [f"input_dir={folder}", params]))
    command = [KEDRO, "run", "--pipelines", "inference", "--params", params]
    command += ["--load-versions", f"classifier:{model_version}"]
    start, cpu = time.perf_counter(), cpu_seconds()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    if run.returncode:
        sys.exit(
            f"{' '.join(command)} failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
        )
    latest = sorted(PREDICTIONS_DIR.iterdir())[-1] / "predictions.csv"
    return seconds, cpu, pd.read_csv(latest)


def cpu_seconds() -> float:
    """CPU time used so far by this script's finished child processes and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def accuracy(predictions: pd.DataFrame, truth: dict[str, int]) -> float:
    """Share of the files whose prediction is their label (an unusable file is wrong)."""
    predicted = dict(zip(predictions["image"], predictions["prediction"]))
    return float(
        np.mean([predicted.get(name) == label for name, label in truth.items()])
    )


def naive_accuracy(model: keras.Model, folder: Path, truth: dict[str, int]) -> float:
    """Accuracy when each image is just resized to 28x28 and inverted: no MNIST framing."""
    views = [
        255 - np.asarray(Image.open(folder / name).convert("L").resize((28, 28)))
        for name in truth
    ]
    predicted = model.predict(scale_images(np.stack(views)), batch_size=1024, verbose=0)
    return float(np.mean(predicted.argmax(axis=1) == list(truth.values())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000, help="realistic images")
    parser.add_argument("--params", default="", help="more, e.g. inference.workers=1")
    parser.add_argument("--model-version", help="classifier version (default: latest)")
    args = parser.parse_args()
    count = args.images
    digits = IDXDataset(filepath=str(MNIST_DIR / "t10k-images-idx3-ubyte.gz")).load()
    labels = IDXDataset(filepath=str(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")).load()
    others = load_digits()
    model_version = MODELS_DIR / (
        args.model_version or sorted(MODELS_DIR.iterdir())[-1]
    )
    model = keras.saving.load_model(model_version / "classifier.keras", safe_mode=True)
    with tempfile.TemporaryDirectory(prefix="bench_inference_") as tmp:
        realistic, other = Path(tmp) / "realistic", Path(tmp) / "other_writers"
        print(
            f"Writing {count:,} realistic MNIST test images and 1,797 other writers'..."
        )
        truth = write_realistic_folder(
            digits[:count], labels[:count], realistic, seed=1
        )
        other_truth = write_realistic_folder(
            others.images, others.target, other, seed=2
        )
        sizes = np.array([Image.open(realistic / name).size for name in truth])
        samples = len([path for path in SAMPLES_DIR.rglob("*") if path.is_file()])

        print("Running the inference pipeline on the samples, then on the folders...")
        version = model_version.name  # the same model for every figure
        startup, startup_cpu, _ = kedro_run(SAMPLES_DIR, version, args.params)
        seconds, cpu, predictions = kedro_run(realistic, version, args.params)
        *_, other_predictions = kedro_run(other, version, args.params)
        raw = model.predict(scale_images(digits[:count]), batch_size=1024, verbose=0)
        throughput = (count - samples) / (seconds - startup)
        result = {
            "images": count,
            "jpeg_images": sum(name.endswith(".jpg") for name in truth),
            "image_sides_px": [int(sizes.min()), int(sizes.max())],
            "cpu_cores": os.cpu_count(),
            "model_version": model_version.name,
            "params": args.params,
            "run_seconds": round(seconds, 2),
            "startup_seconds": round(startup, 2),
            "images_per_second": round(throughput),
            "images_per_cpu_second": round((count - samples) / (cpu - startup_cpu)),
            "statuses": predictions["status"].value_counts().to_dict(),
            "accuracy": {
                "mnist_test_raw": float(np.mean(raw.argmax(axis=1) == labels[:count])),
                "realistic_pipeline": accuracy(predictions, truth),
                "realistic_naive_resize_invert": naive_accuracy(
                    model, realistic, truth
                ),
                "other_writers_images": len(other_truth),
                "other_writers_pipeline": accuracy(other_predictions, other_truth),
                "other_writers_naive_resize_invert": naive_accuracy(
                    model, other, other_truth
                ),
            },
        }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(
        f"\n{count:,} images: {throughput:,.0f} images/s on {os.cpu_count()} cores, "
        f"start-up ({startup:.1f} s) excluded. Written to {RESULT.relative_to(ROOT)}."
    )


if __name__ == "__main__":
    main()
