"""Project hooks, registered in ``settings.py``.

``ExperimentTrackingHook`` is kedro-mlflow's hook fitted to this project, registered in
place of the one the plugin registers by itself. It keeps everything kedro-mlflow does
(one MLflow run per ``kedro run``, its parameters, the ``Mlflow*Dataset`` entries of
the catalog) and adds:

- a relative ``sqlite:///`` tracking URI in ``conf/*/mlflow.yml`` is resolved against
  the project root, as kedro-mlflow already does for plain paths, so ``kedro run``, the
  notebook (whose working directory is ``notebooks/``) and the tests (in a temporary
  copy of the project) each write to the store of the project they run in;
- parameter groups that reach the nodes as Pydantic models are logged as their fields,
  so ``flatten: true`` gives ``training.fit.epochs`` rather than one long string;
- the figures and Keras models it is given by name are logged to the run (as
  ``plots/<name>.png`` and as ``mlflow.keras`` models) when the pipeline saves them.
  Their catalog entries stay plain versioned datasets: kedro-mlflow's
  ``MlflowArtifactDataset`` cannot wrap a versioned dataset under Kedro 1.x, whose
  catalog requires one save version for all datasets, and it would lose
  ``--load-versions``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import mlflow
import numpy as np
from kedro.config import MissingConfigException
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
from mlflow.models import ModelSignature
from mlflow.types import Schema, TensorSpec
from pydantic import BaseModel

if TYPE_CHECKING:  # Keras (and TensorFlow) load only when a model is logged
    import keras

logger = logging.getLogger(__name__)

_SQLITE = "sqlite:///"
# What a logged Keras model needs to be loaded again; pinned to what trained it.
# Listing them spares MLflow a slow requirements inference (a subprocess importing
# TensorFlow) on every run.
_MODEL_REQUIREMENTS = ("keras", "tensorflow-cpu", "numpy")


class ExperimentTrackingHook(MlflowHook):
    """kedro-mlflow's hook with a project-local store, readable parameters and models."""

    def __init__(
        self, figures: Iterable[str] = (), keras_models: Iterable[str] = ()
    ) -> None:
        """Names the datasets to log to MLflow (besides saving them) when saved.

        Args:
            figures: Datasets holding a matplotlib figure, logged as ``plots/<name>.png``.
            keras_models: Datasets holding a Keras model, logged as an MLflow model.
        """
        super().__init__()
        self.figures = frozenset(figures)
        self.keras_models = frozenset(keras_models)

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Resolves a relative SQLite store against the project root, then sets up MLflow."""
        loader = context.config_loader
        loader.config_patterns.setdefault(
            "mlflow", ["mlflow*", "mlflow*/**", "**/mlflow*"]
        )
        try:
            config = dict(loader["mlflow"])
        except MissingConfigException:
            config = {}
        server = dict(config.get("server") or {})
        uri = server.get("mlflow_tracking_uri")
        if uri:
            server["mlflow_tracking_uri"] = project_sqlite_uri(
                uri, context.project_path
            )
            loader["mlflow"] = {**config, "server": server}
        super().after_context_created(context)

    @hook_impl
    def before_node_run(
        self,
        node: Node,
        catalog: CatalogProtocol,
        inputs: dict[str, Any],
        is_async: bool,
    ) -> None:
        """Logs the node's parameters, Pydantic models as their (flattened) fields."""
        plain = {
            name: value.model_dump(mode="json")
            if isinstance(value, BaseModel)
            else value
            for name, value in inputs.items()
        }
        super().before_node_run(
            node=node, catalog=catalog, inputs=plain, is_async=is_async
        )

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Ends the pipeline's MLflow run, however many times the nodes reopened it.

        kedro-mlflow reopens the run before every node; MLflow 3 stacks each reopening,
        so its single ``end_run`` would leave the run active, and the next session in
        the same process (a notebook, the tests) would log into it.
        """
        super().after_pipeline_run(
            run_params=run_params, pipeline=pipeline, catalog=catalog
        )
        if self._is_mlflow_enabled and not self._already_active_mlflow:
            while (run := mlflow.active_run()) and run.info.run_id == self.run_id:
                mlflow.end_run()

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        """Logs a saved figure or Keras model to the active MLflow run as well."""
        if not self._is_mlflow_enabled or mlflow.active_run() is None:
            return
        if dataset_name in self.figures:
            mlflow.log_figure(data, f"plots/{dataset_name}.png")
        elif dataset_name in self.keras_models:
            # Imported here: mlflow.keras loads Keras and TensorFlow.
            from mlflow.keras import log_model  # noqa: PLC0415

            model_info = log_model(
                data,
                name=dataset_name,
                signature=keras_signature(data),
                pip_requirements=[
                    f"{package}=={version(package)}" for package in _MODEL_REQUIREMENTS
                ],
            )
            logger.info(
                "Logged '%s' to MLflow as %s.", dataset_name, model_info.model_uri
            )


def project_sqlite_uri(uri: str, project_path: str | Path) -> str:
    """Makes a relative ``sqlite:///`` URI absolute, under the project root.

    Any other URI (absolute SQLite, a path, a server) is returned unchanged.
    """
    database = uri.removeprefix(_SQLITE)
    if not uri.startswith(_SQLITE) or Path(database).is_absolute():
        return uri
    path = Path(project_path).resolve() / database
    path.parent.mkdir(parents=True, exist_ok=True)  # SQLite creates no folders
    return f"{_SQLITE}{path}"


def keras_signature(model: keras.Model) -> ModelSignature:
    """Describes a Keras model's input and output tensors for MLflow."""

    def spec(shape: tuple[int | None, ...]) -> Schema:
        return Schema([TensorSpec(np.dtype("float32"), (-1, *shape[1:]))])

    return ModelSignature(
        inputs=spec(model.input_shape), outputs=spec(model.output_shape)
    )


class MissingModelError(click.ClickException):
    """A run needs the trained model and there is none; the CLI prints just the message."""


class TensorFlowThreadsHook:
    """Sizes TensorFlow's thread pools for a small CPU before any node runs.

    With one inter-op thread, TensorFlow runs the ops of a training step one after
    another, each on every core, instead of several at once fighting over two cores:
    measured faster here (see README, "Benchmark"). A ``TF_NUM_INTEROP_THREADS`` already
    in the environment wins.
    """

    def __init__(self, inter_op_threads: int = 1) -> None:
        """Sets how many ops TensorFlow may run side by side."""
        self.inter_op_threads = inter_op_threads

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Sets the variable TensorFlow reads when it starts, before any node runs."""
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(self.inter_op_threads))


class TrainedModelHook:
    """Stops a run that needs the trained model before one exists, saying what to do.

    Without it, the node that loads the model fails deep in the catalog with "Did not
    find any versions for TensorFlowModelDataset(...)". ``kedro run --pipelines
    inference`` (or ``reporting``) on a fresh clone is where that happens.
    """

    def __init__(self, model: str = "classifier") -> None:
        """Names the catalog entry of the trained model."""
        self.model = model

    @hook_impl(tryfirst=True)  # before kedro-mlflow opens a run it would leave open
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Raises ``MissingModelError`` before any node runs if the model to load is missing."""
        if self.model not in pipeline.inputs() or catalog.exists(self.model):
            return
        version = (run_params.get("load_versions") or {}).get(self.model)
        if version:
            raise MissingModelError(
                f"There is no version {version} of the trained model '{self.model}': "
                "pass one that exists to --load-versions, or leave it out for the latest."
            )
        raise MissingModelError(
            f"No trained model yet: run `kedro run` first to train '{self.model}', "
            "then run this pipeline again."
        )
