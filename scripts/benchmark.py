"""Benchmarks the keras-io "Simple MNIST convnet" against this project's trainings.

Runs, one after the other on this machine, each in its own process (so that its peak
memory is its own):

- ``reference``: a faithful copy of the keras-io recipe (Conv32-Pool-Conv64-Pool-
  Dropout-Dense, Adam, batch 128, 15 epochs, validation_split 0.1), on the same MNIST
  files, with TensorFlow's default settings;
- ``default``: `kedro run` with seeds 42, 43, ... (``--default-seeds``, 5), and seed 42
  once more (reproducibility);
- ``accurate``: `kedro run --env accurate` with seeds 42, 43, ... (``--accurate-seeds``,
  2).

For the seed-42 model of each recipe, it then runs scripts/bench_inference.py on it
(10,000 generated digit photos through the inference pipeline). A run's figures
are read through the Kedro catalog: its ``metrics`` and its ``classifier``'s card
(the training history), the versions the run saved (its session id). It prints one
table (test accuracy, training wall time, training images per second, peak memory,
parameter count, inference images per second), then each recipe's test accuracy and
training time over its seeds (mean, min, max; the time also as a share of the
reference's), and writes both, versioned, to data/08_reporting/benchmark.json/ and
benchmark.md/.

    python scripts/benchmark.py                       # everything (make bench)
    python scripts/benchmark.py --only reference default --no-inference
    python scripts/benchmark.py --accurate-seeds 0    # no accurate
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io.core import Version, generate_timestamp
from kedro_datasets.json import JSONDataset
from kedro_datasets.text import TextDataset

from mnist_classifier.datasets import IDXDataset
from mnist_classifier.messages import latest_model
from mnist_classifier.startup import import_keras

ROOT = Path(__file__).resolve().parents[1]
BENCH_INFERENCE = ROOT / "scripts/bench_inference.py"
INFERENCE_RESULT = ROOT / "data/08_reporting/inference_benchmark.json"  # versioned
RUNS = {
    "reference": "keras-io Simple MNIST convnet (15 epochs)",
    "default": "kedro run",
    "default_rerun": "kedro run (seed 42 again)",
    "accurate": "kedro run --env accurate",
}
ENVS = {"default": None, "default_rerun": None, "accurate": "accurate"}  # kedro runs
FIRST_SEED = 42


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_reference() -> dict:
    """The keras-io example, verbatim but for loading the shipped IDX files.

    They are read by path, not through the catalog: opening it runs the project's
    hooks, and hooks/tensorflow.py would set TensorFlow's threads, which the reference
    keeps at TensorFlow's defaults, as its recipe runs for a user.
    """
    keras = import_keras()

    def load(name: str) -> np.ndarray:
        return IDXDataset(filepath=str(ROOT / "data/01_raw/mnist" / name)).load()

    x_train = load("train-images-idx3-ubyte.gz").astype("float32") / 255
    x_test = load("t10k-images-idx3-ubyte.gz").astype("float32") / 255
    x_train, x_test = np.expand_dims(x_train, -1), np.expand_dims(x_test, -1)
    y_train = keras.utils.to_categorical(load("train-labels-idx1-ubyte.gz"), 10)
    y_test = keras.utils.to_categorical(load("t10k-labels-idx1-ubyte.gz"), 10)

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"]
    )
    batch_size, epochs = 128, 15
    training_images = round(0.9 * len(x_train))  # what validation_split=0.1 leaves
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_split=0.1,
        verbose=2,
    )
    seconds = time.perf_counter() - start
    return {
        "test_accuracy": float(model.evaluate(x_test, y_test, verbose=0)[1]),
        "training_seconds": round(seconds, 1),
        "epochs": epochs,
        "training_images": training_images,
        "images_per_second": round(training_images * epochs / seconds),
        "parameters": model.count_params(),
    }


def run_kedro(env: str | None, seed: int) -> dict:
    """A real `kedro run`, then the metrics and the training history it saved."""

    os.chdir(ROOT)
    bootstrap_project(ROOT)
    with KedroSession.create(
        project_path=ROOT, env=env, runtime_params={"seed": seed}
    ) as session:
        session.run()
        run_id = session.session_id  # the version of everything the run saved
        catalog = session.load_context().catalog
    metrics = catalog.load("metrics", version=run_id)
    history = (
        catalog.get("classifier", version=Version(run_id, None)).load_card().history
    )
    epochs_seconds = sum(record.seconds for record in history.records)
    return {
        "test_accuracy": metrics.test_accuracy,
        "training_seconds": history.training_seconds,
        "epochs": history.epochs,
        "training_images": history.training_images,
        "images_per_second": round(
            history.training_images * history.epochs / epochs_seconds
        ),
        "parameters": history.parameters,
        "version": run_id,
        "seed": seed,
    }


def run_one(name: str, seed: int) -> None:
    """Runs one benchmark in this process and prints its result as one JSON line."""
    result = run_reference() if name == "reference" else run_kedro(ENVS[name], seed)
    result["peak_memory_mb"] = round(peak_memory_mb())
    print("RESULT " + json.dumps(result), flush=True)


def run_script(arguments: list[str], what: str) -> str:
    """Runs a Python script of this project in its own process; its output, or exits."""
    process = subprocess.run(
        [sys.executable, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if process.returncode:
        sys.exit(f"{what} failed:\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}")
    return process.stdout


def measure(name: str, seed: int = FIRST_SEED) -> dict:
    print(f"--- {name}, seed {seed}: {RUNS[name]}", flush=True)
    output = run_script([__file__, "--one", name, "--seed", str(seed)], name)
    lines = [line for line in output.splitlines() if line.startswith("RESULT ")]
    if not lines:
        sys.exit(f"{name} printed no result:\n{output[-3000:]}")
    return {"run": name, "what": RUNS[name], **json.loads(lines[-1][len("RESULT ") :])}


def measure_inference(model_version: str, env: str | None) -> dict:
    """scripts/bench_inference.py on one trained model, in its own process."""
    print(f"--- inference with classifier {model_version}", flush=True)
    arguments = [str(BENCH_INFERENCE), "--model-version", model_version]
    run_script(
        arguments + (["--env", env] if env else []), f"inference with {model_version}"
    )
    # The version it has just written: the latest.
    return JSONDataset(
        filepath=str(INFERENCE_RESULT), version=Version(None, None)
    ).load()


def describe_machine() -> str:
    """CPU model and core count, memory, Python and TensorFlow versions."""
    cpuinfo = Path("/proc/cpuinfo")
    models = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.startswith("model name")
    ]
    cpu = models[0] if models else platform.processor() or platform.machine()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30

    return (
        f"{os.cpu_count()} CPU cores ({cpu}), {memory_gb:.0f} GiB, no GPU; "
        f"Python {platform.python_version()}, TensorFlow {version('tensorflow-cpu')}, "
        f"Keras {version('keras')}"
    )


def markdown(rows: list[dict], machine: str) -> str:
    lines = [
        f"Measured on {machine}.",
        "",
        "| run | seed | test accuracy | training time | training images/s "
        "| peak memory | parameters | inference images/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        inference = row.get("inference")
        throughput = f"{inference['images_per_second']:,}" if inference else "-"
        lines.append(
            f"| {row['what']} | {row.get('seed', '-')} | "
            f"{100 * row['test_accuracy']:.2f}% | "
            f"{row['training_seconds']:.0f} s ({row['epochs']} epochs of "
            f"{row['training_images']:,} images) | "
            f"{row['images_per_second']:,} | {row['peak_memory_mb']:,} MB | "
            f"{row['parameters']:,} | "
            f"{throughput} |"
        )
    if any(row.get("inference") for row in rows):
        lines += [
            "",
            "Inference: scripts/bench_inference.py with that run's model, 10,000 generated "
            "digit photos (PNG and JPEG, 48-400 px) through `kedro run --pipelines "
            "inference`, start-up excluded.",
        ]
    return "\n".join(lines + ["", *summary(rows)]) + "\n"


def summary(rows: list[dict]) -> list[str]:
    """Each recipe over its seeds: test accuracy and training time, mean (min-max)."""
    reference = [row["training_seconds"] for row in rows if row["run"] == "reference"]
    lines = [
        "| recipe | seeds | test accuracy, mean (min-max) | training time, mean "
        "(min-max) | time / reference's |",
        "|---|---|---|---|---|",
    ]
    for name in ("reference", "default", "accurate"):
        runs = [row for row in rows if row["run"] == name]
        if not runs:
            continue
        accuracy = [100 * row["test_accuracy"] for row in runs]
        seconds = [row["training_seconds"] for row in runs]
        share = (
            f"{statistics.mean(seconds) / statistics.mean(reference):.2f}x"
            if reference
            else "-"
        )
        lines.append(
            f"| {RUNS[name]} | {', '.join(str(row.get('seed', '-')) for row in runs)} | "
            f"{statistics.mean(accuracy):.2f}% ({min(accuracy):.2f}-{max(accuracy):.2f}%) "
            f"| {statistics.mean(seconds):.0f} s ({min(seconds):.0f}-{max(seconds):.0f} s)"
            f" | {share} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=RUNS, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=FIRST_SEED, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=RUNS, nargs="+", help="run only these")
    parser.add_argument("--default-seeds", type=int, default=5, metavar="N")
    parser.add_argument("--accurate-seeds", type=int, default=2, metavar="N")
    parser.add_argument(
        "--no-inference", action="store_true", help="skip the inference benchmark"
    )
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.seed)
        return

    seeds = {"default": args.default_seeds, "accurate": args.accurate_seeds}
    rows = [
        measure(name, FIRST_SEED + offset)
        for name in args.only or RUNS
        for offset in range(seeds.get(name, 1))
    ]
    if not args.no_inference:
        for row in rows:
            if (
                row["run"] in ENVS
                and row["run"] != "default_rerun"
                and row["seed"] == FIRST_SEED
            ):
                row["inference"] = measure_inference(row["version"], ENVS[row["run"]])
    machine = describe_machine()
    table = markdown(rows, machine)
    print(table)
    version = Version(None, generate_timestamp())  # one version for both files
    reporting = ROOT / "data/08_reporting"
    JSONDataset(filepath=str(reporting / "benchmark.json"), version=version).save(
        {"machine": machine, "runs": rows}
    )
    TextDataset(filepath=str(reporting / "benchmark.md"), version=version).save(table)
    trained = [row for row in rows if row["run"] in ENVS]
    if trained:
        last = trained[-1]
        print(latest_model(last["version"], f"{last['what']}, seed {last['seed']}"))


if __name__ == "__main__":
    main()
