"""The code MLflow runs to load a logged ``DigitReader`` (MLflow's "models from code").

Logging the model by this file rather than a pickled object means loading it executes
this project's code as written, never a pickle.
"""

from mlflow.models import set_model

from mnist_classifier.serving.digit_reader import DigitReader

set_model(DigitReader())
