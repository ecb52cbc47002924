"""A quiet start: no known-harmless warnings, no TensorFlow start-up notices.

``quiet_harmless_warnings`` runs first in every ``kedro`` command (it is this package's
``kedro.init`` entry point in pyproject.toml, which Kedro calls before it loads any
plugin) and in every session (``settings.py``). ``import_keras`` is how the project
starts Keras, and TensorFlow under it, when a node first needs them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import warnings
from collections.abc import Iterator
from types import ModuleType

#: Warnings that say nothing to this project's users, by a part of their message.
HARMLESS_WARNINGS = (
    # kedro-mlflow 2.0.3 defines a pyfunc model without the type hints MLflow 3 asks for
    # (MLflow shows it with a filter of its own, so no warnings filter can hide it).
    "Add type hints to the `predict` method",
    # Kedro 1.7 registers its resolvers with an API omegaconf 2.4 deprecates.
    "register_new_resolver() is deprecated",
)


class HarmlessWarnings(logging.Filter):
    """Drops the warnings in ``HARMLESS_WARNINGS`` from the log; every other one shows.

    A filter on the log rather than a warnings filter: MLflow shows its warning under
    a ``simplefilter("once")`` of its own, which overrides every filter set before.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(harmless in message for harmless in HARMLESS_WARNINGS)


def quiet_harmless_warnings() -> None:
    """Puts ``HarmlessWarnings`` on the ``py.warnings`` logger, where Kedro logs warnings.

    conf/logging.yml leaves that logger out, so Kedro's logging set-up keeps the filter.
    """
    log = logging.getLogger("py.warnings")
    if not any(isinstance(existing, HarmlessWarnings) for existing in log.filters):
        log.addFilter(HarmlessWarnings())


@contextlib.contextmanager
def harmless_warnings_ignored() -> Iterator[None]:
    """Ignores the warnings in ``HARMLESS_WARNINGS`` raised inside, where no logging
    set-up filters them (the model server reading the project's configuration)."""
    with warnings.catch_warnings():
        for harmless in HARMLESS_WARNINGS:
            warnings.filterwarnings("ignore", message=".*" + re.escape(harmless))
        yield


#: Held while Keras imports: a second thread waits for the whole module.
_KERAS_IMPORT = threading.Lock()


def import_keras() -> ModuleType:
    """Imports Keras with TensorFlow's C++ start-up notices hidden, and returns it.

    TensorFlow's core writes "oneDNN custom operations are on" and absl's "All log
    messages before absl::InitializeLog()" straight to file descriptor 2 while it
    loads, whatever ``TF_CPP_MIN_LOG_LEVEL`` says; only the import is silenced, and an
    import that fails still raises its error (a crash of the C++ code itself, though,
    would end the process without its message: ``python -c "import keras"`` shows it).
    Threads that call it at once (a ``ThreadRunner``'s nodes) wait for the first one's
    import, and get the whole module.
    """
    with _KERAS_IMPORT:
        if "keras" not in sys.modules:
            os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # later C++ INFO lines
            with _stderr_to_devnull():
                import keras  # noqa: PLC0415
    import keras  # noqa: PLC0415

    return keras


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
