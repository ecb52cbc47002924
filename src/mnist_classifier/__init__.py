"""mnist-classifier: a Kedro project that trains a Keras CNN to read handwritten digits."""

__version__ = "0.1.0"
