"""Compares training recipes on the validation split: the test set plays no part.

Each candidate is the default recipe with some parameters changed (``FOR_DEFAULT``, and
``FOR_ACCURATE`` for `accurate`). For each candidate and seed, this runs in a process of
its own what

    kedro run --pipelines data_processing,training --params seed=<seed>,<changes>

runs (through a KedroSession, since --params cannot pass a list), which holds 10% of the
60,000 training images out (stratified by class, seeded) and trains on the other 54,000,
then scores the saved model on those held-out images (validation accuracy and loss; an
ensemble as the one model it is saved as, its networks' probabilities averaged) and
reads the training time from its card. The reporting pipeline, which scores the test
set, is not run: a recipe is chosen on the validation images only, and then `make bench`
scores the chosen one on the test set.

    python scripts/select_recipe.py              # the default's candidates, seeds 42-44
    python scripts/select_recipe.py --candidates batch_256 crop_3 --seeds 42 43
    python scripts/select_recipe.py --for accurate --seeds 42   # `accurate`'s

Prints a table (mean, min and max over the seeds) and writes it, versioned, to
data/08_reporting/recipe_selection.json/ and recipe_selection.md/. Each run also leaves
its model under data/06_models/ and an MLflow run, as any training does: the last
candidate's model is then the latest, the one inference reads (the script says which).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.io.core import Version, generate_timestamp
from kedro_datasets.json import JSONDataset
from kedro_datasets.text import TextDataset

from mnist_classifier.catalog import validation_digits
from mnist_classifier.messages import latest_model

ROOT = Path(__file__).resolve().parents[1]


class Candidate(NamedTuple):
    """A recipe: conf/base/parameters_training.yml's ``training`` with ``changes``
    merged in (as runtime parameters)."""

    changes: dict[str, Any]
    what: str


def recipe(
    batch: int,
    epochs: int,
    peak: float,
    dropout: float = 0.25,
    weight_decay: float = 0.0,
    **architecture: Any,
) -> dict[str, Any]:
    """A candidate's ``training`` parameters: batch size, epochs, one-cycle peak,
    dropout (the default's until its second round), weight decay (none, as the
    default) and any ``architecture`` changes; the rest as
    conf/base/parameters_training.yml says."""
    return {
        "fit": {"batch_size": batch, "epochs": epochs},
        "optimizer": {"learning_rate": peak, "weight_decay": weight_decay},
        "architecture": {"dropout": dropout, **architecture},
    }


#: The distortions the `accurate` candidates train with: shifts up to 8% (2.2 pixels),
#: rotations up to 2% of a turn (7 degrees), zoom up to 5%.
STRONGER_AUGMENTATION = {"translation": 0.08, "rotation": 0.02, "zoom": 0.05}
#: Two 3x3 convolutions per block, fewer filters (Conv16x2-Conv32x2-Conv64x2).
DEEPER = {"conv_filters": [16, 32, 64], "convs_per_block": 2}


def ensemble(
    networks: int, batch: int, epochs: int, peak: float, **architecture: Any
) -> dict[str, Any]:
    """An `accurate` candidate: ``networks`` networks (seeds seed ... seed+networks-1)
    with their probabilities averaged, every one trained for all ``epochs`` (no early
    stopping, as `conf/accurate` trains on all 60,000 images with no validation split
    to stop on), with ``STRONGER_AUGMENTATION``."""
    changes = recipe(
        batch, epochs, peak, **architecture, augmentation=STRONGER_AUGMENTATION
    )
    changes["fit"]["early_stopping_patience"] = 0
    return changes | {"ensemble_size": networks}


# Stated in full (batch, epochs, peak, dropout, weight decay), so that they mean the
# same whatever the default is now. Chosen on 2026-12-02: batch_256, then dropout_010,
# the default since; dropout_000, dense_256, translation_010 and epochs_7, tried on
# 2026-12-03, and warmup_010, label_smoothing_005, weight_decay_005, weight_decay_020,
# two_networks_3_epochs, translation_005, first_block_32, peak_004, sgd_nesterov and
# rotation_001, tried on 2026-12-04, were not kept.
FOR_DEFAULT = {
    "previous_default": Candidate(
        recipe(128, 10, 0.003), "the default until 2026-12-02: batch 128, 10 epochs"
    ),
    "fewer_epochs": Candidate(recipe(128, 6, 0.005), "batch 128, 6 epochs, peak 0.005"),
    "cheaper_first_block": Candidate(
        recipe(128, 6, 0.005, conv_filters=[16, 48, 96]),
        "batch 128, 6 epochs, peak 0.005, 16 filters in the first block instead of 24",
    ),
    "crop_3": Candidate(
        recipe(128, 6, 0.005, crop=3),
        "batch 128, 6 epochs, peak 0.005, 3 border pixels cropped per side (22x22)",
    ),
    "batch_256": Candidate(recipe(256, 6, 0.006), "batch 256, 6 epochs, peak 0.006"),
    "batch_256_peak_008": Candidate(
        recipe(256, 6, 0.008), "batch 256, 6 epochs, peak 0.008"
    ),
    "batch_256_crop_3": Candidate(
        recipe(256, 7, 0.006, crop=3),
        "batch 256, 7 epochs, peak 0.006, 3 border pixels cropped per side",
    ),
    "dropout_010": Candidate(
        recipe(256, 6, 0.006, dropout=0.1),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1",
    ),
    "narrower_9_epochs": Candidate(
        recipe(256, 9, 0.006, conv_filters=[16, 32, 64]),
        "batch 256, 9 epochs, peak 0.006, Conv16-Conv32-Conv64 (narrower blocks, "
        "more epochs)",
    ),
    "dropout_000": Candidate(
        recipe(256, 6, 0.006, dropout=0.0),
        "batch 256, 6 epochs, peak 0.006, no dropout",
    ),
    "dense_256": Candidate(
        recipe(256, 6, 0.006, dropout=0.1, dense_units=256),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, 256 hidden units instead of 128",
    ),
    "translation_010": Candidate(
        recipe(256, 6, 0.006, dropout=0.1, augmentation={"translation": 0.1}),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, shifts up to 10% (2.8 pixels) "
        "instead of 7%",
    ),
    "epochs_7": Candidate(
        recipe(256, 7, 0.006, dropout=0.1),
        "batch 256, 7 epochs instead of 6, peak 0.006, dropout 0.1",
    ),
    "warmup_010": Candidate(
        recipe(256, 6, 0.006, dropout=0.1) | {"schedule": {"warmup_fraction": 0.1}},
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, a tenth of the steps warming "
        "up instead of a fifth",
    ),
    "label_smoothing_005": Candidate(
        recipe(256, 6, 0.006, dropout=0.1) | {"label_smoothing": 0.05},
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, label smoothing 0.05 instead "
        "of 0.1",
    ),
    "weight_decay_005": Candidate(
        recipe(256, 6, 0.006, dropout=0.1, weight_decay=0.05),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, decoupled weight decay 0.05 "
        "(each step shrinks the weights by learning rate x 0.05)",
    ),
    "weight_decay_020": Candidate(
        recipe(256, 6, 0.006, dropout=0.1, weight_decay=0.2),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, decoupled weight decay 0.2",
    ),
    "two_networks_3_epochs": Candidate(
        recipe(256, 3, 0.006, dropout=0.1) | {"ensemble_size": 2},
        "two networks (seeds seed, seed+1) of 3 epochs each, their probabilities "
        "averaged: the default's training time, batch 256, peak 0.006, dropout 0.1",
    ),
    "translation_005": Candidate(
        recipe(256, 6, 0.006, dropout=0.1, augmentation={"translation": 0.05}),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, shifts up to 5% (1.4 pixels) "
        "instead of 7%",
    ),
    "first_block_32": Candidate(
        recipe(256, 6, 0.006, dropout=0.1, conv_filters=[32, 48, 96]),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, 32 filters in the first block "
        "instead of 24",
    ),
    "peak_004": Candidate(
        recipe(256, 6, 0.004, dropout=0.1),
        "batch 256, 6 epochs, peak 0.004 instead of 0.006, dropout 0.1",
    ),
    "sgd_nesterov": Candidate(
        recipe(256, 6, 0.1, dropout=0.1)
        | {"optimizer": {"name": "sgd", "learning_rate": 0.1, "weight_decay": 0.0}},
        "batch 256, 6 epochs, dropout 0.1, SGD with Nesterov momentum 0.9 (peak 0.1) "
        "instead of Adam",
    ),
    "rotation_001": Candidate(
        recipe(256, 6, 0.006, dropout=0.1, augmentation={"rotation": 0.01}),
        "batch 256, 6 epochs, peak 0.006, dropout 0.1, also rotated up to 1% of a "
        "turn (3.6 degrees)",
    ),
}
# For `kedro run --env accurate` (conf/accurate, which trains the chosen one on all
# 60,000 images). Chosen on 2026-12-02: accurate_batch_256, conf/accurate since.
FOR_ACCURATE = {
    "accurate_2026_11": Candidate(
        ensemble(4, 128, 18, 0.003, **DEEPER),
        "`accurate` until 2026-12-02 (chosen on the test set): 4 deeper networks "
        "(Conv16x2-Conv32x2-Conv64x2), batch 128, 18 epochs, peak 0.003",
    ),
    "accurate_batch_256": Candidate(
        ensemble(4, 256, 12, 0.006, **DEEPER),
        "4 deeper networks, batch 256, 12 epochs, peak 0.006",
    ),
    "accurate_five_default": Candidate(
        ensemble(5, 256, 8, 0.006),
        "5 networks of the default's shape (Conv24-Conv48-Conv96), batch 256, "
        "8 epochs, peak 0.006",
    ),
}
CANDIDATES = FOR_DEFAULT | FOR_ACCURATE


class Result(NamedTuple):
    """One candidate trained with one seed."""

    candidate: str
    seed: int
    val_accuracy: float  # of the saved model (an ensemble: its averaged probabilities)
    val_loss: float
    training_seconds: float
    epochs: int
    version: str


def train_here(name: str, seed: int) -> Result:
    """Runs data_processing and training with the candidate's parameters, in this
    process (a KedroSession, as `kedro run` makes); scores the saved model on the
    validation images (for one network, what its card says of the epoch kept; for an
    ensemble, the averaged networks, which no card records)."""
    bootstrap_project(ROOT)
    runtime_params = {"seed": seed, "training": CANDIDATES[name].changes}
    with KedroSession.create(project_path=ROOT, runtime_params=runtime_params) as run:
        run.run(pipeline_names=["data_processing", "training"])
        version = run.session_id  # the version of everything the run saved
        catalog = run.load_context().catalog
    classifier = catalog.get("classifier", version=Version(version, None)).load()
    images, labels = validation_digits(catalog)
    probabilities = classifier.predict(images)
    chance = probabilities[np.arange(len(labels)), labels]
    history = classifier.card.history
    return Result(
        name,
        seed,
        float(np.mean(probabilities.argmax(axis=1) == labels)),
        float(-np.mean(np.log(np.maximum(chance, 1e-7)))),
        history.training_seconds,
        history.epochs,
        version,
    )


def train(name: str, seed: int) -> Result:
    """``train_here`` in a process of its own, so each run starts alike."""
    print(f"--- {name}, seed {seed}: {CANDIDATES[name].what}", flush=True)
    run = subprocess.run(
        [sys.executable, __file__, "--one", name, str(seed)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    results = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    if run.returncode or not results:
        sys.exit(
            f"{name} (seed {seed}) failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}"
        )
    result = Result(**json.loads(results[-1][len("RESULT ") :]))
    print(
        f"    validation accuracy {100 * result.val_accuracy:.2f}%, "
        f"{result.training_seconds:.0f} s, {result.epochs} epochs",
        flush=True,
    )
    return result


def markdown(results: list[Result]) -> str:
    """One row per candidate: validation accuracy and time, mean (min-max)."""
    lines = [
        "| candidate | what | seeds | validation accuracy, mean (min-max) "
        "| validation loss, mean | training time, mean (min-max) | epochs |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(result.candidate for result in results):
        runs = [result for result in results if result.candidate == name]
        accuracy = [100 * run.val_accuracy for run in runs]
        seconds = [run.training_seconds for run in runs]
        lines.append(
            f"| {name} | {CANDIDATES[name].what} | "
            f"{', '.join(str(run.seed) for run in runs)} | "
            f"{statistics.mean(accuracy):.2f}% ({min(accuracy):.2f}-{max(accuracy):.2f}%)"
            f" | {statistics.mean(run.val_loss for run in runs):.4f} | "
            f"{statistics.mean(seconds):.0f} s ({min(seconds):.0f}-{max(seconds):.0f} s)"
            f" | {', '.join(str(run.epochs) for run in runs)} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--for",
        dest="recipe",
        choices=["default", "accurate"],
        default="default",
        help="which recipe's candidates to compare (unless --candidates names them)",
    )
    parser.add_argument("--candidates", nargs="+", choices=CANDIDATES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        result = train_here(args.one[0], int(args.one[1]))
        print("RESULT " + json.dumps(result._asdict()), flush=True)
        return

    start = time.perf_counter()
    results = [
        train(name, seed)
        for name in args.candidates
        or (FOR_ACCURATE if args.recipe == "accurate" else FOR_DEFAULT)
        for seed in args.seeds
    ]
    table = markdown(results)
    print(table)
    print(f"{len(results)} trainings in {(time.perf_counter() - start) / 60:.0f} min.")
    last = results[-1]
    print(latest_model(last.version, f"{last.candidate}, seed {last.seed}"))
    version = Version(None, generate_timestamp())
    reporting = ROOT / "data/08_reporting"
    JSONDataset(
        filepath=str(reporting / "recipe_selection.json"), version=version
    ).save([result._asdict() for result in results])
    TextDataset(filepath=str(reporting / "recipe_selection.md"), version=version).save(
        table
    )


if __name__ == "__main__":
    main()
