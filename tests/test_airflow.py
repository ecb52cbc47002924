"""The training pipeline as an Airflow DAG, run by Airflow itself.

`kedro airflow create` (kedro-airflow, with airflow/dag_template.j2, as `make
airflow-dags` calls it) writes the DAG of a project copy's ``__default__`` pipeline
in the test environment; `airflow dags test`, from Airflow's own virtualenv
(.venv-airflow, `make airflow`), runs every task, each a `kedro run` of the copy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.helpers import PROJECT_ROOT, copy_project
from tests.servers import run_to_end

pytestmark = pytest.mark.airflow

AIRFLOW = PROJECT_ROOT / ".venv-airflow" / "bin" / "airflow"


def run(command: list[str], cwd: Path, environment: dict[str, str]) -> str:
    """Runs ``command`` to its end in its own process group; its output, or a failure."""
    status, output, _ = run_to_end(
        command,
        600,
        cwd=cwd,
        env={**os.environ, **environment},
        stderr=subprocess.STDOUT,
    )
    assert status == 0, f"{command} failed:\n{output[-4000:]}"
    return output


def test_the_training_dag_runs_every_task_under_airflow(tmp_path):
    if not AIRFLOW.exists():  # as the browser tests: required in CI, skipped elsewhere
        message = "no .venv-airflow: run `make airflow` (`make test` does) first"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    project = copy_project(tmp_path)
    dags = tmp_path / "dags"
    kedro = Path(sys.executable).parent / "kedro"
    run(
        [
            *(str(kedro), "airflow", "create", "--env", "test"),
            *("--pipelines", "__default__", "--group-by", "memory"),
            *("--jinja-file", str(PROJECT_ROOT / "airflow" / "dag_template.j2")),
            *("--target-dir", str(dags)),
            *("--params", f"kedro={kedro},project_path={project}"),
        ],
        project,
        {},
    )
    airflow = {
        "AIRFLOW_HOME": str(tmp_path / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "SCARF_ANALYTICS": "false",  # Airflow's usage data, off
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    }

    run([str(AIRFLOW), "db", "migrate"], project, airflow)
    output = run(
        [str(AIRFLOW), "dags", "test", "mnist-classifier-test-default"],
        project,
        airflow,
    )

    ended = [line for line in output.splitlines() if "[DAG TEST] end task" in line]
    assert len(ended) == 3  # training, evaluating, plotting the confusion matrix
    assert "DagRun Finished" in output and "state=failed" not in output
    reports = project / "data/08_reporting/mnist_sample"
    (model,) = (project / "data/06_models/mnist_sample/classifier.keras").iterdir()
    assert (model / "classifier.keras").is_file()
    (metrics,) = reports.glob("metrics.json/*/metrics.json")
    assert json.loads(metrics.read_text())["test_accuracy"] > 0.3  # 10 classes
    assert len(list(reports.glob("confusion_matrix.png/*/confusion_matrix.png"))) == 1
    # Registered by the task that saved the metrics: the model the training task logged.
    client = MlflowClient(f"sqlite:///{project / 'mlruns' / 'mlflow.db'}")
    (version,) = client.search_model_versions("name = 'mnist_sample_classifier'")
    assert version.tags["kedro_run_id"] == model.name
    champion = client.get_model_version_by_alias("mnist_sample_classifier", "champion")
    assert champion.version == version.version
