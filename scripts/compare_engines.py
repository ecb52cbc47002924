"""Compares Dask and Ray Data on the inference work, as the README's choice of Dask says.

The same work on each engine: the 10,000 MNIST test digits written as realistic photos
(``realistic.write_realistic_folder``), read, prepared and classified in batches of 256
by the inference pipeline's own batch task (``classify.read_batch``), each worker
with the model loaded once and one TensorFlow thread. Prints the cluster's start-up time
and images/s with start-up excluded.

Dask is a dependency of the project; Ray is not. To measure Ray, install it beside, e.g.
``pip install -c constraints.txt "ray[data]==2.60.0"``, and remove it afterwards.

    python scripts/compare_engines.py {dask,ray} --workers 2
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from mnist_classifier.catalog import open_catalog
from mnist_classifier.classifier import TrainedClassifier
from mnist_classifier.params import ClusterParams
from mnist_classifier.pipelines.inference import classify, cluster
from mnist_classifier.pipelines.inference.reading import prepare
from mnist_classifier.realistic import write_realistic_folder

ROOT = Path(__file__).resolve().parents[1]
BATCH = 256


#: A file read to views as a run does (``inference.layout: digit``, the default).
PREPARE = functools.partial(
    prepare, with_thumbnail=False, max_pixels=50_000_000, layout="digit"
)


def read_batch(paths: list[str], classifier: TrainedClassifier) -> pd.DataFrame:
    """One batch, read, prepared and classified by the pipeline's own batch task."""
    loaders = [Path(path).read_bytes for path in paths]
    names = [Path(path).name for path in paths]
    return classify.read_batch(names, loaders, classifier, work=PREPARE)


def on_dask(batches: list[list[str]], classifier, workers: int) -> tuple[float, int]:
    start = time.perf_counter()
    with cluster.connect(ClusterParams(workers=workers)) as client:  # as a run does
        client.wait_for_workers(workers)
        started = time.perf_counter()  # the model's loading counts, as on Ray
        model = client.scatter(classifier, broadcast=True)
        tables = client.gather(client.map(read_batch, batches, classifier=model))
        print(f"dask: cluster started in {started - start:.1f} s")
        return time.perf_counter() - started, sum(len(table) for table in tables)


def on_ray(batches: list[list[str]], classifier, workers: int) -> tuple[float, int]:
    import ray  # noqa: PLC0415

    start = time.perf_counter()
    ray.init(
        num_cpus=workers,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": cluster.ONE_THREAD},
    )
    model = ray.put(classifier)

    class Reader:  # an actor: loads the model once
        def __init__(self, model: ray.ObjectRef) -> None:
            self.classifier = ray.get(model)

        def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
            return read_batch(list(batch["path"]), self.classifier)

    started = time.perf_counter()
    print(f"ray: started in {started - start:.1f} s")
    rows = len(
        ray.data.from_items([{"path": path} for batch in batches for path in batch])
        .map_batches(
            Reader,
            fn_constructor_args=(model,),
            batch_size=BATCH,
            concurrency=workers,
            batch_format="pandas",
        )
        .to_pandas()
    )
    seconds = time.perf_counter() - started
    ray.shutdown()
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine", choices=["dask", "ray"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    catalog = open_catalog(ROOT)
    classifier = catalog.load("classifier")
    images = catalog.load("raw_test_images")[: args.images]
    labels = catalog.load("raw_test_labels")[: args.images]
    with tempfile.TemporaryDirectory(prefix="compare_engines_") as folder:
        write_realistic_folder(images, labels, Path(folder), seed=1)
        paths = sorted(str(path) for path in Path(folder).iterdir())
        batches = [paths[at : at + BATCH] for at in range(0, len(paths), BATCH)]
        run = on_dask if args.engine == "dask" else on_ray
        seconds, rows = run(batches, classifier, args.workers)
    print(
        f"{args.engine}, {args.workers} workers: {rows:,} images in {seconds:.1f} s, "
        f"{rows / seconds:.0f} images/s (start-up excluded)"
    )


if __name__ == "__main__":
    main()
