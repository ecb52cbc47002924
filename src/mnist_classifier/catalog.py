"""The project's data catalog outside a run: for scripts and notebooks that read the
project's data (raw MNIST, trained models, reports) as ``kedro run`` sees it.

Scripts use the package and the catalog rather than file paths: a conf environment
that points the catalog elsewhere (conf/test's sample, another dataset) is followed,
and versioned datasets resolve their versions as a run's would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io import CatalogProtocol

from mnist_classifier.pipelines.data_processing.nodes import (
    split_validation_set,
    validate_digits,
)


def open_catalog(
    project: Path, env: str | None = None, **runtime_params: Any
) -> CatalogProtocol:
    """The catalog of the project at ``project``, as ``kedro run --env <env> --params
    <runtime_params>`` would see it.

    Bootstraps the project and opens a Kedro session only to build its context, so the
    configuration is read the way a run reads it: the project's settings (hooks,
    config loader, ``default_run_env``), the environment, and the runtime parameters
    in ``params:<group>`` and ``${runtime_params:...}``. The session's hooks run their
    ``after_context_created`` step as for a run (hooks/tensorflow.py sets TensorFlow's
    variables in ``os.environ``; kedro-mlflow sets up MLflow); nothing is run.

    Args:
        project: The project's root folder (where pyproject.toml is).
        env: The configuration environment; None for ``KEDRO_ENV``, else the
            project's default (``local`` over ``base``), as for ``kedro run``.
        **runtime_params: Parameters as ``kedro run --params`` would give them,
            e.g. ``seed=7`` or ``training={"fit": {"epochs": 1}}``.

    Returns:
        The catalog, its datasets ready to load (and save).
    """
    bootstrap_project(project)
    with KedroSession.create(
        project_path=project, env=env, runtime_params=runtime_params
    ) as session:
        return session.load_context().catalog


def validation_digits(catalog: CatalogProtocol) -> tuple[np.ndarray, np.ndarray]:
    """The training images and labels a run with this catalog's parameters held out
    for validation: the same raw files, node functions and (seeded) parameters as its
    ``data_processing``. A model trained that way never saw them, so they can judge a
    choice made for it without touching the test set."""
    images, labels = validate_digits(
        catalog.load("raw_train_images"),
        catalog.load("raw_train_labels"),
        catalog.load("params:dataset"),  # a DatasetParams: Kedro validates parameters
    )
    _, _, validation_images, validation_labels = split_validation_set(
        images, labels, catalog.load("params:data_processing")
    )
    return validation_images, validation_labels
