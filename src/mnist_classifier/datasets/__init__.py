"""Kedro datasets that kedro-datasets does not provide."""

from .idx_dataset import IDXDataset

__all__ = ["IDXDataset"]
