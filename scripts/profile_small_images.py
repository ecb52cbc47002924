"""Where the time of reading small images goes: each step's cost, per file.

Writes ``--images`` MNIST test digits as realistic photos and scans (as
``bench_inference.py`` does: 48-400 px, PNG and JPEG, seed 1) into a temporary folder,
then times, per file: reading its bytes (the catalog's loader; the files were just
written, so they are in the page cache), decoding, grayscale, finding the ink,
thickening and framing (one core, in this process), all of ``prepare`` as the workers
run it, the model's prediction (batches of ``inference.batch_size``, this process),
the rows and the journal's Parquet batches, and, on two worker processes of the
pipeline's pool (chunks of ``CHUNK``, wall time): the hand-over between processes
alone (workers that only take a loader and hand back a prepared digit), decoding
alone (the most files a second any preprocessing after the decoder can reach) and
all of ``prepare``.

    python scripts/profile_small_images.py [--images 10000] [--model-version <ts>]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from kedro_datasets.partitions import PartitionedDataset

from mnist_classifier.catalog import open_catalog
from mnist_classifier.datasets import AtomicDataset, ImageFileDataset
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines.inference import preprocessing
from mnist_classifier.pipelines.inference.classify import classify_batch
from mnist_classifier.pipelines.inference.reading import PreparedImage, preparer
from mnist_classifier.pipelines.inference.workers import CHUNK, worker_pool
from mnist_classifier.realistic import write_realistic_folder

ROOT = Path(__file__).resolve().parents[1]


def handed_back(load: Callable[[], bytes]) -> PreparedImage:
    """A worker's reply without its work: the hand-over's cost alone."""
    return PreparedImage((np.zeros((28, 28), np.uint8),), "ok")


def decoded(load: Callable[[], bytes]) -> None:
    """Reads and decodes one file as ``prepare`` does (in gray), and does nothing more."""
    preprocessing.read_image(load, gray=True)


def step_costs(loaders: list[Callable[[], bytes]]) -> dict[str, float]:
    """Each step of preparing a file, in seconds summed over ``loaders``."""
    steps = ("read the file", "decode", "grayscale", "find the ink", "thicken", "frame")
    total = dict.fromkeys(steps, 0.0)
    for load in loaders:
        times = [time.perf_counter()]
        data = load()
        times.append(time.perf_counter())
        image = preprocessing.read_image(lambda data=data: data, gray=True)
        times.append(time.perf_counter())
        gray = preprocessing.to_grayscale(image)
        times.append(time.perf_counter())
        ink, mask = preprocessing.find_ink(gray)
        times.append(time.perf_counter())
        thick = preprocessing.thicken_thin_strokes(ink, mask)
        times.append(time.perf_counter())
        preprocessing.centre_in_frame(thick)
        times.append(time.perf_counter())
        for step, before, after in zip(steps, times, times[1:]):
            total[step] += after - before
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--model-version", help="default: the latest classifier")
    args = parser.parse_args()
    catalog = open_catalog(ROOT)
    model = catalog.load("classifier", version=args.model_version)
    digits = catalog.load("raw_test_images")[: args.images]
    labels = catalog.load("raw_test_labels")[: args.images]
    with tempfile.TemporaryDirectory(prefix="profile_small_images_") as tmp:
        write_realistic_folder(digits, labels, Path(tmp), seed=1)
        inference = InferenceParams(input_dir=tmp, layout="digit")
        files = PartitionedDataset(path=tmp, dataset=ImageFileDataset).load()
        names = sorted(files)
        loaders = [files[name] for name in names]
        costs = step_costs(loaders)
        start = time.perf_counter()
        work = preparer(inference, with_thumbnail=False)
        prepared = [work(load) for load in loaders]
        costs["all of prepare"] = time.perf_counter() - start
        batch = inference.batch_size
        views = np.stack([item.views[0] for item in prepared if item.views])
        model.predict(views[:batch])  # the first call builds the graph
        start = time.perf_counter()
        for first in range(0, len(views), batch):
            model.predict(views[first : first + batch])
        costs["predict"] = time.perf_counter() - start
        start = time.perf_counter()
        tables = [
            classify_batch(names[i : i + batch], prepared[i : i + batch], model)
            for i in range(0, len(names), batch)
        ]
        costs["predict, rows"] = time.perf_counter() - start
        start = time.perf_counter()
        for index, table in enumerate(tables):  # as the journal's catalog entry does
            batch_file = Path(tmp) / "journal" / f"{index}.parquet"
            AtomicDataset(
                dataset="pandas.ParquetDataset", filepath=str(batch_file)
            ).save(table)
        costs["journal (Parquet)"] = time.perf_counter() - start
        with worker_pool(2) as pool:
            list(pool.map(handed_back, loaders[: 4 * CHUNK], chunksize=CHUNK))
            start = time.perf_counter()
            list(pool.map(handed_back, loaders, chunksize=CHUNK))
            costs["hand-over, 2 workers (wall)"] = time.perf_counter() - start
            start = time.perf_counter()
            list(pool.map(decoded, loaders, chunksize=CHUNK))
            costs["decoding alone, 2 workers (wall)"] = time.perf_counter() - start
            start = time.perf_counter()
            list(pool.map(work, loaders, chunksize=CHUNK))
            costs["all of prepare, 2 workers (wall)"] = time.perf_counter() - start
    print(f"{len(names):,} realistic images, per file:")
    for step, seconds in costs.items():
        rate = f"  ({len(names) / seconds:,.0f} files/s)" if "wall" in step else ""
        print(f"  {step:34s} {seconds / len(names) * 1e3:6.3f} ms{rate}")


if __name__ == "__main__":
    main()
