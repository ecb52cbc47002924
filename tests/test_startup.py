"""A quiet, quick start: commands that neither train nor predict never load TensorFlow."""

from __future__ import annotations

import logging
import os

from mnist_classifier.startup import HarmlessWarnings, quiet_harmless_warnings
from tests.helpers import PROJECT_ROOT, run_python


def test_listing_the_pipelines_does_not_import_tensorflow():
    code = (
        "import sys\n"
        "from kedro.framework.project import configure_project\n"
        "configure_project('mnist_classifier')\n"
        "import mnist_classifier.settings\n"
        "from mnist_classifier.pipeline_registry import register_pipelines\n"
        "assert 'evaluate' in register_pipelines()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'tensorflow', 'keras'})\n"
        "assert not loaded, loaded[:5]\n"
    )
    result = run_python(code, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]


def test_keras_starts_and_trains_without_tensorflow_notices():
    code = (
        "import numpy as np\n"
        "from mnist_classifier.startup import import_keras\n"
        "keras = import_keras()\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
        "model.compile('adam', 'mse')\n"
        "model.fit(np.zeros((8, 4)), np.zeros((8, 2)), verbose=0)\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = run_python(code, env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "oneDNN" not in result.stderr, result.stderr[-2000:]
    assert "cpu_feature_guard" not in result.stderr, result.stderr[-2000:]


def test_threads_starting_keras_at_once_each_get_the_whole_module(tmp_path):
    # A stand-in keras that takes a while to import, as the real one does.
    (tmp_path / "keras").mkdir()
    (tmp_path / "keras" / "__init__.py").write_text(
        "import time\ntime.sleep(1)\nsaving = 'loaded'\n"
    )
    code = (
        "import time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from mnist_classifier.startup import import_keras\n"
        "def start():  # what the module holds when the caller gets it\n"
        "    return getattr(import_keras(), 'saving', 'half')\n"
        "with ThreadPoolExecutor(2) as pool:\n"
        "    first = pool.submit(start)\n"
        "    time.sleep(0.3)  # the second comes while the first is importing\n"
        "    got = [first, pool.submit(start)]\n"
        "print([future.result() for future in got])\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = run_python(code, env=environment)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['loaded', 'loaded']"


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_known_harmless_warnings_leave_the_log_and_others_stay():
    quiet_harmless_warnings()
    quiet_harmless_warnings()  # idempotent: one filter
    log = logging.getLogger("py.warnings")  # where Kedro logs Python's warnings
    assert sum(isinstance(f, HarmlessWarnings) for f in log.filters) == 1
    collect = Collect()
    log.addHandler(collect)
    try:
        log.warning(
            "site.py:187: UserWarning: \x1b[33mAdd type hints to the `predict` method"
        )
        log.warning("omegaconf_config.py:644: register_new_resolver() is deprecated")
        log.warning("nodes.py:1: UserWarning: something that matters")
    finally:
        log.removeHandler(collect)
    assert collect.messages == ["nodes.py:1: UserWarning: something that matters"]


def test_mlflow_telemetry_is_off_wherever_the_project_is_imported(tmp_path):
    """Outside CI and pytest (whose variables MLflow reads too), as a user runs it."""
    code = (
        "import mnist_classifier, mlflow\n"
        "from mlflow.telemetry.client import get_telemetry_client\n"
        "print(get_telemetry_client() is None)"
    )
    run = run_python(code, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert run.stdout.strip() == "True", run.stderr[-2000:]
