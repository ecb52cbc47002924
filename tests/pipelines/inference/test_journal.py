"""The folder's journal: which files a run reads again, and the folder's answers."""

from __future__ import annotations

import pandas as pd
import pytest

from mnist_classifier.pipelines.inference.journal import (
    FolderPlan,
    folder_predictions,
    plan_reading,
)

V1, V2 = "2026-01-01T00.00.00.000Z", "2026-02-01T00.00.00.000Z"


def rows(plan: FolderPlan, names: list[str], status: str = "ok") -> pd.DataFrame:
    """What a run of ``plan`` writes for ``names``."""
    table = pd.DataFrame({"image": names, "prediction": 7, "status": status})
    return plan.keyed(table)


def plan(stamps: dict, journal=None, version=V1, layout="digit", redo=False):
    return plan_reading(
        sorted(stamps),
        stamps,
        pd.DataFrame() if journal is None else journal,
        version,
        layout,
        redo=redo,
    )


def test_a_first_run_reads_every_file():
    assert plan({"a": "1", "b": "2"}).to_read == ("a", "b")


def test_only_new_and_changed_files_are_read_again():
    first = plan({"a": "1", "b": "2", "c": "3"})
    journal = rows(first, ["a", "b", "c"])
    second = plan({"a": "1", "b": "2-edited", "c": "3", "d": "4"}, journal)
    assert second.to_read == ("b", "d")
    assert "reading 2, 2 already read by model version" in second.describe("f")


def test_redo_another_model_or_layout_reads_all_again():
    stamps = {"a": "1", "b": "2"}
    journal = rows(plan(stamps), ["a", "b"])
    assert plan(stamps, journal).to_read == ()
    assert plan(stamps, journal, redo=True).to_read == ("a", "b")
    assert plan(stamps, journal, version=V2).to_read == ("a", "b")
    assert plan(stamps, journal, layout="number").to_read == ("a", "b")


def test_timed_out_too_large_unread_and_stampless_files_are_read_each_run():
    stamps = {"a": "1", "bad": "4", "big": "3", "net": "5", "slow": "2", "link": None}
    first = plan(stamps)
    journal = pd.concat(
        [
            rows(first, ["a", "link"]),
            rows(first, ["slow"], status="timed out"),
            rows(first, ["big"], status="too large"),  # max_pixels may be higher now
            rows(first, ["net"], status="not read: Connection reset by peer"),
            rows(first, ["bad"], status="unreadable: truncated file"),  # stays bad
        ]
    )
    assert plan(stamps, journal).to_read == ("big", "link", "net", "slow")


def test_the_folder_gets_one_row_per_file_in_order_from_any_run():
    stamps = {"c": "3", "a": "1", "b": "2"}
    first = plan(stamps)
    # An interrupted run wrote "a"; the next wrote "b", "c", and "a" again by redo.
    journal = pd.concat(
        [rows(first, ["a"]), rows(first, ["b", "c"]), rows(first, ["a"])]
    )
    again = plan(stamps, journal)
    answers = folder_predictions(journal, again)
    assert list(answers["image"]) == ["a", "b", "c"]
    assert list(answers.columns) == ["image", "prediction", "status", "model_version"]


def test_a_retried_file_answers_with_its_newest_answer_not_a_later_retry():
    stamps = {"slow": "1"}
    first = plan(stamps)
    timed_out = rows(first, ["slow"], "timed out")
    # Timed out in one run, read in the next: the answer holds.
    second = plan(stamps, timed_out)
    assert second.to_read == ("slow",)
    read = pd.concat([timed_out, rows(second, ["slow"]).assign(prediction=3)])
    (row,) = folder_predictions(read, second).to_dict(orient="records")
    assert row["status"] == "ok" and row["prediction"] == 3
    # Read again by redo, it times out this time: the earlier run's answer still holds.
    third = plan(stamps, read, redo=True)
    journal = pd.concat([read, rows(third, ["slow"], "timed out")])
    (row,) = folder_predictions(journal, third).to_dict(orient="records")
    assert row["status"] == "ok" and row["prediction"] == 3
    # A newer answer wins over an older one.
    fourth = plan(stamps, journal, redo=True)
    journal = pd.concat([journal, rows(fourth, ["slow"]).assign(prediction=5)])
    (row,) = folder_predictions(journal, fourth).to_dict(orient="records")
    assert row["prediction"] == 5


def test_rows_of_another_model_or_a_changed_file_do_not_answer():
    first = plan({"a": "1", "b": "2"})
    journal = rows(first, ["a", "b"])
    with pytest.raises(ValueError, match=r"no row for 1 of its files \(first: 'b'\)"):
        folder_predictions(journal, plan({"a": "1", "b": "changed"}, journal))
    with pytest.raises(ValueError, match="inference.redo=true"):
        folder_predictions(journal, plan({"a": "1", "b": "2"}, journal, version=V2))


def test_a_batch_is_named_by_what_it_read():
    first = plan({"a": "1", "b": "2"})
    assert first.batch_name(["a", "b"]) == plan({"a": "1", "b": "2"}).batch_name(
        ["a", "b"]
    )
    assert first.batch_name(["a"]) != first.batch_name(["b"])
    assert first.batch_name(["a"]) != plan({"a": "1"}, version=V2).batch_name(["a"])
    # Read again by redo, the same files keep their earlier rows, in another file.
    again = plan({"a": "1", "b": "2"}, rows(first, ["a", "b"]), redo=True)
    assert again.batch_name(["a", "b"]) != first.batch_name(["a", "b"])


def test_a_file_read_again_answers_with_the_newest_run_of_it():
    stamps = {"a": "1", "b": "2", "c": "3"}
    first = plan(stamps)
    journal = rows(first, ["a", "b"], status="unreadable: Permission denied")
    second = plan(stamps, journal)  # reads only the new "c"
    journal = pd.concat([journal, rows(second, ["c"])])
    third = plan(stamps, journal, redo=True)  # the same files, batched otherwise
    assert (first.run, second.run, third.run) == (1, 2, 3)
    # The journal's batch files come back in the order of their names, not of
    # their runs: here, the oldest first.
    journal = pd.concat([journal, rows(third, ["a", "b", "c"]).assign(prediction=1)])
    answers = folder_predictions(journal, plan(stamps, journal))
    assert list(answers["status"]) == ["ok", "ok", "ok"]
    assert list(answers["prediction"]) == [1, 1, 1]


def test_a_journal_written_before_runs_were_numbered_still_answers():
    stamps = {"a": "1"}
    journal = rows(plan(stamps), ["a"]).drop(columns="run")
    assert plan(stamps, journal).run == 1
    journal = pd.concat(
        [journal, rows(plan(stamps, journal), ["a"]).assign(prediction=2)]
    )
    (row,) = folder_predictions(journal, plan(stamps, journal)).to_dict(
        orient="records"
    )
    assert row["prediction"] == 2
