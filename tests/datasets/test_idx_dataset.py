"""Tests of IDXDataset: round trips, the real MNIST files, and malformed files."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from mnist_classifier.datasets import IDXDataset
from tests.helpers import PROJECT_ROOT

MNIST_DIR = PROJECT_ROOT / "data" / "01_raw" / "mnist"


@pytest.mark.parametrize("name", ["digits.idx", "digits.idx.gz"])
@pytest.mark.parametrize(
    "dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"]
)
def test_round_trip(tmp_path: Path, name: str, dtype: str) -> None:
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    dataset = IDXDataset(filepath=str(tmp_path / "sub" / name))
    dataset.save(array)
    loaded = dataset.load()
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded, array)
    assert dataset.exists()


def test_writes_the_original_byte_layout(tmp_path: Path) -> None:
    path = tmp_path / "labels.idx"
    IDXDataset(filepath=str(path)).save(np.array([7, 2, 1], dtype=np.uint8))
    assert path.read_bytes() == bytes.fromhex("00000801 00000003 070201")


def test_loads_the_real_mnist_files() -> None:
    images = IDXDataset(
        filepath=str(MNIST_DIR / "t10k-images-idx3-ubyte.gz"), shape=[None, 28, 28]
    ).load()
    labels = IDXDataset(filepath=str(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")).load()
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


def test_shipped_mnist_matches_the_published_checksums() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/fetch_mnist.py", "--check"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("ok  ") == 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "bad magic number (empty)"),
        (b"\x89PNG\r\n\x1a\n", "bad magic number 89504e47"),
        (bytes.fromhex("00000a01 00000001 07"), "bad magic number 00000a01"),
        (
            bytes.fromhex("00000803 00000002 0000"),
            "truncated inside its 3-dimension header",
        ),
        (
            bytes.fromhex("00000801 00000003 0702"),
            "has 10 bytes but its header (3,) calls for 11",
        ),
        (
            bytes.fromhex("00000801 00000001 0702"),
            "has 10 bytes but its header (1,) calls for 9",
        ),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "broken.idx"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match="broken.idx") as error:
        IDXDataset(filepath=str(path)).load()
    assert message in str(error.value)


def test_corrupt_gzip_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.idx.gz"
    path.write_bytes(gzip.compress(bytes.fromhex("00000801 00000001 07"))[:-6])
    with pytest.raises(DatasetError, match=r"broken.idx.gz' cannot be decompressed"):
        IDXDataset(filepath=str(path)).load()


def test_a_damaged_deflate_stream_is_reported_too(tmp_path: Path) -> None:
    damaged = bytearray(gzip.compress(bytes(1000)))
    damaged[10] = 0xFF  # the first block's header: a block type that does not exist
    path = tmp_path / "broken.idx.gz"
    path.write_bytes(damaged)
    with pytest.raises(DatasetError, match=r"broken.idx.gz' cannot be decompressed"):
        IDXDataset(filepath=str(path)).load()


def test_unexpected_shape_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "images.idx"
    IDXDataset(filepath=str(path)).save(np.zeros((2, 32, 32), dtype=np.uint8))
    with pytest.raises(
        DatasetError, match=r"shape \(2, 32, 32\), expected \('any', 28, 28\)"
    ):
        IDXDataset(filepath=str(path), shape=[None, 28, 28]).load()


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="nowhere.idx"):
        IDXDataset(filepath=str(tmp_path / "nowhere.idx")).load()


def test_unsupported_dtype_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot store dtype complex64"):
        IDXDataset(filepath=str(tmp_path / "x.idx")).save(
            np.zeros(2, dtype=np.complex64)
        )


def test_a_single_number_is_refused_as_idx_cannot_load_it(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    with pytest.raises(DatasetError, match="array of 0 dimensions in IDX"):
        IDXDataset(filepath=str(path)).save(np.uint8(7))
    assert not path.exists()
