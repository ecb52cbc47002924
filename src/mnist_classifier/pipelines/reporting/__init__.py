"""Evaluates the trained classifier on the test set and writes the report."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
