"""The model registry: every training run logs its model as a pyfunc and registers it.

When a run saves the classifier, the whole inference path is logged to the run's MLflow
record as a ``DigitReader`` (serving/digit_reader.py). When test metrics are saved, the
model they measure is registered as a new version of ``<dataset>_classifier`` and the
``champion`` alias moves to it if it is at least as accurate (serving/registry.py): the
model the same run trained, or the version of the classifier the run read, whose
training run logged it (the tasks of the Airflow DAG, ``evaluate`` after a run that only
trained; a classifier's version is the id of the Kedro run that saved it). A model is
registered once; runs without MLflow tracking neither log nor register.
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
from mnist_classifier.serving.registry import (
    register,
    register_logged,
    registered_name,
)

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
        # The version (None: not versioned) and dataset of the classifier a run reads.
        self.loaded: tuple[str | None, str] | None = None

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Keeps the inference settings (pixel limit, ...) the served model will use.

        Read from the configuration, not ``context.params``, which would validate
        every pipeline's parameters, not only this run's and these.
        """
        parameters = context.config_loader["parameters"]
        self.inference = InferenceParams.model_validate(parameters["inference"])

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Starts with nothing logged or read: one model per run, registered once."""
        self.run_params, self.logged, self.loaded = run_params, None, None

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Node) -> None:
        """Notes the saved classifier the run reads: its metrics are that model's."""
        if dataset_name == self.model and isinstance(data, TrainedClassifier):
            self.loaded = (data.version, data.card.dataset)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        """Logs the classifier when it is saved; registers it when its metrics are."""
        if mlflow.active_run() is None:  # tracking is off for this pipeline
            return
        if dataset_name == self.model and isinstance(data, TrainedClassifier):
            info = log_digit_reader(data, self.inference, self.name)
            self.logged = (info, data.card.dataset)
            logger.info("Logged the model to MLflow as %s.", info.model_uri)
        elif dataset_name == self.metrics and isinstance(data, Evaluation):
            self._register(data)

    def _register(self, metrics: Evaluation) -> None:
        """Registers the model the metrics measure: the one this run logged, unless the
        run read another version of the classifier (``--load-versions``, ``evaluate``),
        which the run that trained it logged."""
        run_id = str(self.run_params["run_id"])
        client = mlflow.MlflowClient()
        version = self.loaded[0] if self.loaded else None
        if self.logged is not None and version in (None, run_id):
            info, dataset = self.logged
            register(
                client,
                registered_name(dataset),
                info.model_uri,
                kedro_run_id=run_id,
                test_accuracy=metrics.test_accuracy,
            )
        elif self.loaded is None:
            return
        elif version is None:
            logger.info(
                "Nothing registered: the classifier evaluated is not versioned, so the "
                "run that trained it is not known."
            )
        else:
            if self.logged is not None:
                logger.warning(
                    "The metrics are those of classifier version %s, which this run "
                    "read; the model it trained is logged but not registered.",
                    version,
                )
            register_logged(
                client,
                registered_name(self.loaded[1]),
                mlflow.active_run().info.experiment_id,
                kedro_run_id=version,
                model_name=self.name,
                test_accuracy=metrics.test_accuracy,
            )
        self.logged = None
