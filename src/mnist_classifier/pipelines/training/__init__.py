"""Builds the convolutional network from parameters and trains it."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
