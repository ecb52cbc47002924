"""Experiment tracking: kedro-mlflow's hook fitted to this project.

``ExperimentTrackingHook`` is registered in ``settings.py`` in place of the one the
plugin registers by itself. It keeps everything kedro-mlflow does
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
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from mnist_classifier.classifier import TrainedClassifier

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
            keras_models: Datasets holding a ``TrainedClassifier``, whose Keras model
                is logged as an MLflow model.
        """
        super().__init__()
        self.outer_run: mlflow.ActiveRun | None = None
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
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Notes any MLflow run already active (a caller's: it stays open), then starts."""
        self.outer_run = mlflow.active_run()
        super().before_pipeline_run(
            run_params=run_params, pipeline=pipeline, catalog=catalog
        )

    @hook_impl
    def after_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Ends the pipeline's MLflow run, however many times the nodes reopened it.

        kedro-mlflow reopens the run before every node; MLflow 3 stacks each reopening,
        so its single ``end_run`` would leave the run active, and the next session in
        the same process (a notebook, the tests) would log into it. ``run_id`` is the
        plugin's public record of the run it started.
        """
        super().after_pipeline_run(
            run_params=run_params, pipeline=pipeline, catalog=catalog
        )
        if self.outer_run is not None:
            return  # the caller's run: the caller ends it
        while self._own_run_active():
            mlflow.end_run()

    def _own_run_active(self) -> bool:
        run = mlflow.active_run()
        return run is not None and run.info.run_id == self.run_id

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        """Logs a saved figure or Keras model to the pipeline's MLflow run as well."""
        if not self._own_run_active():  # tracking is off for this pipeline
            return
        if dataset_name in self.figures:
            mlflow.log_figure(data, f"plots/{dataset_name}.png")
        elif dataset_name in self.keras_models:
            # Imported here: mlflow.keras loads Keras and TensorFlow.
            from mlflow.keras import log_model  # noqa: PLC0415

            model = data.model if isinstance(data, TrainedClassifier) else data
            model_info = log_model(
                model,
                name=dataset_name,
                signature=keras_signature(model),
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

    def spec(dtype: str, shape: tuple[int | None, ...]) -> Schema:
        return Schema([TensorSpec(np.dtype(dtype), (-1, *shape[1:]))])

    return ModelSignature(
        inputs=spec(model.inputs[0].dtype, model.input_shape),
        outputs=spec("float32", model.output_shape),
    )
