"""Classifies a folder of people's own digit images, preprocessed to look like MNIST."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
