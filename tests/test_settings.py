"""The project's settings: the order its hooks run in, what they read."""

from __future__ import annotations

from pathlib import Path

import pluggy
from kedro.framework.hooks.markers import HOOK_NAMESPACE
from kedro.framework.hooks.specs import PipelineSpecs
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from mnist_classifier import settings


def test_the_model_guard_and_then_the_worker_server_run_before_other_hooks():
    """Kedro registers ``HOOKS`` in their order; pluggy calls the ``tryfirst`` ones
    first, the one registered last first among them. So a run without a usable model
    stops before the server starts, and before kedro-mlflow opens a run."""
    manager = pluggy.PluginManager(HOOK_NAMESPACE)
    manager.add_hookspecs(PipelineSpecs)
    for hook in settings.HOOKS:
        manager.register(hook)
    implementations = manager.hook.before_pipeline_run.get_hookimpls()
    called = [type(impl.plugin).__name__ for impl in reversed(implementations)]
    assert called[:2] == ["ModelGuardHook", "WorkerServerHook"]
    assert called.index("ExperimentTrackingHook") > 1


def test_a_bad_parameter_of_another_pipeline_does_not_stop_a_session(
    project_copy: Path,
):
    """The hooks read their own groups: Kedro validates only the run's pipelines'."""
    bootstrap_project(project_copy)
    bad = {"training": {"seed": -1}}
    with KedroSession.create(project_copy, env="test", runtime_params=bad) as session:
        context = session.load_context()  # runs the after_context_created hooks
    assert context.config_loader["parameters"]["training"]["seed"] == -1
