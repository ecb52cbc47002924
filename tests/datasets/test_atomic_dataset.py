"""AtomicDataset: a save is renamed into place whole, or leaves no version at all."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest
from kedro.io.core import DatasetError, Version
from kedro_datasets.pandas import CSVDataset

from mnist_classifier.datasets import AtomicDataset

OLD, NEW = "2026-01-01T00.00.00.000Z", "2026-01-02T00.00.00.000Z"
TABLE = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})


def csv(folder, save=None, load=None, **dataset) -> AtomicDataset:
    return AtomicDataset(
        dataset={"type": "pandas.CSVDataset", "save_args": {"index": False}, **dataset},
        filepath=str(folder / "table.csv"),
        version=Version(load, save),
    )


def test_it_saves_and_loads_versions_like_the_dataset_it_wraps(tmp_path):
    csv(tmp_path, save=OLD).save(TABLE)
    csv(tmp_path, save=NEW).save(TABLE.head(1))
    pd.testing.assert_frame_equal(csv(tmp_path).load(), TABLE.head(1))
    pd.testing.assert_frame_equal(csv(tmp_path, load=OLD).load(), TABLE)
    assert csv(tmp_path).list_versions(full_path=False) == [NEW, OLD]
    assert sorted(p.name for p in (tmp_path / "table.csv").rglob("*")) == [
        OLD,
        NEW,
        "table.csv",
        "table.csv",
    ]


class Breaks(CSVDataset):
    """A CSV dataset whose save stops halfway through writing (Ctrl-C)."""

    def save(self, data: pd.DataFrame) -> None:
        with self._fs.open(self._filepath, "w") as file:
            file.write(data.to_csv(index=False)[:5])
        raise KeyboardInterrupt


def test_a_save_cut_short_leaves_no_new_version(tmp_path):
    csv(tmp_path, save=OLD).save(TABLE)
    broken = AtomicDataset(
        dataset={"type": Breaks},
        filepath=str(tmp_path / "table.csv"),
        version=Version(None, NEW),
    )
    with pytest.raises(KeyboardInterrupt):
        broken.save(TABLE)
    assert not list((tmp_path / "table.csv" / NEW).iterdir())  # the half file is gone
    assert csv(tmp_path).resolve_load_version() == OLD
    pd.testing.assert_frame_equal(csv(tmp_path).load(), TABLE)


def test_unversioned_it_replaces_the_file_whole(tmp_path):
    table = AtomicDataset(dataset="pandas.ParquetDataset", filepath=f"{tmp_path}/t.pq")
    table.save(TABLE)
    table.save(TABLE.head(1))
    pd.testing.assert_frame_equal(table.load(), TABLE.head(1))
    assert [path.name for path in tmp_path.iterdir()] == ["t.pq"]


def test_unversioned_a_save_cut_short_keeps_the_file_it_would_replace(tmp_path):
    path = str(tmp_path / "table.csv")
    AtomicDataset(dataset="pandas.CSVDataset", filepath=path).save(TABLE)
    broken = AtomicDataset(dataset={"type": Breaks}, filepath=path)
    with pytest.raises(KeyboardInterrupt):
        broken.save(TABLE.head(1))
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]  # no partial file
    loaded = AtomicDataset(dataset="pandas.CSVDataset", filepath=path).load()
    pd.testing.assert_frame_equal(loaded, TABLE)


def test_a_bare_file_name_is_saved_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metrics = AtomicDataset(dataset="json.JSONDataset", filepath="metrics.json")
    metrics.save({"accuracy": 0.99})
    assert (tmp_path / "metrics.json").is_file()
    assert metrics.load() == {"accuracy": 0.99}


def test_path_and_versioning_belong_to_the_wrapper(tmp_path):
    with pytest.raises(DatasetError, match="set 'versioned' on the AtomicDataset"):
        csv(tmp_path, versioned=True)


def test_it_previews_as_the_dataset_it_wraps_for_kedro_viz(tmp_path):
    csv(tmp_path, save=OLD).save(TABLE)
    preview = csv(tmp_path).preview(nrows=1)
    assert preview["data"] == [[1, "x"]]
    signature = inspect.signature(csv(tmp_path).preview)
    assert (
        signature.return_annotation
        == inspect.signature(CSVDataset.preview).return_annotation
    )
