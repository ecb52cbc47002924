"""The model registry: one version per training run, and the ``champion`` alias.

A dataset's models are registered as ``<dataset>_classifier`` (``mnist_classifier`` for
MNIST). Each version is tagged with the Kedro run that trained it and its test
accuracy, and a run's model is registered once. ``champion`` moves to a new version only
when its test accuracy is at least the current champion's; serving takes the champion,
or the latest version if there is none.
"""

from __future__ import annotations

import logging
import re

from mlflow import MlflowClient
from mlflow.entities import LoggedModel
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    ErrorCode,
)

from mnist_classifier.messages import first_line

logger = logging.getLogger(__name__)

CHAMPION = "champion"
ACCURACY_TAG = "test_accuracy"
RUN_TAG = "kedro_run_id"
#: What a Kedro run id (a version folder's name) is made of; anything else is not
#: looked up, so that no name can break out of a search's quotes.
_KEDRO_RUN_ID = re.compile(r"[0-9A-Za-z.:_-]+")
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
    if same := client.search_model_versions(
        f"name = '{name}' and tags.{RUN_TAG} = '{kedro_run_id}'"
    ):
        logger.info(
            "The model of Kedro run %s is already %s version %s: not registered again.",
            kedro_run_id,
            name,
            same[0].version,
        )
        return
    if not _exists(client, name):
        client.create_registered_model(name)
    created = client.create_model_version(
        name,
        model_uri,
        tags={RUN_TAG: kedro_run_id, ACCURACY_TAG: repr(float(test_accuracy))},
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


def register_logged(
    client: MlflowClient,
    name: str,
    experiment_id: str,
    *,
    kedro_run_id: str,
    model_name: str,
    test_accuracy: float,
) -> None:
    """Registers the model that Kedro run ``kedro_run_id`` logged to the experiment as
    ``model_name``, found by that run's MLflow run: a run that trained, evaluated by
    another (``register``'s rules apply). Says why if there is none to register.
    """
    if not _KEDRO_RUN_ID.fullmatch(kedro_run_id):
        logger.warning(
            "Nothing registered: classifier version '%s' is not a Kedro run id, so the "
            "run that trained it cannot be looked up.",
            kedro_run_id,
        )
        return
    try:
        found = logged_model(client, experiment_id, kedro_run_id, model_name)
    except MlflowException as error:
        logger.warning(
            "Nothing registered: looking up the model Kedro run %s logged failed: %s",
            kedro_run_id,
            first_line(error),
        )
        return
    if found is None:
        logger.info(
            "Nothing registered: Kedro run %s, which trained the classifier evaluated, "
            "logged no model to this experiment (was its tracking off?).",
            kedro_run_id,
        )
        return
    register(
        client,
        name,
        found.model_uri,
        kedro_run_id=kedro_run_id,
        test_accuracy=test_accuracy,
    )


def logged_model(
    client: MlflowClient, experiment_id: str, kedro_run_id: str, model_name: str
) -> LoggedModel | None:
    """The model ``model_name`` that Kedro run ``kedro_run_id`` logged to the
    experiment, if it logged one: kedro-mlflow tags each MLflow run with its Kedro
    run's parameters, the run's id (``run_id``) among them (tests/test_mlflow.py holds
    it to that, and to the id being the version of what the run saves)."""
    for run in client.search_runs(
        [experiment_id], filter_string=f"tags.run_id = '{kedro_run_id}'"
    ):
        if found := client.search_logged_models(
            [experiment_id],
            filter_string=f"source_run_id = '{run.info.run_id}' "
            f"AND name = '{model_name}'",
        ):
            return found[0]
    return None


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
