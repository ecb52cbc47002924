"""``FileStampDataset``: what tells whether a file changed, without opening it.

The inference pipeline reads a folder again only where it changed. It tells a changed
file by fsspec's ``ukey``: a hash of the file's properties (for a local file, its
``stat``: size, modification and change times, inode), the same test fsspec's caches
use. A file edited, replaced or touched gets a new stamp; a file left alone keeps it.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import fsspec
from kedro.io.core import AbstractDataset, DatasetError, get_protocol_and_path


class FileStampDataset(AbstractDataset[None, str | None]):
    """Loads one file's stamp (``None`` if it has none: a broken symlink, say).

    Read-only. Example catalog entry, one per file of a folder:

    ```yaml
    digit_image_stamps:
      type: partitions.PartitionedDataset
      path: data/01_raw/custom_digits
      dataset: mnist_classifier.datasets.FileStampDataset
    ```
    """

    def __init__(
        self,
        *,
        filepath: str,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Creates a dataset for one file's stamp.

        Args:
            filepath: Path or fsspec URL of the file.
            fs_args: Extra arguments for the ``fsspec`` filesystem.
            metadata: Free-form metadata, for plugins such as kedro-viz.
        """
        protocol, path = get_protocol_and_path(filepath)
        self._filepath = PurePosixPath(path)
        self._fs = fsspec.filesystem(protocol, **(fs_args or {}))
        self.metadata = metadata

    def load(self) -> str | None:
        try:
            return self._fs.ukey(str(self._filepath))
        except OSError:  # gone, or a symlink to nothing: no stamp, read it each time
            return None

    def save(self, data: None) -> None:
        raise DatasetError("FileStampDataset is read-only: it stamps existing files.")

    def _exists(self) -> bool:
        return self._fs.exists(str(self._filepath))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
