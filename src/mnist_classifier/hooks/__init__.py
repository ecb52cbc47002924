"""Project hooks, one concern a module, registered in ``settings.py``."""

from .model_guard import ModelGuardError, ModelGuardHook
from .registry import ModelRegistryHook
from .tensorflow import TensorFlowSetupHook
from .tracking import ExperimentTrackingHook
from .workers import WorkerServerHook

__all__ = [
    "ExperimentTrackingHook",
    "ModelGuardError",
    "ModelGuardHook",
    "ModelRegistryHook",
    "TensorFlowSetupHook",
    "WorkerServerHook",
]
