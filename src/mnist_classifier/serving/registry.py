"""The model registry: one version per training run, and the ``champion`` alias.

A dataset's models are registered as ``<dataset>_classifier`` (``mnist_classifier`` for
MNIST). Each version is tagged with the Kedro run that trained it and its test
accuracy, and a run's model is registered once. ``champion`` moves to a new version only
when its test accuracy is at least the current champion's; serving takes the champion,
or the latest version if there is none.
"""

from __future__ import annotations

import logging

from mlflow import MlflowClient
from mlflow.entities import LoggedModel
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)

logger = logging.getLogger(__name__)

CHAMPION = "champion"
ACCURACY_TAG = "test_accuracy"
RUN_TAG = "kedro_run_id"
#: What the registry answers for a model name, or an alias, it does not have.
_NO_SUCH_NAME = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)
_NO_SUCH_ALIAS = ErrorCode.Name(INVALID_PARAMETER_VALUE)


class NoModelError(LookupError):
    """There is no registered model to serve; the message says what to do."""


def registered_name(dataset: str) -> str:
    """The registry name of a dataset's classifier: ``mnist`` -> ``mnist_classifier``."""
    return f"{dataset}_classifier"


def register(
    client: MlflowClient,
    name: str,
    model_uri: str,
    *,
    kedro_run_id: str,
    test_accuracy: float,
) -> None:
    """Registers the model as a new version and moves ``champion`` if it is as good.

    A model that Kedro run ``kedro_run_id`` trained and that is registered already (its
    test metrics saved again by a later run) stays the version it is.
    """
    if not _exists(client, name):
        client.create_registered_model(name)
    elif same := client.search_model_versions(
        f"name = '{name}' and tags.{RUN_TAG} = '{kedro_run_id}'"
    ):
        logger.info(
            "The model of Kedro run %s is already %s version %s: not registered again.",
            kedro_run_id,
            name,
            same[0].version,
        )
        return
    created = client.create_model_version(
        name,
        model_uri,
        tags={RUN_TAG: kedro_run_id, ACCURACY_TAG: f"{test_accuracy:.6f}"},
    )
    champion = champion_version(client, name)
    if champion is None or test_accuracy >= _accuracy(champion):
        client.set_registered_model_alias(name, CHAMPION, created.version)
        reason = (
            "the first version"
            if champion is None
            else f"{test_accuracy:.4%} >= version {champion.version}'s "
            f"{_accuracy(champion):.4%}"
        )
        promoted = True
    else:
        reason = (
            f"{test_accuracy:.4%} < version {champion.version}'s "
            f"{_accuracy(champion):.4%}, which stays champion"
        )
        promoted = False
    logger.info(
        "Registered %s version %s; %s: %s.",
        name,
        created.version,
        f"'{CHAMPION}' now" if promoted else f"'{CHAMPION}' not moved",
        reason,
    )


def logged_model(
    client: MlflowClient, experiment_id: str, kedro_run_id: str
) -> LoggedModel | None:
    """The model Kedro run ``kedro_run_id`` logged to the experiment (the logged model
    tagged with that run), if it logged one."""
    found = client.search_logged_models(
        [experiment_id], filter_string=f"tags.{RUN_TAG} = '{kedro_run_id}'"
    )
    return found[0] if found else None


def champion_version(client: MlflowClient, name: str) -> ModelVersion | None:
    """The version the ``champion`` alias points at, if any.

    Raises:
        MlflowException: If the registry fails (e.g. its database is locked): that is
            not "no champion", which would let a worse model take the alias.
    """
    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as error:
        if error.error_code in (_NO_SUCH_NAME, _NO_SUCH_ALIAS):
            return None
        raise


def serving_uri(client: MlflowClient, name: str) -> str:
    """``models:/<name>@champion``, else the latest version's URI.

    Raises:
        NoModelError: if nothing is registered under ``name``.
    """
    if champion_version(client, name) is not None:
        return f"models:/{name}@{CHAMPION}"
    versions = client.search_model_versions(f"name = '{name}'")  # [] if none
    if not versions:
        raise NoModelError(
            f"No model '{name}' in the registry at {client.tracking_uri}: train one "
            "with `make run` (or `kedro run`) first."
        )
    latest = max(versions, key=lambda version: int(version.version))
    return f"models:/{name}/{latest.version}"


def _exists(client: MlflowClient, name: str) -> bool:
    try:
        client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code == _NO_SUCH_NAME:
            return False
        raise
    return True


def _accuracy(version: ModelVersion) -> float:
    return float(version.tags.get(ACCURACY_TAG, "-inf"))
