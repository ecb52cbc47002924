"""Load-tests the served model: single-image requests from concurrent clients.

Starts ``python -m mnist_classifier.serving`` (what ``make serve`` runs) on a free
loopback port in its own process group, on the project's champion model, then lets
``--clients`` threads (default 8) each send one realistic digit photo per request
(``mnist_classifier.realistic``: MNIST test digits drawn as photos and scans) for
``--seconds`` (default 30). Reports requests/s, latency percentiles, errors, and the
resident memory of the server and its workers at the start and the end; stops the
server by its group.

    python scripts/bench_serving.py [--clients 8] [--seconds 30] [--images 200]

Writes the figures to a new version of data/08_reporting/serving_benchmark.json/.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from kedro.io.core import Version, generate_timestamp
from kedro_datasets.json import JSONDataset

from mnist_classifier.catalog import open_catalog
from mnist_classifier.realistic import write_realistic_folder

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the server's workers), /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    total = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1]) / 1024
    return total + sum(rss_mb(int(child)) for child in children)


def wait_for(url: str, server: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("the server stopped: run `make serve` to see why")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    sys.exit(f"no answer from {url} in {seconds} s")


def bodies(count: int) -> list[bytes]:
    """Request bodies of one realistic digit photo each, of MNIST test digits."""
    catalog = open_catalog(ROOT)
    digits = catalog.load("raw_test_images")
    labels = catalog.load("raw_test_labels")
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_realistic_folder(digits[:count], labels[:count], Path(tmp), 7)
        files = [(Path(tmp) / name).read_bytes() for name in truth]
    return [
        json.dumps(
            {
                "dataframe_split": {
                    "columns": ["image"],
                    "data": [[base64.b64encode(data).decode()]],
                }
            }
        ).encode()
        for data in files
    ]


def load(port: int, payloads: list[bytes], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(offset: int) -> None:
        # One keep-alive connection per client, as an application's HTTP client has.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        index = offset
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                connection.request(
                    "POST",
                    "/invocations",
                    body=payloads[index % len(payloads)],
                    headers={"Content-Type": "application/json"},
                )
                response = connection.getresponse()
                answer = json.loads(response.read())
                ok = response.status == 200 and len(answer["predictions"]) == 1
            except Exception as error:  # every failure is counted
                ok, answer = False, repr(error)
                connection.close()
            elapsed = time.perf_counter() - start
            with lock:
                (latencies.append(elapsed) if ok else errors.append(str(answer)[:200]))
            index += clients
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if not latencies:
        sys.exit(f"Every one of {len(errors)} requests failed, e.g. {errors[:3]}")
    milliseconds = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 1),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 1),
        "p99_ms": round(float(np.percentile(milliseconds, 99)), 1),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()

    # Opening the catalog runs the project's hooks, which set variables in this process
    # (TF_NUM_INTEROP_THREADS, MLFLOW_TRACKING_URI, ...): the server starts from the
    # environment as it was before, as `make serve` starts it.
    environment = dict(os.environ)
    payloads = bodies(args.images)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mnist_classifier.serving", "--port", str(port)],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,  # its log: warnings only, nothing to read here
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/health", server)
        rss_ready = rss_mb(server.pid)
        warm = load(port, payloads, args.clients, 3)  # the first calls are slower
        rss_start = rss_mb(server.pid)
        figures = load(port, payloads, args.clients, args.seconds)
        rss_end = rss_mb(server.pid)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:  # the workers too, whatever became of their parent
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
    figures |= {
        "clients": args.clients,
        "seconds": args.seconds,
        "warm_up_requests": warm["requests"],
        "rss_ready_mb": round(rss_ready, 1),
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_end, 1),
        "rss_growth_mb": round(rss_end - rss_start, 1),
        "cores": len(os.sched_getaffinity(0)),
    }
    print(json.dumps(figures, indent=2))
    path, version = "data/08_reporting/serving_benchmark.json", generate_timestamp()
    JSONDataset(filepath=str(ROOT / path), version=Version(None, version)).save(figures)
    print(f"Written to {path}/{version}/")  # each run adds a version


if __name__ == "__main__":
    main()
