"""``python -m mnist_classifier.serving`` (``make serve``): the champion model over HTTP.

Serves ``models:/<dataset>_classifier@champion`` (the latest version when no version is
champion) from the project's MLflow store on 127.0.0.1 (``--host``), port ``PORT``
(default 5001), with the API of serving/app.py, in one worker process per core
(``WORKERS``), each with its own copy of the model. With no registered model it stops
with one line (status 1); a worker that cannot load the model stops it with status 3.

``--page`` (``make app``, port ``APP_PORT``, default 7860) adds the page for people of
serving/page.py at ``/``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import sys
from pathlib import Path

import mlflow
import uvicorn
from fastapi import FastAPI
from kedro.config import MissingConfigException, OmegaConfigLoader
from kedro.utils import find_kedro_project
from mlflow.exceptions import MlflowException
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from mnist_classifier.messages import first_line
from mnist_classifier.mlflow_store import MLFLOW_CONFIG, sqlite_path
from mnist_classifier.params import available_cores
from mnist_classifier.serving.app import create_app
from mnist_classifier.serving.page import add_page
from mnist_classifier.serving.registry import NoModelError, registered_name, serving_uri
from mnist_classifier.startup import harmless_warnings_ignored, quiet_harmless_warnings

logger = logging.getLogger("mnist_classifier.serving")

# What main() hands to the worker processes, which import this module afresh.
_MODEL, _LIMIT = "MNIST_CLASSIFIER_MODEL_URI", "MNIST_CLASSIFIER_MAX_REQUEST_BYTES"
_PAGE = "MNIST_CLASSIFIER_PAGE"

#: The store and dataset where the project's configuration names none.
DEFAULT_STORE, DEFAULT_DATASET = "sqlite:///mlruns/mlflow.db", "mnist"
#: Model URIs that MLflow resolves through the tracking store (a path or a cloud URL
#: is read as it is, with no store).
STORE_SCHEMES = ("models:/", "runs:/", "mlflow-artifacts:")


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mnist_classifier.serving")
    parser.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default: local)"
    )
    # Defaults from the environment stay strings: argparse converts them as it does the
    # options, so a bad PORT is refused by name rather than with a traceback.
    parser.add_argument("--port", type=int, default=os.environ.get("PORT", "5001"))
    parser.add_argument(
        "--dataset",
        help="serves <dataset>_classifier (default: the one globals.yml names)",
    )
    parser.add_argument("--model-uri", help="another model, e.g. models:/NAME/3")
    parser.add_argument(
        "--page",
        action="store_true",
        help="also serve the page to draw or drop digits on, at /",
    )
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI"),
        help="the MLflow store (default: the one `kedro run` logs to, mlflow.yml's)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=os.environ.get("WORKERS", "0"),
        help="server processes, each with the model (default: one per core)",
    )
    parser.add_argument(
        "--max-request-bytes",
        type=int,
        default=os.environ.get("MAX_REQUEST_BYTES", str(16 * 2**20)),
        help="larger request bodies get 413 (default 16 MiB)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    quiet_harmless_warnings()
    project = find_kedro_project(Path.cwd()) or Path.cwd()
    try:
        store, dataset = configured(project)
        store = args.tracking_uri or store
        uri = args.model_uri
        if uri is None or uri.startswith(STORE_SCHEMES):  # a path needs no store
            client = _client(store, project)
            uri = uri or serving_uri(client, registered_name(args.dataset or dataset))
    except (NoModelError, ValueError) as error:  # one line on stderr, exit status 1
        raise SystemExit(f"Cannot serve: {error}") from None
    except MlflowException as error:  # a tracking server that does not answer, say
        raise SystemExit(
            f"Cannot serve: the MLflow store {store}: {first_line(error)}"
        ) from None
    try:
        version = _version(uri)
    except (MlflowException, OSError) as error:
        raise SystemExit(f"Cannot serve {uri}: {first_line(error)}") from None
    os.environ.update(
        {
            _MODEL: version,
            _LIMIT: str(args.max_request_bytes),
            _PAGE: "1" if args.page else "",
            "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri(),
        }
    )
    workers = args.workers or available_cores()
    logger.info(
        "Serving %s (%s) on http://%s:%d with %d worker(s)",
        uri,
        version,
        args.host,
        args.port,
        workers,
    )
    if args.page:
        logger.info("Open http://%s:%d in a browser", args.host, args.port)
    config = uvicorn.Config(
        "mnist_classifier.serving.__main__:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        log_level="warning",
    )
    return serve(config)


def serve(config: uvicorn.Config) -> int:
    """Runs the server until it is stopped: 0, or 3 if a worker could not load the
    model.

    What ``uvicorn.run`` does, but for its status: of several workers, one that cannot
    start stops them all, yet ``uvicorn.run`` returns normally (it checks the start of
    a single worker only), so a supervisor would take the failure for success. Here the
    supervisor ``uvicorn.run`` uses, ``uvicorn.supervisors.Multiprocess``, runs
    directly and its workers' exit codes are read after; a test pins this.
    """
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops it, as uvicorn.run
        if config.workers == 1:  # in this process; a failed start raises SystemExit(3)
            uvicorn.Server(config).run()
            return 0
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
        if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
            return STARTUP_FAILURE
    return 0


def app_from_environment() -> FastAPI:
    """The API on the model ``main`` chose; each worker process loads its own copy."""
    quiet_harmless_warnings()
    uri, limit = os.environ[_MODEL], int(os.environ[_LIMIT])
    try:
        reader = mlflow.pyfunc.load_model(uri).unwrap_python_model()
        reader.warm_up()
    except Exception as error:  # uvicorn restarts a worker that fails, unless with 3
        logger.error("Cannot serve %s: %s", uri, first_line(error))
        sys.exit(STARTUP_FAILURE)
    # The logged model's own predict: the API has already checked what MLflow's
    # signature enforcement would (one column of bytes), so it is not done twice.
    app = create_app(functools.partial(reader.predict, None), limit, description=uri)
    if os.environ.get(_PAGE):
        add_page(app, reader, uri, limit)
    return app


def _version(uri: str) -> str:
    """The alias resolved to its version, so that every worker loads the same one.

    Raises:
        MlflowException: If the alias, or the model the URI names, is not there.
    """
    if uri.startswith("models:/") and "@" in uri:  # models:/<name>@<alias>
        name, _, alias = uri.removeprefix("models:/").partition("@")
        version = mlflow.MlflowClient().get_model_version_by_alias(name, alias).version
        uri = f"models:/{name}/{version}"
    mlflow.models.get_model_info(uri)  # its MLmodel file: the model is there
    return uri


def configured(project: Path) -> tuple[str, str]:
    """The MLflow store and the dataset that ``kedro run`` in ``project`` uses:
    mlflow.yml's ``server.mlflow_tracking_uri`` and globals.yml's ``dataset``, from
    conf/base overridden by the run's environment (``KEDRO_ENV``, else ``local``).

    Raises:
        ValueError: If ``KEDRO_ENV`` names an environment the project does not have.
    """
    conf, env = project / "conf", os.environ.get("KEDRO_ENV")
    if not (conf / "base").is_dir():  # not in a Kedro project: the defaults
        return DEFAULT_STORE, DEFAULT_DATASET
    if env and not (conf / env).is_dir():
        raise ValueError(
            f"KEDRO_ENV is '{env}', but {project.name} has no conf/{env}: unset it, "
            "or name one of its environments."
        )
    found = {}
    with harmless_warnings_ignored():  # Kedro's, as it registers its resolvers
        loader = OmegaConfigLoader(
            conf_source=str(conf),
            env=env or ("local" if (conf / "local").is_dir() else "base"),
            base_env="base",
            config_patterns={"mlflow": MLFLOW_CONFIG},
        )
        for name in ("mlflow", "globals"):
            with contextlib.suppress(MissingConfigException):
                found[name] = loader[name]
    server = found.get("mlflow", {}).get("server") or {}
    return (
        server.get("mlflow_tracking_uri") or DEFAULT_STORE,
        found.get("globals", {}).get("dataset") or DEFAULT_DATASET,
    )


def _client(tracking_uri: str, project: Path) -> mlflow.MlflowClient:
    """The store's client; a missing SQLite store is no model, and is not created.

    A relative SQLite store is the project's, from whichever of its folders this runs,
    as the experiment-tracking hook resolves it.
    """
    database = sqlite_path(tracking_uri, project)
    if database is not None:
        if not database.exists():
            raise NoModelError(
                f"No MLflow store at {database}, so no model: train one with "
                "`make run` (or `kedro run`) first."
            )
        tracking_uri = f"sqlite:///{database}"
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.MlflowClient()


if __name__ == "__main__":
    sys.exit(main())
