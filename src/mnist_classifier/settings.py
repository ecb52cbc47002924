"""Project settings: https://docs.kedro.org/en/stable/configure/configuration_basics/"""

from mnist_classifier.hooks import (
    ExperimentTrackingHook,
    TensorFlowThreadsHook,
    TrainedModelHook,
)

# Every `kedro run` is an MLflow run (conf/base/mlflow.yml): kedro-mlflow's hook, fitted
# to this project (see hooks.py), replaces the one the plugin registers by itself.
HOOKS = (
    TensorFlowThreadsHook(inter_op_threads=1),
    # A pipeline that needs the trained model stops at once if there is none yet.
    TrainedModelHook(model="classifier"),
    ExperimentTrackingHook(
        # Saved as the catalog says, and also logged to the run's MLflow record.
        figures=[
            "confusion_matrix_plot",
            "training_curves_plot",
            "misclassified_plot",
            "predictions_sheet",
        ],
        keras_models=["classifier"],
    ),
)
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow", "kedro-mlflow")

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment (conf/test, conf/accurate) overrides only the nested keys it sets.
    "merge_strategy": {"parameters": "soft"},
}
