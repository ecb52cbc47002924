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
- the figures it is given by name are logged to the run (as ``plots/<name>.png``)
  when the pipeline saves them. Their catalog entries stay plain versioned datasets:
  kedro-mlflow's ``MlflowArtifactDataset`` cannot wrap a versioned dataset under Kedro
  1.x, whose catalog requires one save version for all datasets, and it would lose
  ``--load-versions``. (The model is logged by hooks/registry.py.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import mlflow
from kedro.config import MissingConfigException
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook
from pydantic import BaseModel

from mnist_classifier.mlflow_store import MLFLOW_CONFIG, project_sqlite_uri

logger = logging.getLogger(__name__)


class ExperimentTrackingHook(MlflowHook):
    """kedro-mlflow's hook with a project-local store, readable parameters and figures."""

    def __init__(self, figures: Iterable[str] = ()) -> None:
        """Names the figures to log to MLflow (besides saving them) when saved.

        Args:
            figures: Datasets holding a matplotlib figure, logged as ``plots/<name>.png``.
        """
        super().__init__()
        self.figures = frozenset(figures)

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Resolves a relative SQLite store against the project root, then sets up MLflow."""
        loader = context.config_loader
        loader.config_patterns.setdefault("mlflow", MLFLOW_CONFIG)
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
        """Starts the pipeline's MLflow run, or takes the caller's active one.

        Raises:
            RuntimeError: If the caller's run is a nested one: kedro-mlflow reopens
                the run before each node (conf/base/mlflow.yml), which MLflow refuses
                while a parent is active, and the first node would fail.
        """
        active = mlflow.active_run()
        parent = mlflow.get_parent_run(active.info.run_id) if active else None
        if parent is not None:
            raise RuntimeError(
                f"This Kedro run would log to the active MLflow run "
                f"{active.info.run_id}, which is nested in {parent.info.run_id}: "
                "kedro-mlflow cannot reopen a nested run. Run it inside the parent "
                "run, or with no active run."
            )
        super().before_pipeline_run(
            run_params=run_params, pipeline=pipeline, catalog=catalog
        )

    def _own_run_active(self) -> bool:
        run = mlflow.active_run()
        return run is not None and run.info.run_id == self.run_id

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        """Logs a saved figure to the pipeline's MLflow run as well."""
        if dataset_name in self.figures and self._own_run_active():
            mlflow.log_figure(data, f"plots/{dataset_name}.png")
