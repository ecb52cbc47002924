"""``AtomicDataset``: any file dataset, written whole or not at all.

kedro-datasets' file datasets write straight to the final path. A run killed while it
writes (Ctrl-C, a full disk, the machine going down) leaves a truncated file there, and
for a versioned dataset that file is what the next run loads as "latest": a versioned
dataset's latest version is simply the newest folder holding a file of its name.

This wrapper lets the dataset it wraps write to ``<stem>.<random>.<suffix>.partial``
beside the target (its own name, so that two runs saving the same file cannot clash),
then renames that into place. On a local disk a rename is atomic, so the target is
either absent or complete. (On object stores such as S3 an upload only becomes visible
once complete, so there the final copy is no weaker.) A file left as ``.partial`` by a
killed run has another name: no version, no partition; it is left, and ignored.
"""

from __future__ import annotations

import functools
import uuid
from copy import deepcopy
from pathlib import PurePosixPath
from typing import Any

from kedro.io.core import (
    AbstractDataset,
    DatasetError,
    Version,
    parse_dataset_definition,
)

from .versioned_file import PARTIAL, VersionedFileDataset


class AtomicDataset(VersionedFileDataset[Any, Any]):
    """Wraps a file dataset so that a save renames a complete file into place.

    Example catalog entry (versioning, like the path, belongs to this wrapper):

    ```yaml
    metrics:
      type: mnist_classifier.datasets.AtomicDataset
      dataset: {type: json.JSONDataset, save_args: {indent: 2}}
      filepath: data/08_reporting/mnist/metrics.json
      versioned: true
    ```
    """

    def __init__(
        self,
        *,
        dataset: str | dict[str, Any],
        filepath: str,
        version: Version | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Creates the wrapper.

        Args:
            dataset: The wrapped dataset's type, or its catalog entry without
                ``filepath`` and ``versioned`` (both are this wrapper's).
            filepath: Path or fsspec URL of the file.
            version: Which version to load and save (Kedro sets it when versioned).
            fs_args: Extra arguments for the ``fsspec`` filesystem, of this wrapper
                (for the rename) and of the wrapped dataset unless it sets its own.
            metadata: Free-form metadata, for plugins such as kedro-viz.

        Raises:
            DatasetError: If the wrapped entry sets ``filepath`` or ``versioned``.
        """
        config = {"type": dataset} if isinstance(dataset, str) else deepcopy(dataset)
        for key in ("filepath", "versioned"):
            if key in config:
                raise DatasetError(
                    f"AtomicDataset for '{filepath}': set '{key}' on the AtomicDataset "
                    f"entry, not in its 'dataset' (found {key}: {config[key]!r})."
                )
        self._type, self._config = parse_dataset_definition(config)
        if fs_args:
            self._config.setdefault("fs_args", fs_args)
        if hasattr(self._type, "preview"):  # kedro-viz and notebooks show it

            @functools.wraps(self._type.preview)  # its return type tells kedro-viz how
            def preview(*args: Any, **kwargs: Any) -> Any:
                """The wrapped dataset's preview of the version to load."""
                return self._wrapped(self._get_load_path()).preview(*args, **kwargs)

            self.preview = preview
        super().__init__(
            filepath=filepath, version=version, fs_args=fs_args, metadata=metadata
        )

    def load(self) -> Any:
        return self._wrapped(self._get_load_path()).load()

    def save(self, data: Any) -> None:
        path = self._get_save_path()
        # Its own temporary name: two runs saving the same file at once (the same
        # journal batch, say) must not rename each other's.
        stem, dot, suffix = path.name.partition(".")
        partial = path.with_name(
            f"{stem}.{uuid.uuid4().hex[:12]}{dot}{suffix}{PARTIAL}"
        )
        target = self._full(path)
        self._made_folder(path)
        with self._removed_if_failed(self._full(partial)):
            self._wrapped(partial).save(data)
            self._fs.mv(self._full(partial), target)

    def _wrapped(self, path: PurePosixPath) -> AbstractDataset:
        return self._type(**self._config, filepath=self._full(path))

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "dataset": self._type.__name__,
            "version": self._version,
        }
