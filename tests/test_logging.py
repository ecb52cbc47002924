"""conf/logging.yml, which `kedro run` logs with (the tests use tests/logging.yml)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.helpers import run_python


def test_a_run_logs_to_the_console_and_to_info_log_in_its_folder(project_copy: Path):
    code = (
        "import logging\n"
        "import kedro.framework.project\n"
        "logging.getLogger('mnist_classifier').info('Trained.')\n"
        "logging.getLogger('mnist_classifier').debug('Not kept.')\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "KEDRO_LOGGING_CONFIG"}

    result = run_python(code, cwd=project_copy, env=environment | {"COLUMNS": "200"})

    assert result.returncode == 0, result.stderr[-2000:]
    assert "Trained." in result.stdout + result.stderr  # rich's console handler
    log = (project_copy / "info.log").read_text()
    assert "mnist_classifier - INFO - Trained." in log
    assert "Not kept." not in log  # the package logs at INFO and above
