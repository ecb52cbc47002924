"""Kedro datasets that kedro-datasets does not provide."""

from .atomic_dataset import AtomicDataset
from .classifier_dataset import ClassifierDataset
from .file_stamp_dataset import FileStampDataset
from .idx_dataset import IDXDataset
from .image_file_dataset import (
    FileTooLargeError,
    ImageFileDataset,
    NotRegularFileError,
)
from .record_dataset import RecordDataset

__all__ = [
    "AtomicDataset",
    "ClassifierDataset",
    "FileStampDataset",
    "FileTooLargeError",
    "IDXDataset",
    "ImageFileDataset",
    "NotRegularFileError",
    "RecordDataset",
]
