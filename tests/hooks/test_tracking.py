"""Unit tests of the experiment-tracking hook: the parts of kedro-mlflow it builds on.

The end-to-end behaviour (a run's parameters, metrics, plots and model in the project's
own store) is in tests/test_mlflow.py.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace

import mlflow
from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook

from mnist_classifier.hooks.tracking import ExperimentTrackingHook


def test_kedro_mlflow_still_offers_what_the_hook_builds_on():
    """The hook uses kedro-mlflow's public attribute ``run_id`` (the run it started)
    and reads ``config_loader["mlflow"]`` in ``after_context_created``, where it first
    puts the resolved tracking URI: this fails if a new release changes either."""
    assert MlflowHook().run_id is None  # set when a pipeline's run starts
    source = inspect.getsource(MlflowHook.after_context_created)
    assert 'context.config_loader["mlflow"]' in source


def test_the_hook_tells_the_run_kedro_mlflow_started_from_others(monkeypatch):
    hook = ExperimentTrackingHook()
    hook.run_id = "started-by-kedro-mlflow"
    for active, own in [(None, False), ("someone-elses", False), (hook.run_id, True)]:
        run = (
            None
            if active is None
            else SimpleNamespace(info=SimpleNamespace(run_id=active))
        )
        monkeypatch.setattr(mlflow, "active_run", lambda run=run: run)
        assert hook._own_run_active() is own, active
