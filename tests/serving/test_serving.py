"""End to end: trained runs register versions, and the served champion answers as the
batch pipeline does. Everything happens in a temporary copy of the project; the server
runs in its own process group on a free loopback port and is stopped by that group.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io.core import Version
from kedro_datasets.partitions import PartitionedDataset
from mlflow import MlflowClient
from uvicorn.config import STARTUP_FAILURE

import mnist_classifier.serving.__main__ as serving_main
from mnist_classifier.catalog import open_catalog
from mnist_classifier.datasets import ClassifierDataset, ImageFileDataset
from mnist_classifier.mlflow_store import project_sqlite_uri
from mnist_classifier.params import InferenceParams
from mnist_classifier.realistic import write_realistic_folder
from mnist_classifier.serving.registry import CHAMPION, serving_uri
from tests.helpers import PROJECT_ROOT, copy_project, kedro_run, load_sample
from tests.servers import free_port

from ..pipelines.inference.helpers import png_header, read_folder
from .helpers import serving, stopped_by_itself

MAX_REQUEST_BYTES = 3_000_000


def registry(project: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")


def test_each_training_run_registers_a_version_and_champion_needs_accuracy(
    project_copy: Path, caplog
):
    caplog.set_level("INFO", logger="mnist_classifier")
    first = kedro_run(project_copy)
    worse = kedro_run(project_copy, training={"fit": {"epochs": 1}})
    same = kedro_run(project_copy)  # as accurate as the first: at least, so it moves

    client = registry(project_copy)
    versions = sorted(
        client.search_model_versions("name = 'mnist_sample_classifier'"),
        key=lambda version: int(version.version),
    )
    assert [version.tags["kedro_run_id"] for version in versions] == [
        first,
        worse,
        same,
    ]
    accuracy = [float(version.tags["test_accuracy"]) for version in versions]
    assert accuracy[1] < accuracy[0] == accuracy[2]
    for version in versions:  # each one is the model its run logged
        assert (
            client.get_run(version.run_id).data.tags["run_id"]
            == (version.tags["kedro_run_id"])
        )
    champion = client.get_model_version_by_alias("mnist_sample_classifier", CHAMPION)
    assert str(champion.version) == "3"
    messages = [record.getMessage() for record in caplog.records]
    assert any(
        "version 2; 'champion' not moved" in message and "stays champion" in message
        for message in messages
    ), messages
    assert (
        serving_uri(client, "mnist_sample_classifier")
        == "models:/mnist_sample_classifier@champion"
    )


def test_a_model_trained_in_one_run_is_registered_once_by_the_run_that_evaluates_it(
    project_copy: Path, caplog
):
    """As the Airflow DAG's tasks do: one run trains and saves the model, another
    computes its metrics."""
    caplog.set_level("INFO", logger="mnist_classifier")
    client = registry(project_copy)
    trained = kedro_run(project_copy, to_nodes=["package_classifier"])
    assert not (project_copy / "data/08_reporting/mnist_sample/metrics.json").exists()
    assert client.search_model_versions("name = 'mnist_sample_classifier'") == []

    kedro_run(project_copy, pipelines=["evaluate"])
    kedro_run(project_copy, pipelines=["evaluate"])  # its metrics saved again

    (version,) = client.search_model_versions("name = 'mnist_sample_classifier'")
    assert version.tags["kedro_run_id"] == trained
    assert client.get_run(version.run_id).data.tags["run_id"] == trained
    champion = client.get_model_version_by_alias("mnist_sample_classifier", CHAMPION)
    assert champion.version == version.version
    assert f"The model of Kedro run {trained} is already" in caplog.text


def refused(project: Path, *options: str, **environment: str) -> str:
    """The one line ``python -m mnist_classifier.serving`` stops with (status 1)."""
    status, stderr = stopped_by_itself(project, *options, **environment)
    assert status == 1
    (line,) = stderr.strip().splitlines()
    return line


def test_serving_without_a_model_is_one_clear_line(project_copy: Path):
    line = refused(project_copy)
    assert "no model" in line and "make run" in line
    assert not (project_copy / "mlruns").exists()  # and no empty store made


def test_serving_from_a_folder_of_the_project_looks_in_the_projects_store(
    project_copy: Path,
):
    line = refused(project_copy / "conf")
    assert f"No MLflow store at {project_copy.resolve() / 'mlruns'}" in line


def test_a_tracking_server_that_does_not_answer_is_one_clear_line(
    project_copy: Path,
):
    closed = f"http://127.0.0.1:{free_port()}"
    line = refused(
        project_copy, "--tracking-uri", closed, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"
    )
    assert line.startswith(f"Cannot serve: the MLflow store {closed}: ")


def request(url: str, payload: dict | bytes) -> tuple[int, dict]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    call = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(call, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def split(files: list[bytes]) -> dict:
    rows = [[base64.b64encode(data).decode()] for data in files]
    return {"dataframe_split": {"columns": ["image"], "data": rows}}


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """A project copy with a trained model and batch predictions, and its server."""
    project = copy_project(tmp_path_factory.mktemp("served"))
    shutil.copytree(
        PROJECT_ROOT / "data/01_raw/custom_digits", project / "photos/custom_digits"
    )
    images, labels = (load_sample("t10k", kind) for kind in ["images", "labels"])
    write_realistic_folder(images[:40], labels[:40], project / "photos/realistic", 3)
    (project / "photos/broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    cwd = Path.cwd()
    os.chdir(project)
    try:
        kedro_run(project)
        kedro_run(project, pipelines=["inference"], input_dir="photos")
    finally:
        os.chdir(cwd)
    with serving(
        project, "--dataset", "mnist_sample", MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES)
    ) as url:
        yield project, url


def test_the_served_model_answers_as_the_batch_pipeline(served):
    project, url = served
    (csv,) = (project / "data/07_model_output/mnist_sample/predictions.csv").glob(
        "*/*.csv"
    )
    batch = pd.read_csv(csv).set_index("image")
    names = list(batch.index)
    files = [(project / "photos" / name).read_bytes() for name in names]

    status, answer = request(f"{url}/invocations", split(files))

    assert status == 200
    served_rows = pd.DataFrame(answer["predictions"], index=names)
    assert len(served_rows) == len(names) > 50
    assert served_rows["status"].tolist() == batch["status"].tolist()
    assert batch.loc["broken.png", "status"] != "ok"
    ok = batch["status"] == "ok"
    assert served_rows.loc[ok, "prediction"].astype(int).tolist() == (
        batch.loc[ok, "prediction"].astype(int).tolist()
    )
    columns = [f"p{k}" for k in range(10)]
    # predictions.csv keeps six decimals: within 1e-5 of it.
    np.testing.assert_allclose(
        served_rows.loc[ok, columns].to_numpy(dtype=float),
        batch.loc[ok, columns].to_numpy(dtype=float),
        atol=1e-5,
    )
    # The pipeline's node itself, in this process: the same numbers within 1e-5.
    loaders = PartitionedDataset(
        path=str(project / "photos"), dataset=ImageFileDataset
    ).load()
    classifier = ClassifierDataset(
        filepath=str(project / "data/06_models/mnist_sample/classifier.keras"),
        version=Version(None, None),
    ).load()
    node = read_folder(
        loaders, classifier, InferenceParams(input_dir="photos", workers=1)
    )
    node = node.set_index("image").loc[names]
    np.testing.assert_allclose(
        served_rows.loc[ok, columns].to_numpy(dtype=float),
        node.loc[ok, columns].to_numpy(dtype=float),
        atol=1e-5,
    )
    # One image per request gives the same answers as all at once.
    for name, data in list(zip(names, files))[:5]:
        status, single = request(f"{url}/invocations", split([data]))
        (record,) = single["predictions"]
        assert status == 200 and record["status"] == served_rows.loc[name, "status"]
        if record["status"] == "ok":
            assert record["p0"] == pytest.approx(served_rows.loc[name, "p0"], abs=1e-5)


def test_bad_requests_get_4xx_and_the_server_stays_up(served):
    _, url = served
    assert request(f"{url}/invocations", b"not json")[0] == 400
    status, answer = request(
        f"{url}/invocations",
        {"dataframe_split": {"columns": ["picture"], "data": [["aGk="]]}},
    )
    assert status == 400 and "no column 'image'" in answer["error"]
    status, answer = request(f"{url}/invocations", split([b"x" * MAX_REQUEST_BYTES]))
    assert status == 413 and "over the limit" in answer["error"]
    # 144 megapixels declared: refused before a pixel is decoded, as in the pipeline.
    status, answer = request(f"{url}/invocations", split([png_header(12_000, 12_000)]))
    assert status == 200 and answer["predictions"][0]["status"] == "too large"
    with urllib.request.urlopen(f"{url}/ping", timeout=5) as response:
        assert response.status == 200


@pytest.mark.parametrize(
    "model_uri",
    ["models:/mnist_sample_classifier/99", "models:/mnist_sample_classifier@typo"],
)
def test_a_model_that_is_not_there_is_one_clear_line(served, model_uri):
    project, _ = served
    line = refused(project, "--model-uri", model_uri)
    assert line.startswith(f"Cannot serve {model_uri}: ")


def test_only_a_models_uri_is_read_for_an_alias(tmp_path, monkeypatch):
    class NoRegistry:
        def __init__(self, *args, **kwargs):
            raise AssertionError("a path was looked up as a registered model")

    checked = []
    monkeypatch.setattr(serving_main.mlflow, "MlflowClient", NoRegistry)
    monkeypatch.setattr(serving_main.mlflow.models, "get_model_info", checked.append)
    path = str(tmp_path / "exports@2026-12" / "model")
    assert serving_main._version(path) == path
    assert checked == [path]


def test_a_model_path_is_served_without_a_store(project_copy, tmp_path, monkeypatch):
    """``--model-uri <folder>`` (an exported model) needs no MLflow store: the copy of
    the project has none, and the folder is served."""
    for name in (serving_main._MODEL, serving_main._LIMIT, "MLFLOW_TRACKING_URI"):
        monkeypatch.setenv(name, "")  # main sets them for its workers; undone after
    checked, started = [], []
    monkeypatch.setattr(serving_main.mlflow.models, "get_model_info", checked.append)
    monkeypatch.setattr(
        serving_main, "serve", lambda config: started.append(config) or 0
    )
    path = str(tmp_path / "exported" / "model")

    assert serving_main.main(["--model-uri", path, "--workers", "1"]) == 0

    assert checked == [path] and os.environ[serving_main._MODEL] == path
    assert started[0].workers == 1 and started[0].host == "127.0.0.1"
    assert not (project_copy / "mlruns").exists()


@pytest.mark.parametrize("variable", ["PORT", "WORKERS", "MAX_REQUEST_BYTES"])
def test_a_bad_setting_in_the_environment_is_refused_by_name(
    variable, monkeypatch, capsys
):
    monkeypatch.setenv(variable, "lots")
    with pytest.raises(SystemExit) as stopped:
        serving_main.arguments([])
    assert stopped.value.code == 2  # argparse's usage error, not a traceback
    option = "--" + variable.lower().replace("_", "-")
    assert f"argument {option}: invalid int value: 'lots'" in capsys.readouterr().err


def test_a_worker_that_cannot_load_its_model_stops_the_server(tmp_path, monkeypatch):
    # uvicorn restarts a worker that fails, forever, unless it exits with 3.
    monkeypatch.setenv(serving_main._MODEL, str(tmp_path / "no-model"))
    monkeypatch.setenv(serving_main._LIMIT, "1000")
    with pytest.raises(SystemExit) as stopped:
        serving_main.app_from_environment()
    assert stopped.value.code == STARTUP_FAILURE


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_model_no_worker_can_load_stops_the_server_with_status_3(tmp_path, workers):
    """Of several workers, uvicorn.run would stop them all but exit 0 (``serve``)."""
    model = tmp_path / "keras-only"  # an MLflow model, but no python_function flavor
    model.mkdir()
    (model / "MLmodel").write_text(
        "flavors:\n  keras:\n    keras_version: 3.15.1\n"
        "model_uuid: 0123456789abcdef\n"
        "utc_time_created: '2026-12-05 00:00:00.000000'\n"
    )
    status, stderr = stopped_by_itself(
        tmp_path, "--model-uri", str(model), "--workers", workers
    )
    assert status == STARTUP_FAILURE
    assert f'Cannot serve {model}: Model does not have the "python_function"' in stderr


def test_serving_looks_in_the_store_and_for_the_dataset_a_run_would_use(
    project_copy: Path, monkeypatch
):
    """The store and dataset of the run's environment (conf/local here, as for
    ``kedro run``): the same store the experiment-tracking hook sets for a run."""
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    assert serving_main.configured(project_copy) == (
        "sqlite:///mlruns/mlflow.db",
        "mnist",
    )
    local = project_copy / "conf/local"
    local.mkdir(exist_ok=True)
    (local / "mlflow.yml").write_text(
        "server:\n  mlflow_tracking_uri: sqlite:///shared/runs.db\n"
    )
    (local / "globals.yml").write_text("dataset: fashion_mnist\n")
    store, dataset = serving_main.configured(project_copy)
    assert (store, dataset) == ("sqlite:///shared/runs.db", "fashion_mnist")

    open_catalog(project_copy)  # the context a run builds: its hooks set the store
    assert mlflow.get_tracking_uri() == project_sqlite_uri(store, project_copy)

    monkeypatch.setenv("KEDRO_ENV", "test")  # another environment: its own
    assert serving_main.configured(project_copy) == (
        "sqlite:///mlruns/mlflow.db",
        "mnist_sample",
    )
    line = refused(project_copy, KEDRO_ENV="fashon")  # one it does not have
    assert line == (
        f"Cannot serve: KEDRO_ENV is 'fashon', but {project_copy.name} has no "
        "conf/fashon: unset it, or name one of its environments."
    )
