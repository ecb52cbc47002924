"""Servers in tests: a free loopback port, waiting until one answers, stopping its group.

Each server starts in its own process group (``start_new_session=True``), and the whole
group is stopped: its workers too, so nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest


def free_port() -> int:
    """A free loopback port below 49152 (kedro-viz refuses the ephemeral range)."""
    for port in random.sample(range(20_000, 49_000), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port")


def wait_until_up(
    url: str, server: subprocess.Popen, output: Callable[[], str], seconds: float = 120
) -> None:
    """Waits for ``url`` to answer 200; fails with the server's output if it cannot."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited:\n{output()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"no answer at {url} in {seconds} s:\n{output()[-3000:]}")


def stop_group(server: subprocess.Popen, seconds: float = 20) -> None:
    """Stops a server's whole process group: SIGTERM, then SIGKILL for what is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=seconds)
    finally:  # a worker may outlive its parent's SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def left_running(group: int, seconds: float = 10) -> list[int]:
    """The processes of a stopped group still alive after ``seconds`` (none, we hope):
    a process killed a moment ago can take a little while to be gone."""
    deadline = time.monotonic() + seconds
    while (members := running_in_group(group)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return members


def running_in_group(group: int) -> list[int]:
    """The live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = proc_stat(stat.parent.name)
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def proc_stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the process's name: its state (R, S, Z...),
    parent, process group, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def run_to_end(command: list[str], timeout: float, **options) -> tuple[int, str, str]:
    """Runs ``command`` to its end in a process group of its own, and checks that none
    of its processes outlives it (before its group is stopped, whatever happens).

    Returns:
        Its exit status, standard output and standard error (``None`` if
        ``options`` send it to standard output).
    """
    process = subprocess.Popen(
        command,
        **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **options},
        text=True,
        start_new_session=True,
    )
    try:
        output, errors = process.communicate(timeout=timeout)
        left = left_running(process.pid)
    finally:
        stop_group(process)
    assert left == [], f"{command} left processes running:\n{(output or '')[-3000:]}"
    return process.returncode, output, errors
