"""RecordDataset: a Pydantic model saved as plain JSON and loaded as the model again."""

from __future__ import annotations

import json

import pytest
from kedro.io.core import DatasetError
from pydantic import BaseModel

from mnist_classifier.datasets import AtomicDataset, RecordDataset


class Score(BaseModel):
    name: str
    accuracy: float
    seeds: list[int]


SCORE = Score(name="default", accuracy=0.9952, seeds=[42, 43])


def test_it_saves_plain_json_and_loads_the_model(tmp_path):
    path = tmp_path / "score.json"
    dataset = RecordDataset(record=Score, filepath=str(path), save_args={"indent": 2})
    dataset.save(SCORE)
    assert json.loads(path.read_text()) == {
        "name": "default",
        "accuracy": 0.9952,
        "seeds": [42, 43],
    }
    assert dataset.load() == SCORE


def test_the_record_can_be_named_by_import_path_inside_an_atomic_dataset(tmp_path):
    dataset = AtomicDataset(
        dataset={
            "type": "mnist_classifier.datasets.RecordDataset",
            "record": f"{__name__}.Score",
        },
        filepath=str(tmp_path / "score.json"),
    )
    dataset.save(SCORE)
    assert dataset.load() == SCORE


def test_a_file_that_does_not_match_the_model_names_the_field(tmp_path):
    path = tmp_path / "score.json"
    path.write_text(json.dumps({"name": "default", "accuracy": "high", "seeds": []}))
    with pytest.raises(DatasetError, match="accuracy"):
        RecordDataset(record=Score, filepath=str(path)).load()


def test_it_refuses_to_save_anything_but_its_record(tmp_path):
    dataset = RecordDataset(record=Score, filepath=str(tmp_path / "score.json"))
    with pytest.raises(DatasetError, match="saves a Score, got dict"):
        dataset.save(SCORE.model_dump())
    assert not (tmp_path / "score.json").exists()


def test_its_record_must_be_a_pydantic_model(tmp_path):
    with pytest.raises(DatasetError, match="must name a Pydantic model"):
        RecordDataset(record="json.dumps", filepath=str(tmp_path / "x.json"))
