"""The piece verifier: its weights kept, and its NumPy network the one Keras trains."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from mnist_classifier.pipelines.inference.verifier import PieceVerifier


def test_the_piece_verifier_keeps_its_weights_and_names_a_missing_file(tmp_path):
    rng = np.random.default_rng(0)
    shapes = [(3, 3, 1, 2), (2,), (3, 3, 2, 3), (3,), (5 * 5 * 3, 4), (4,), (4,)]
    verifier = PieceVerifier(
        *(rng.normal(size=shape).astype(np.float32) for shape in shapes), 0.5
    )
    views = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    verifier.save(tmp_path / "verifier.npz")

    loaded = PieceVerifier.load(tmp_path / "verifier.npz")

    assert loaded.log_odds(views) == pytest.approx(verifier.log_odds(views))
    with pytest.raises(FileNotFoundError, match="fit_piece_verifier.py"):
        PieceVerifier.load(tmp_path / "missing.npz")


def test_the_piece_verifier_computes_what_keras_trained():
    # scripts/fit_piece_verifier.py trains the network in Keras and ships its weights;
    # the workers compute it in NumPy.
    keras.utils.set_random_seed(0)
    network = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(2, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(3, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    weights = network.get_weights()
    rng = np.random.default_rng(1)
    for array in weights[1::2]:  # biases start at zero: make them count
        array[:] = rng.normal(size=array.shape) * 0.1
    network.set_weights(weights)
    verifier = PieceVerifier.of_keras(network.get_weights())
    views = np.random.default_rng(2).integers(0, 256, (5, 28, 28), dtype=np.uint8)

    expected = network.predict_on_batch(views[..., None] / 255)[:, 0]

    assert verifier.log_odds(views) == pytest.approx(expected, rel=1e-4, abs=1e-4)
