"""Validates the raw digits, splits off a validation set and makes the model's inputs."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
