"""Kedro datasets that kedro-datasets does not provide."""

from .classifier_dataset import ClassifierDataset
from .idx_dataset import IDXDataset

__all__ = ["ClassifierDataset", "IDXDataset"]
