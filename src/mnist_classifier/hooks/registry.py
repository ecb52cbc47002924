"""The model registry: every training run logs its model as a pyfunc and registers it.

When a run saves the classifier, the whole inference path is logged to the run's MLflow
record as a ``DigitReader`` (serving/digit_reader.py), tagged with the Kedro run. When
its test metrics are saved, that model is registered as a new version of
``<dataset>_classifier`` and the ``champion`` alias moves to it if it is at least as
accurate (serving/registry.py): by the same run, or, where training and evaluating are
runs of their own (the tasks of the Airflow DAG, ``evaluate`` after a run that only
trained), by the run that evaluates it, which finds the model its training run logged.
A model is registered once; runs without MLflow tracking neither log nor register.
"""

from __future__ import annotations

import logging
from typing import Any

import mlflow
from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node
from mlflow.models.model import ModelInfo

from mnist_classifier.classifier import Evaluation, TrainedClassifier
from mnist_classifier.params import InferenceParams
from mnist_classifier.serving.digit_reader import log_digit_reader
from mnist_classifier.serving.registry import logged_model, register, registered_name

logger = logging.getLogger(__name__)


class ModelRegistryHook:
    """Logs each trained classifier as a pyfunc model and registers it with its accuracy."""

    def __init__(
        self, model: str = "classifier", metrics: str = "metrics", name: str = "model"
    ) -> None:
        """Names the catalog entries to watch, and the logged model's name in the run."""
        self.model, self.metrics, self.name = model, metrics, name
        self.inference: InferenceParams | None = None
        self.run_params: dict[str, Any] = {}
        self.logged: tuple[ModelInfo, str] | None = None  # model and its dataset
        # The version and dataset of the saved classifier a run reads.
        self.loaded: tuple[str, str] | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Keeps the inference settings (pixel limit, ...) the served model will use."""
        self.inference = InferenceParams.model_validate(context.params["inference"])

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Starts with nothing logged or read: one model per run, registered once."""
        self.run_params, self.logged, self.loaded = run_params, None, None

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Node) -> None:
        """Notes the saved classifier the run reads: its metrics are that model's."""
        if (
            dataset_name == self.model
            and isinstance(data, TrainedClassifier)
            and data.version is not None  # not versioned: no run to trace it to
        ):
            self.loaded = (data.version, data.card.dataset)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        """Logs the classifier when it is saved; registers it when its metrics are."""
        if mlflow.active_run() is None:  # tracking is off for this pipeline
            return
        if dataset_name == self.model and isinstance(data, TrainedClassifier):
            info = log_digit_reader(
                data, self.inference, self.name, str(self.run_params["run_id"])
            )
            self.logged = (info, data.card.dataset)
            logger.info("Logged the model to MLflow as %s.", info.model_uri)
        elif dataset_name == self.metrics and isinstance(data, Evaluation):
            self._register(data)

    def _register(self, metrics: Evaluation) -> None:
        """Registers the model this run logged, else the one logged by the run that
        trained the classifier this run read (its version is that run's id)."""
        if self.logged is not None:
            (info, dataset), trained_by = self.logged, str(self.run_params["run_id"])
            uri = info.model_uri
        elif self.loaded is not None:
            trained_by, dataset = self.loaded
            experiment = mlflow.active_run().info.experiment_id
            found = logged_model(mlflow.MlflowClient(), experiment, trained_by)
            if found is None:
                logger.info(
                    "Nothing registered: no model of this experiment was logged by "
                    "the run that trained classifier version %s.",
                    trained_by,
                )
                return
            uri = found.model_uri
        else:
            return
        register(
            mlflow.MlflowClient(),
            registered_name(dataset),
            uri,
            kedro_run_id=trained_by,
            test_accuracy=metrics.test_accuracy,
        )
        self.logged = None
