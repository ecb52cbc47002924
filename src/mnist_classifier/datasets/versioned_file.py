"""``VersionedFileDataset``: what this project's versioned datasets share.

A file on any fsspec filesystem, one per version (``<filepath>/<version>/<name>``) when
versioned; a version exists once its file does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, TypeVar

import fsspec
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    get_filepath_str,
    get_protocol_and_path,
)

#: Added to a file's name while it is written; renamed away once it is complete.
PARTIAL = ".partial"

_DI = TypeVar("_DI")
_DO = TypeVar("_DO")


class VersionedFileDataset(AbstractVersionedDataset[_DI, _DO]):
    """A versioned dataset kept in one file; subclasses load and save it."""

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Resolves the path's filesystem and sets versioning up.

        Args:
            filepath: Path or fsspec URL of the file.
            version: Which version to load and save (Kedro sets it when versioned).
            fs_args: Extra arguments for the ``fsspec`` filesystem.
            metadata: Free-form metadata, for plugins such as kedro-viz.
        """
        protocol, path = get_protocol_and_path(filepath, version)
        self._protocol = protocol
        self._fs = fsspec.filesystem(protocol, **(fs_args or {}))
        self.metadata = metadata
        super().__init__(
            filepath=PurePosixPath(path),
            version=version,
            exists_function=self._fs.exists,
            glob_function=self._fs.glob,
        )

    def _full(self, path: PurePosixPath) -> str:
        """``path`` as fsspec takes it (an HTTP URL keeps its scheme)."""
        return get_filepath_str(path, self._protocol)

    def _made_folder(self, path: PurePosixPath) -> str:
        """Makes the folder ``path`` goes in, if it is missing, and returns it (``.``
        for a bare file name)."""
        folder = self._full(path.parent)
        self._fs.makedirs(folder, exist_ok=True)
        return folder

    @contextlib.contextmanager
    def _removed_if_failed(self, *partials: str) -> Iterator[None]:
        """Deletes those of ``partials`` that exist if the block fails (a full disk,
        Ctrl-C), so no half-written file stays behind."""
        try:
            yield
        except BaseException:
            for partial in partials:
                if self._fs.exists(partial):
                    self._fs.rm(partial)
            raise

    def _exists(self) -> bool:
        try:
            path = self._full(self._get_load_path())
        except DatasetError:
            return False
        return self._fs.exists(path)
