"""Project settings: https://docs.kedro.org/en/stable/configure/configuration_basics/"""

from mnist_classifier.resolvers import folder_key
from mnist_classifier.startup import quiet_harmless_warnings

quiet_harmless_warnings()  # `kedro` commands did it already; sessions in Python too

from mnist_classifier.hooks import (  # noqa: E402
    ExperimentTrackingHook,
    ModelGuardHook,
    ModelRegistryHook,
    TensorFlowSetupHook,
    WorkerServerHook,
)

# Every `kedro run` is an MLflow run (conf/base/mlflow.yml): kedro-mlflow's hook, fitted
# to this project (see hooks/tracking.py), replaces the one the plugin registers itself.
# Pluggy calls the `tryfirst` hooks first, the one listed last first among them: in
# before_pipeline_run the model guard, then the workers' server, then the others.
HOOKS = (
    TensorFlowSetupHook(),
    # A run that reads a folder has its worker processes' server start at once.
    WorkerServerHook(folder="digit_images"),
    # A pipeline that needs the trained model stops at once if there is none that fits.
    ModelGuardHook(model="classifier"),
    ExperimentTrackingHook(
        # Saved as the catalog says, and also logged to the run's MLflow record.
        figures=[
            "confusion_matrix_plot",
            "training_curves_plot",
            "misclassified_plot",
            "predictions_sheet",
        ],
    ),
    # Each trained model: logged as a pyfunc that reads image files, and registered.
    ModelRegistryHook(model="classifier", metrics="metrics"),
)
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow", "kedro-mlflow")

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (conf/test, conf/accurate) overrides only the nested keys it sets.
    "merge_strategy": {"parameters": "soft"},
    # ${folder_key:<folder>}: where the inference pipeline keeps what it has read of a
    # folder (conf/base/catalog_inference.yml).
    "custom_resolvers": {"folder_key": folder_key},
}
