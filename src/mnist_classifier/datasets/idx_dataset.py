"""``IDXDataset`` reads and writes the IDX format that MNIST and its look-alikes use.

The format (http://yann.lecun.com/exdb/mnist/) is a big-endian header, two zero bytes,
a type code, the number of dimensions, one 32-bit size per dimension, then the values.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import PurePosixPath
from typing import Any

import fsspec
import numpy as np
from kedro.io.core import (
    AbstractDataset,
    DatasetError,
    get_filepath_str,
    get_protocol_and_path,
)

#: IDX type code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}


class IDXDataset(AbstractDataset[np.ndarray, np.ndarray]):
    """Loads and saves a NumPy array as an IDX file, gzipped when the path ends in ``.gz``.

    The header is checked on load: a malformed file fails with a ``DatasetError`` that
    names the file and what is wrong with it.

    Example catalog entry:

    ```yaml
    raw_train_images:
      type: mnist_classifier.datasets.IDXDataset
      filepath: data/01_raw/mnist/train-images-idx3-ubyte.gz
      shape: [null, 28, 28]  # optional; null matches any size
    ```
    """

    def __init__(
        self,
        *,
        filepath: str,
        shape: list[int | None] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Creates a dataset for one IDX file.

        Args:
            filepath: Path or URL of the file; a ``.gz`` ending means gzip.
            shape: Expected shape; ``None`` entries match any size.
            fs_args: Extra arguments for the ``fsspec`` filesystem.
            metadata: Free-form metadata, for plugins such as kedro-viz.
        """
        protocol, path = get_protocol_and_path(filepath)
        self._protocol = protocol
        self._filepath = PurePosixPath(path)
        self._fs = fsspec.filesystem(protocol, **(fs_args or {}))
        self._shape = None if shape is None else tuple(shape)
        self.metadata = metadata

    def load(self) -> np.ndarray:
        with self._fs.open(self._path, "rb") as file:
            raw = file.read()
        if self._gzipped:
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as exc:
                raise self._error(f"cannot be decompressed ({exc})") from exc
        return self._check_shape(self._parse(raw))

    def save(self, data: np.ndarray) -> None:
        array = np.asarray(data)
        code = _CODES.get(array.dtype.newbyteorder("="))
        if code is None:
            raise self._error(f"cannot store dtype {array.dtype} in IDX")
        if not 1 <= array.ndim <= 255:
            raise self._error(
                f"cannot store an array of {array.ndim} dimensions in IDX (1 to 255)"
            )
        header = (
            bytes([0, 0, code, array.ndim])
            + np.array(array.shape, dtype=">u4").tobytes()
        )
        raw = header + array.astype(IDX_DTYPES[code]).tobytes()
        if self._gzipped:
            raw = gzip.compress(raw, mtime=0)
        self._fs.makedirs(str(self._filepath.parent), exist_ok=True)
        with self._fs.open(self._path, "wb") as file:
            file.write(raw)

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._path, "shape": self._shape}

    @property
    def _path(self) -> str:
        """The file as fsspec takes it (an HTTP URL keeps its scheme)."""
        return get_filepath_str(self._filepath, self._protocol)

    @property
    def _gzipped(self) -> bool:
        return self._filepath.suffix == ".gz"

    def _error(self, problem: str) -> DatasetError:
        return DatasetError(f"IDX file '{self._path}' {problem}.")

    def _parse(self, raw: bytes) -> np.ndarray:
        if len(raw) < 4 or raw[0] or raw[1] or raw[2] not in IDX_DTYPES or not raw[3]:
            raise self._error(
                f"is not an IDX file: bad magic number {raw[:4].hex() or '(empty)'}; "
                "expected 0000 followed by a type code (08 for unsigned bytes) "
                "and the number of dimensions"
            )
        dtype, ndim = IDX_DTYPES[raw[2]], raw[3]
        offset = 4 + 4 * ndim
        if len(raw) < offset:
            raise self._error(f"is truncated inside its {ndim}-dimension header")
        shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", ndim, 4))
        expected = offset + int(np.prod(shape)) * dtype.itemsize
        if len(raw) != expected:
            raise self._error(
                f"has {len(raw)} bytes but its header {shape} calls for {expected}: "
                "the file is truncated or corrupt"
            )
        return (
            np.frombuffer(raw, dtype, offset=offset)
            .reshape(shape)
            .astype(dtype.newbyteorder("="))
        )

    def _check_shape(self, array: np.ndarray) -> np.ndarray:
        expected = self._shape
        if expected is not None and (
            len(expected) != array.ndim
            or any(want not in (None, got) for want, got in zip(expected, array.shape))
        ):
            wanted = tuple("any" if size is None else size for size in expected)
            raise self._error(
                f"holds an array of shape {array.shape}, expected {wanted}; "
                "check the catalog entry's filepath and shape"
            )
        return array
