"""Helpers the serving tests import: the server, started and stopped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.servers import free_port, left_running, stop_group, wait_until_up

SERVER = (sys.executable, "-m", "mnist_classifier.serving")


def server_environment() -> dict[str, str]:
    """This environment without the store that MLflow exports after set_tracking_uri,
    so that the server uses the project's own, as `make serve` does."""
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


@contextlib.contextmanager
def serving(project: Path, *options: str, **environment: str) -> Iterator[str]:
    """Runs ``python -m mnist_classifier.serving *options`` in ``project`` on a free
    loopback port, in its own process group; yields its URL, then stops the group."""
    port, log = free_port(), project / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [*SERVER, "--host", "127.0.0.1", "--port", str(port), *options],
            cwd=project,
            env={**server_environment(), **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one below
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", server, log.read_text)
        yield url
    finally:
        stop_group(server)
    assert left_running(server.pid) == []  # not one of its processes is left


def stopped_by_itself(
    project: Path, *options: str, seconds: float = 120, **environment: str
) -> tuple[int, str]:
    """Runs ``python -m mnist_classifier.serving *options``, expected to stop by itself
    (a refusal, a failed start), as ``serving`` runs it; its exit status and stderr.
    Its process group is stopped whatever happens."""
    server = subprocess.Popen(
        [*SERVER, "--host", "127.0.0.1", "--port", str(free_port()), *options],
        cwd=project,
        env={**server_environment(), **environment},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, stderr = server.communicate(timeout=seconds)
    finally:
        stop_group(server)
    assert left_running(server.pid) == []
    return server.returncode, stderr
