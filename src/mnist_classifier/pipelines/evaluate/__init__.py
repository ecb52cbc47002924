"""The evaluate pipeline: re-reports a saved model on the test set, without training."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
