"""Kedro datasets that kedro-datasets does not provide."""

from .classifier_dataset import ClassifierDataset
from .idx_dataset import IDXDataset
from .image_file_dataset import ImageFileDataset, NotRegularFileError

__all__ = ["ClassifierDataset", "IDXDataset", "ImageFileDataset", "NotRegularFileError"]
