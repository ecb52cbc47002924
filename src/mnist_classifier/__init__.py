"""mnist-classifier: a Kedro project that trains a Keras CNN to read handwritten digits."""

import os

__version__ = "0.1.0"

# MLflow reports usage from its import on, unless told not to (it reads DO_NOT_TRACK
# only when it is "true"). Every way into the project imports this package first (the
# `kedro` command through startup.py, sessions through settings.py, the server, the
# scripts, the tests), so MLflow is told here; an explicit setting is left as it is.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
