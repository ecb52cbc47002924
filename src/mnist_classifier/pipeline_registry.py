"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

DEFAULT = ("data_processing", "training", "reporting")


def register_pipelines() -> dict[str, Pipeline]:
    """Registers every pipeline under ``pipelines/``; the default one trains and reports.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    # `kedro run --pipelines NAME` makes Kedro load only the pipelines it names.
    if all(name in pipelines for name in DEFAULT):
        pipelines["__default__"] = sum(
            (pipelines[name] for name in DEFAULT), Pipeline([])
        )
    return pipelines
