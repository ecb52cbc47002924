"""``ClassifierDataset`` keeps a trained classifier: the Keras file and its model card.

Each version is one folder, ``<filepath>/<version>/``, holding ``<name>.keras`` and
``model_card.json``; a version counts (for "latest" and for ``exists``) once its Keras
file is there. A save writes the model to a local file and loads it back once, copies
the card and the model beside their places under temporary names, and only then renames
them into place, the card first. So an interrupted save never leaves a version that a
later run would take; unversioned, it leaves the old model and card, except if it stops
between the two renames. Unversioned, the card is ``model_card.json`` beside the file,
so each such model needs a folder of its own. ``check_file`` tells, without TensorFlow,
whether the version to load is intact, so a run can stop with one line if it is not.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import DatasetError, Version
from pydantic import ValidationError

from mnist_classifier.classifier import ModelCard, TrainedClassifier
from mnist_classifier.messages import field_problem, first_line
from mnist_classifier.startup import import_keras

from .versioned_file import PARTIAL, VersionedFileDataset

CARD_NAME = "model_card.json"
#: What a Keras 3 ``.keras`` file (a zip archive) holds.
KERAS_MEMBERS = frozenset({"metadata.json", "config.json", "model.weights.h5"})


class ClassifierDataset(VersionedFileDataset[TrainedClassifier, TrainedClassifier]):
    """Loads and saves a ``TrainedClassifier``; Keras reads the model in safe mode.

    Example catalog entry:

    ```yaml
    classifier:
      type: mnist_classifier.datasets.ClassifierDataset
      filepath: data/06_models/mnist/classifier.keras
      versioned: true
    ```
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Creates a dataset for one model, versioned or not.

        Args:
            filepath: Path or URL of the Keras file; it must end in ``.keras``.
            version: Which version to load and save (Kedro sets it when versioned).
            fs_args: Extra arguments for the ``fsspec`` filesystem.
            metadata: Free-form metadata, for plugins such as kedro-viz.
        """
        if not filepath.endswith(".keras"):
            raise DatasetError(
                f"ClassifierDataset: filepath '{filepath}' must end in '.keras', "
                "the Keras 3 format that loads in safe mode."
            )
        super().__init__(
            filepath=filepath, version=version, fs_args=fs_args, metadata=metadata
        )

    def load(self) -> TrainedClassifier:
        keras = import_keras()  # TensorFlow loads only when a model does
        path = self._get_load_path()
        card = self._read_card(path)
        with tempfile.TemporaryDirectory() as tmp:
            local = self._local_copy(path, Path(tmp))
            try:
                model = keras.saving.load_model(local, safe_mode=True)
            except Exception as error:  # a damaged zip fails anywhere in Keras
                raise DatasetError(
                    f"{self._which(path)} cannot be read ({first_line(error)})."
                ) from error
        version = path.parent.name if self._version else None
        return TrainedClassifier(model=model, card=card, version=version)

    def load_card(self) -> ModelCard:
        """Reads only the card of the version to load: cheap, no TensorFlow."""
        return self._read_card(self._get_load_path())

    def check_file(self) -> None:
        """Checks that the version to load is a whole Keras file: cheap, no TensorFlow.

        Reads the file once: the zip archive must be complete, hold the members of a
        Keras model, and each member must match its checksum (truncated, cut short
        while written, or damaged on disk: all fail here).

        Raises:
            DatasetError: Naming the version, its file and what is wrong with it.
        """
        path = self._get_load_path()
        try:
            with (
                self._fs.open(self._full(path), "rb") as file,
                zipfile.ZipFile(file) as archive,
            ):
                missing = KERAS_MEMBERS - set(archive.namelist())
                damaged = None if missing else archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise DatasetError(
                f"{self._which(path)} is not a complete Keras file ({first_line(error)})"
            ) from error
        if missing or damaged:
            what = f"lacks {', '.join(sorted(missing))}" if missing else "is damaged"
            raise DatasetError(
                f"{self._which(path)} {what}"
                + (f" (member {damaged} fails its checksum)" if damaged else "")
            )

    def save(self, data: TrainedClassifier) -> None:
        keras = import_keras()
        path = self._get_save_path()
        target = self._full(path)
        card = f"{self._made_folder(path)}/{CARD_NAME}"
        with (
            self._removed_if_failed(card + PARTIAL, target + PARTIAL),
            tempfile.TemporaryDirectory() as tmp,
        ):
            local = Path(tmp) / path.name
            data.model.save(local)
            keras.saving.load_model(local, safe_mode=True)  # it reads back, or no save
            self._fs.pipe_file(
                card + PARTIAL, data.card.model_dump_json(indent=2).encode()
            )
            self._fs.put_file(str(local), target + PARTIAL)
            # Renames on a local disk, each all or nothing; a model never lacks its card.
            self._fs.mv(card + PARTIAL, card)
            self._fs.mv(target + PARTIAL, target)

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}

    def _which(self, path: PurePosixPath) -> str:
        version = f" (version {path.parent.name})" if self._version else ""
        return f"The classifier at '{self._full(path)}'{version}"

    def _read_card(self, path: PurePosixPath) -> ModelCard:
        card = self._full(path.parent / CARD_NAME)
        try:
            return ModelCard.model_validate_json(self._fs.cat_file(card))
        except FileNotFoundError as error:
            if not self._fs.exists(self._full(path)):
                raise DatasetError(f"{self._which(path)} does not exist.") from error
            raise DatasetError(
                f"{self._which(path)} has no {CARD_NAME} beside it (saved by an older "
                "version of this project?): train a new one with `kedro run`."
            ) from error
        except ValidationError as error:
            first = field_problem(error.errors()[0], whole="its JSON")
            raise DatasetError(
                f"{self._which(path)} has an invalid {CARD_NAME} ({first[:250]}; "
                f"{error.error_count()} problem(s) in all)."
            ) from error

    def _local_copy(self, path: PurePosixPath, tmp: Path) -> str:
        """The model file's local path: itself on a local disk, else a copy in ``tmp``."""
        remote = self._full(path)
        if self._protocol == "file":
            return remote
        local = tmp / path.name
        self._fs.get_file(remote, str(local))
        return str(local)
