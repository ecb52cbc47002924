"""Where the project's MLflow store is: a relative ``sqlite:///`` URI means the project's.

conf/base/mlflow.yml names ``sqlite:///mlruns/mlflow.db`` (an environment may name
another); the experiment-tracking hook and the model server both read it from the
files ``MLFLOW_CONFIG`` matches and resolve it against the project root here.
"""

from __future__ import annotations

from pathlib import Path

_SQLITE = "sqlite:///"

#: The files of a conf environment that hold kedro-mlflow's configuration.
MLFLOW_CONFIG = ["mlflow*", "mlflow*/**", "**/mlflow*"]


def project_sqlite_uri(uri: str, project_path: str | Path) -> str:
    """Makes a relative ``sqlite:///`` URI absolute, under the project root.

    Any other URI (absolute SQLite, a path, a server) is returned unchanged.
    """
    database = sqlite_path(uri, project_path)
    if database is None or Path(uri.removeprefix(_SQLITE)).is_absolute():
        return uri
    database.parent.mkdir(parents=True, exist_ok=True)  # SQLite creates no folders
    return f"{_SQLITE}{database}"


def sqlite_path(uri: str, project_path: str | Path) -> Path | None:
    """The database file of a ``sqlite:///`` URI (relative: in the project), else None."""
    if not uri.startswith(_SQLITE):
        return None
    return Path(project_path).resolve() / uri.removeprefix(_SQLITE)
