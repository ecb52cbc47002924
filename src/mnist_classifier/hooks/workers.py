"""The inference workers' server, started as a run that reads a folder begins.

A folder of more than a few files is read by worker processes forked from one server,
which imports the preprocessing (NumPy, SciPy, Pillow, this package) before it forks
any. Started here, those imports happen while the catalog lists the folder and loads
the model, not inside the reading node's time.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.io.core import get_protocol_and_path
from kedro.pipeline import Pipeline

from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines.inference.nodes import is_hidden
from mnist_classifier.pipelines.inference.workers import (
    CHUNK,
    pool_size,
    start_worker_server,
)


class WorkerServerHook:
    """Starts the worker server for a run that reads a folder on this machine."""

    def __init__(
        self, folder: str = "digit_images", inference: str = "params:inference"
    ):
        """Names the catalog entries of the folder's files and of the run's
        inference parameters."""
        self.folder = folder
        self.inference = inference

    @hook_impl(tryfirst=True)  # after the model guard, before the others (settings.py)
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Starts it if the run reads the folder here with worker processes: not on
        a Dask cluster (whose own workers read the files), not in one process, not
        for a folder of one chunk of files (read in this process)."""
        if self.folder not in pipeline.inputs():
            return
        inference: InferenceParams = catalog.load(self.inference)  # Kedro validates it
        if inference.cluster or inference.worker_count() < 2:
            return
        protocol, path = get_protocol_and_path(inference.input_dir)
        if protocol == "file":  # a remote folder is not counted here
            folder = Path(run_params.get("project_path") or ".") / path
            # Counted only as far as it decides: a large folder costs no listing.
            files = sum(1 for _ in itertools.islice(_visible_files(folder), CHUNK + 1))
            workers = inference.worker_count()
            if pool_size(files, workers, numbers=inference.expects_numbers) < 2:
                return
        start_worker_server()


def _visible_files(folder: Path) -> Iterator[str]:
    """The folder's files, as the pipeline reads them: hidden ones and those in hidden
    folders left out."""
    for _, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if not is_hidden(name)]
        yield from (name for name in names if not is_hidden(name))
