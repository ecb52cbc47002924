"""The model guard: a run that reads the trained classifier gets a usable, fitting one.

Checked before any node runs, so a missing model, a version that does not exist, one
that is damaged (truncated by a full disk, say) or a model trained on other classes
stops the run with one line saying what to do, rather than a traceback from deep in
the catalog or, worse, answers in the wrong classes.
"""

from __future__ import annotations

from typing import Any

import click
from kedro.framework.hooks import hook_impl
from kedro.io import CatalogProtocol, DatasetError
from kedro.pipeline import Pipeline

from mnist_classifier.datasets import ClassifierDataset
from mnist_classifier.params import DatasetParams


class ModelGuardError(click.ClickException):
    """The run cannot use the model; the CLI prints just the message."""


class ModelGuardHook:
    """Checks the classifier a pipeline loads: it exists, is intact and reads the run's
    classes."""

    def __init__(self, model: str = "classifier", dataset: str = "params:dataset"):
        """Names the catalog entries of the trained model and of the dataset's params."""
        self.model = model
        self.dataset = dataset

    @hook_impl(tryfirst=True)  # before kedro-mlflow opens a run it would leave open
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline, catalog: CatalogProtocol
    ) -> None:
        """Raises ``ModelGuardError`` if the model to load is missing or does not fit."""
        if self.model not in pipeline.inputs():
            return
        version = (run_params.get("load_versions") or {}).get(self.model)
        if not catalog.exists(self.model):
            raise ModelGuardError(
                f"There is no version {version} of the trained model '{self.model}': "
                "pass one that exists to --load-versions, or leave it out for the latest."
                if version
                else f"No trained model yet: run `kedro run` first to train "
                f"'{self.model}', then run this pipeline again."
            )
        self._check_classes(catalog)

    def _check_classes(self, catalog: CatalogProtocol) -> None:
        dataset = catalog.get(self.model)
        try:
            card = dataset.load_card()
            dataset.check_file()
        except DatasetError as error:
            reason = str(error).rstrip(".")
            raise ModelGuardError(f"{reason}. {self._advice(dataset)}") from error
        expected = DatasetParams.model_validate(catalog.load(self.dataset))
        if card.class_names != expected.class_names:
            version = dataset.resolve_load_version()
            which = f" (version {version})" if version else ""
            another = (
                f"Pass --load-versions {self.model}:<version> of a model trained on "
                "those classes, or train one"
                if version
                else "Train one"
            )
            raise ModelGuardError(
                f"The model '{self.model}'{which} was trained on '{card.dataset}' with "
                f"classes {', '.join(card.class_names)}; this run expects "
                f"'{expected.name}' with classes {', '.join(expected.class_names)}. "
                f"{another} (`kedro run` in this configuration)."
            )

    def _advice(self, dataset: ClassifierDataset) -> str:
        """What to do about an unusable version: another version, or a new model."""
        current = dataset.resolve_load_version()
        others = [v for v in dataset.list_versions(full_path=False) if v != current]
        other = (
            f"pass --load-versions {self.model}:{others[0]} (the newest other version) "
            "or "
            if others
            else ""
        )
        return f"To go on, {other}train a new model with `kedro run`."
