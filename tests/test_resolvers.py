"""The configuration's own resolvers."""

from __future__ import annotations

from mnist_classifier.resolvers import folder_key


def test_a_folder_has_one_key_however_it_is_named(tmp_path, monkeypatch):
    (tmp_path / "my photos").mkdir()
    monkeypatch.chdir(tmp_path)
    key = folder_key("my photos")
    assert key.startswith("my_photos-") and len(key) == len("my_photos-") + 8
    assert folder_key(str(tmp_path / "my photos") + "/") == key
    assert folder_key(f"file://{tmp_path / 'my photos'}") == key
    assert folder_key(str(tmp_path / "elsewhere" / "my photos")) != key
    assert folder_key("s3://bucket/scans").startswith("scans-")
    assert folder_key("s3://bucket/scans/") == folder_key("s3://bucket/scans")


def test_a_relative_folder_is_taken_from_the_project_root(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.kedro]\npackage_name = "x"\n')
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    key = folder_key("data/photos")
    monkeypatch.chdir(tmp_path / "notebooks")  # where a notebook runs
    assert folder_key("data/photos") == key == folder_key(str(tmp_path / "data/photos"))
