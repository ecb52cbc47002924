"""Schemas of the parameter groups in ``conf/base/parameters_*.yml``.

Nodes type their ``params:<group>`` input with these models, so Kedro validates every
group before the first node runs and a bad value stops the run with a message that
names the parameter and the allowed range.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    field_validator,
    model_validator,
)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity, not the machine's total)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


#: Up to this many cores, the choices measured on a 2-core machine are the defaults.
SMALL_MACHINE_CORES = 2
#: NumPy's and TensorFlow's seeds are unsigned 32-bit numbers.
LARGEST_SEED = 2**32 - 1


class DatasetParams(_Params):
    """Which dataset this is (its name keeps its models and reports apart from other
    datasets'), its class names (label i is ``class_names[i]``) and image size."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    class_names: list[str] = Field(min_length=2)
    image_shape: tuple[PositiveInt, PositiveInt] = (28, 28)

    @field_validator("class_names")
    @classmethod
    def _names_tell_classes_apart(cls, names: list[str]) -> list[str]:
        """Each class has a row of its own in the classification report and the
        confusion matrix, next to the report's rows of averages."""
        taken = {"", "accuracy", "macro avg", "weighted avg"}
        clashes = sorted({n for n in names if n.strip() in taken or names.count(n) > 1})
        if clashes:
            raise ValueError(
                f"class names {clashes} are repeated, empty or a name the report "
                f"gives its own rows ({sorted(taken - {''})}): give each class a name "
                "of its own."
            )
        return names


class SplitParams(_Params):
    """How the validation set is split off the training set."""

    # 0 trains on every image: no validation set, so training.fit's
    # early_stopping_patience must be 0 (training says so if it is not).
    validation_fraction: float = Field(ge=0, lt=1)
    seed: int = Field(ge=0, le=LARGEST_SEED)


class AugmentationParams(_Params):
    """Random distortions applied to training images only; 0 turns one off."""

    translation: float = Field(0.0, ge=0, lt=0.5)
    rotation: float = Field(0.0, ge=0, lt=0.5)
    zoom: float = Field(0.0, ge=0, lt=0.5)


class ArchitectureParams(_Params):
    """Convolutional blocks (one per ``conv_filters`` entry), then an optional dense layer."""

    # Border pixels dropped on every side before the first conv: less work per image.
    crop: NonNegativeInt = 0
    conv_filters: list[PositiveInt] = Field(min_length=1, max_length=4)
    convs_per_block: PositiveInt = 1
    kernel_size: PositiveInt = 3
    batch_norm: bool = True
    dense_units: NonNegativeInt = 0
    dropout: float = Field(0.0, ge=0, lt=1)
    augmentation: AugmentationParams = AugmentationParams()


class OptimizerParams(_Params):
    """Optimizer and its peak learning rate."""

    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    learning_rate: PositiveFloat = Field(1e-3, le=1)
    weight_decay: NonNegativeFloat = 0.0


class ScheduleParams(_Params):
    """Learning-rate schedule: ``onecycle`` warms up then anneals, ``cosine`` anneals."""

    name: Literal["constant", "cosine", "onecycle"] = "onecycle"
    warmup_fraction: float = Field(0.2, ge=0, lt=1)


class FitParams(_Params):
    """Batch size, epochs, early stopping (patience 0 turns it off), input pipeline."""

    batch_size: PositiveInt = 128
    epochs: PositiveInt = Field(10, le=1000)
    early_stopping_patience: NonNegativeInt = 3
    # tf.data's autotuner; None: off on small machines (it stalled epochs on 2 cores).
    autotune: bool | None = None

    def autotune_enabled(self, cores: int | None = None) -> bool:
        """``autotune``, or by default whether there are more than 2 cores."""
        if self.autotune is not None:
            return self.autotune
        return (cores or available_cores()) > SMALL_MACHINE_CORES


class TensorFlowParams(_Params):
    """TensorFlow's thread pools, set before TensorFlow starts."""

    # Ops run side by side; None: 1 on small machines, else TensorFlow's own default.
    inter_op_threads: PositiveInt | None = None

    def inter_op_threads_for(self, cores: int | None = None) -> int | None:
        """The setting to apply; None leaves TensorFlow's default."""
        if self.inter_op_threads is not None:
            return self.inter_op_threads
        return 1 if (cores or available_cores()) <= SMALL_MACHINE_CORES else None


class TrainingParams(_Params):
    """Everything the training pipeline needs to build, compile and fit the network.

    The defaults of these schemas are neutral settings (no crop, no dropout, Adam's own
    learning rate), not the project's recipe: that is conf/base/parameters_training.yml
    (and conf/accurate's). In Python, take it from the catalog,
    ``catalog.load("params:training")``, rather than from the defaults.
    """

    seed: int = Field(ge=0, le=LARGEST_SEED)
    architecture: ArchitectureParams
    optimizer: OptimizerParams = OptimizerParams()
    schedule: ScheduleParams = ScheduleParams()
    fit: FitParams = FitParams()
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    # Networks trained with seeds seed, seed+1, ... and averaged into one model.
    ensemble_size: PositiveInt = Field(1, le=10)

    @model_validator(mode="after")
    def _every_member_has_a_seed(self) -> TrainingParams:
        """The last network's seed, ``seed + ensemble_size - 1``, is a seed too: a
        run must not stop with a bad seed after its first networks have trained."""
        if self.seed + self.ensemble_size - 1 > LARGEST_SEED:
            raise ValueError(
                f"seed {self.seed} with ensemble_size {self.ensemble_size} gives the "
                f"last network seed {self.seed + self.ensemble_size - 1}, above "
                f"{LARGEST_SEED}: choose a smaller seed."
            )
        return self


class ReportingParams(_Params):
    """How many misclassified test images the report shows."""

    misclassified_examples: PositiveInt = 25


class _WithWorkers(_Params):
    # Worker processes; None: one per core.
    workers: PositiveInt | None = Field(None, le=64)

    def worker_count(self, cores: int | None = None) -> int:
        """``workers``, or by default one process per core (``cores``, or this
        process's)."""
        return self.workers or cores or available_cores()


class ClusterParams(_WithWorkers):
    """A Dask cluster that reads and classifies the folder's files: a running one, or
    one started on this machine for the run (``kedro run --env distributed``); its
    ``workers`` are the local cluster's."""

    # A running scheduler, e.g. tcp://10.0.0.5:8786; None starts a local cluster.
    address: str | None = Field(None, min_length=1)
    # Seconds that scheduler may have no worker before the run stops; None waits as
    # long as it takes (a cluster that adds workers only once tasks are queued).
    worker_wait: PositiveFloat | None = Field(30.0, le=3600)


#: What an image holds: decided per image (``auto``), always one digit, or a number.
Layout = Literal["auto", "digit", "number"]


class InferenceParams(_WithWorkers):
    """Which folder to classify, the pixel limit, batching and the contact sheet; its
    ``workers`` are the processes that prepare the images."""

    input_dir: str = Field(min_length=1)
    max_pixels: PositiveInt = Field(50_000_000, le=500_000_000)
    # Seconds one file may take to read and prepare; then its status is "timed out".
    time_limit: PositiveFloat | None = Field(30.0, le=3600)
    batch_size: PositiveInt = Field(256, le=8192)
    low_confidence: float = Field(0.8, ge=0, le=1)
    # What an image holds: one digit, a number (digits side by side), or auto: a
    # number only where it clearly is one.
    layout: Layout = "digit"
    sheet_images: PositiveInt = Field(60, le=1000)
    # Read every file again, not only those new or changed since the folder's last run.
    redo: bool = False
    # Read and classify on a Dask cluster (conf/distributed); None: in this process,
    # with ``workers`` processes preparing the images.
    cluster: ClusterParams | None = None

    @property
    def expects_numbers(self) -> bool:
        """Whether every image is read as a number, which takes far longer than a digit:
        worker processes then start for fewer files and take smaller chunks. ``auto``
        is planned for as digits, what most of its images are."""
        return self.layout == "number"
