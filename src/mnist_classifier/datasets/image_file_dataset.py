"""``ImageFileDataset``: one image file's bytes, left for the preprocessing to decode.

kedro-datasets' ``pillow.ImageDataset`` decodes the whole image on load. Handing the
bytes on instead lets the one preprocessing path (pipelines/inference/preprocessing.py)
decode every image the same way, whether it comes from a folder, the HTTP API or the
page: a 12-megapixel JPEG at the reduced size the digit needs (Pillow's draft mode)
rather than at full size.

It opens regular files only. Opening a named pipe blocks until something writes to it,
and a device such as /dev/zero never ends, so anything else (FIFO, socket, device, also
through a symlink) is refused with ``NotRegularFileError`` before it is opened, and a
file larger than ``max_bytes`` (a video in a camera roll) with ``FileTooLargeError``,
before it is read into memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, get_protocol_and_path


class NotRegularFileError(DatasetError):
    """The path is a FIFO, socket, device or folder, not a file that can be read."""


class FileTooLargeError(DatasetError):
    """The file is larger than ``max_bytes``: no image the run reads is (a video is)."""


class ImageFileDataset(AbstractDataset[bytes, bytes]):
    """Loads (and saves) one file's bytes; loading refuses anything but a regular file.

    Example catalog entry, one per file of a folder:

    ```yaml
    digit_images:
      type: partitions.PartitionedDataset
      path: data/01_raw/custom_digits
      dataset: mnist_classifier.datasets.ImageFileDataset
    ```
    """

    def __init__(
        self,
        *,
        filepath: str,
        max_bytes: int | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Creates a dataset for one file.

        Args:
            filepath: Path or fsspec URL of the file.
            max_bytes: Larger files are refused unread; None: no limit.
            fs_args: Extra arguments for the ``fsspec`` filesystem.
            metadata: Free-form metadata, for plugins such as kedro-viz.
        """
        protocol, path = get_protocol_and_path(filepath)
        self._max_bytes = max_bytes
        self._protocol = protocol
        self._filepath = PurePosixPath(path)
        self._fs = fsspec.filesystem(protocol, **(fs_args or {}))
        self.metadata = metadata

    def load(self) -> bytes:
        """The file's bytes.

        Raises:
            NotRegularFileError: If the path is not a regular file (checked before the
                file is opened, following symlinks).
            FileTooLargeError: If the file is larger than ``max_bytes``.
        """
        path = str(self._filepath)
        if self._protocol in ("file", "local"):
            status = os.stat(path)  # a broken symlink raises here
            regular, size = stat.S_ISREG(status.st_mode), status.st_size
        else:
            info = self._fs.info(path)
            regular, size = info.get("type") == "file", info.get("size") or 0
        if not regular:
            raise NotRegularFileError(f"{path} is not a regular file")
        if self._max_bytes is not None and size > self._max_bytes:
            raise FileTooLargeError(
                f"{path} is {size:,} bytes, over max_bytes={self._max_bytes:,}"
            )
        with self._fs.open(path, "rb") as file:
            return file.read()

    def save(self, data: bytes) -> None:
        with self._fs.open(str(self._filepath), "wb") as file:
            file.write(data)

    def _exists(self) -> bool:
        return self._fs.isfile(str(self._filepath))

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "protocol": self._protocol,
            "max_bytes": self._max_bytes,
        }
