"""What bounds phone photos: decoding alone against all of ``prepare``, on both cores.

Writes ``--photos`` MNIST test digits as 12-megapixel phone photos
(``realistic.write_camera_folder``, seed 4) into a temporary folder, then has two of the
pipeline's worker processes go over them ``--passes`` times (each photo taken
``--copies`` times a pass, the files in the page cache): once only decoding each as
``prepare`` does (gray, Pillow's draft mode), once running all of ``prepare``. The
first is the most photos a second that any preprocessing after the decoder can reach.

    python scripts/profile_camera_photos.py [--photos 60] [--copies 5] [--passes 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kedro_datasets.partitions import PartitionedDataset

from mnist_classifier.catalog import open_catalog
from mnist_classifier.datasets import ImageFileDataset
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines.inference.preprocessing import read_image
from mnist_classifier.pipelines.inference.reading import preparer
from mnist_classifier.pipelines.inference.workers import worker_pool
from mnist_classifier.realistic import write_camera_folder

ROOT = Path(__file__).resolve().parents[1]
CHUNK = 4  # photos handed to a worker at a time


def decoded(load: Callable[[], bytes]) -> None:
    """Reads and decodes one photo as ``prepare`` does, and does nothing more."""
    read_image(load, gray=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    catalog = open_catalog(ROOT)
    digits = catalog.load("raw_test_images")[: args.photos]
    labels = catalog.load("raw_test_labels")[: args.photos]
    with tempfile.TemporaryDirectory(prefix="profile_camera_photos_") as tmp:
        write_camera_folder(digits, labels, Path(tmp), seed=4)
        files = PartitionedDataset(path=tmp, dataset=ImageFileDataset).load()
        loaders = [files[name] for name in sorted(files)] * args.copies
        work = preparer(
            InferenceParams(input_dir=tmp, layout="digit"), with_thumbnail=False
        )
        with worker_pool(2) as pool:
            list(pool.map(decoded, loaders[: 2 * CHUNK], chunksize=CHUNK))  # warm
            for _ in range(args.passes):
                for step, function in (("decoding alone", decoded), ("prepare", work)):
                    start = time.perf_counter()
                    list(pool.map(function, loaders, chunksize=CHUNK))
                    rate = len(loaders) / (time.perf_counter() - start)
                    print(f"{step:15s} {rate:6.1f} photos/s on 2 processes")


if __name__ == "__main__":
    main()
