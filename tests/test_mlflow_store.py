"""Where the project's MLflow store is."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_classifier.mlflow_store import project_sqlite_uri, sqlite_path


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///mlruns/mlflow.db", "sqlite:///{project}/mlruns/mlflow.db"),
        ("sqlite:////srv/mlflow.db", "sqlite:////srv/mlflow.db"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("mlruns", "mlruns"),  # a path: kedro-mlflow resolves it itself
    ],
)
def test_project_sqlite_uri(tmp_path: Path, uri: str, expected: str):
    assert project_sqlite_uri(uri, tmp_path) == expected.format(project=tmp_path)


def test_project_sqlite_uri_creates_the_folder(tmp_path: Path):
    project_sqlite_uri("sqlite:///store/runs/mlflow.db", tmp_path)
    assert (tmp_path / "store" / "runs").is_dir()


def test_sqlite_path(tmp_path: Path):
    assert sqlite_path("sqlite:///mlruns/mlflow.db", tmp_path) == (
        tmp_path.resolve() / "mlruns/mlflow.db"
    )
    assert sqlite_path("sqlite:////srv/mlflow.db", tmp_path) == Path("/srv/mlflow.db")
    assert sqlite_path("http://127.0.0.1:5000", tmp_path) is None
