"""Unit tests of the inference pipeline's nodes: a folder in, its predictions out."""

from __future__ import annotations

import functools
import itertools
import logging
import os
import time

import numpy as np
import pandas as pd
import pytest
from kedro_datasets.partitions import PartitionedDataset
from matplotlib.colors import to_rgba

from mnist_classifier.datasets import FileStampDataset, ImageFileDataset
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines.inference import nodes
from mnist_classifier.pipelines.inference.nodes import (
    plot_predictions_sheet,
    predict_digits,
    preview_sheet_images,
    visible_files,
)
from mnist_classifier.pipelines.inference.preprocessing import (
    to_mnist,
)
from mnist_classifier.pipelines.inference.reading import PreparedImage
from mnist_classifier.pipelines.inference.workers import CHUNK, prepare_in_batches
from mnist_classifier.realistic import render_number
from tests.helpers import StubClassifier, within

from .helpers import COLUMNS, png_bytes, read_folder, slow_load


def loaders(folder) -> dict:
    return PartitionedDataset(path=str(folder), dataset=ImageFileDataset).load()


def params(folder="images", **overrides) -> InferenceParams:
    return InferenceParams(input_dir=str(folder), **{"workers": 1, **overrides})


def test_visible_files_are_sorted_with_sub_folders_and_without_hidden_ones():
    names = ["b.png", "a/z.png", ".DS_Store", ".cache/x.png", "a/.y.png", "a.png"]
    assert visible_files(dict.fromkeys(names), "images") == [
        "a.png",
        "a/z.png",
        "b.png",
    ]


def test_a_folder_of_hidden_files_is_an_error_naming_it():
    with pytest.raises(ValueError, match="No image files in 'my/photos'"):
        visible_files(dict.fromkeys([".DS_Store", ".git/HEAD"]), "my/photos")


def test_every_file_gets_a_row_and_every_good_image_is_classified(
    write_files, bad_files, odd_modes, paper_digit, stub_classifier
):
    good = {
        "digit.png": png_bytes(paper_digit),
        "sub/folder/digit.jpg": odd_modes["rgb.jpg"],
    }
    hidden = {".hidden.png": png_bytes(paper_digit), ".thumbnails/digit.png": b""}
    files = {
        **good,
        **odd_modes,
        **{name: content for name, (content, _) in bad_files.items()},
    }
    folder = write_files({**files, **hidden})

    predictions = read_folder(loaders(folder), stub_classifier, params(folder))
    previews = preview_sheet_images(
        predictions, loaders(folder), stub_classifier, params(folder)
    )

    assert list(predictions.columns) == [*COLUMNS, "model_version"]
    assert list(predictions["image"]) == sorted(files)
    statuses = dict(zip(predictions["image"], predictions["status"]))
    assert statuses == {
        **dict.fromkeys([*good, *odd_modes], "ok"),
        **{name: status for name, (_, status) in bad_files.items()},
    }
    ok = predictions["status"] == "ok"
    assert (predictions.loc[ok, "prediction"] == 7).all()
    assert np.allclose(predictions.loc[ok, "confidence"], 0.82)
    assert np.allclose(predictions.loc[ok, [f"p{k}" for k in range(10)]].sum(axis=1), 1)
    assert (
        predictions.loc[~ok, ["prediction", "confidence", "p0", "p9"]]
        .isna()
        .all()
        .all()
    )
    assert set(previews) == set(files)  # all 19 fit on the sheet
    assert all(
        previews[name].view.shape == (28, 28) for name in predictions["image"][ok]
    )


def test_images_are_read_and_classified_batch_by_batch(
    write_files, paper_digit, model_card
):
    folder = write_files(
        {f"{index:02d}.png": png_bytes(paper_digit) for index in range(10)}
    )
    calls: list[str] = []

    def counting(name, loader):
        return lambda: calls.append(name) or loader()

    class Recorder:
        card, version = model_card, None
        read_when_predicting: list[int] = []

        def predict(self, images):
            self.read_when_predicting.append(len(calls))
            return np.eye(10, dtype=np.float32)[np.zeros(len(images), int)]

    images = {name: counting(name, loader) for name, loader in loaders(folder).items()}
    predictions = read_folder(images, Recorder(), params(folder, batch_size=3))

    assert len(predictions) == 10 and sorted(calls) == sorted(images)
    # Batches of 3: each is read just before the model classifies it, none earlier.
    assert Recorder.read_when_predicting == [3, 6, 9, 10]


def test_worker_processes_give_the_same_predictions(
    write_files, odd_modes, bad_files, stub_classifier
):
    files = {**odd_modes, **{name: content for name, (content, _) in bad_files.items()}}
    folder = write_files(files)
    images = loaders(folder)
    alone = read_folder(images, stub_classifier, params(folder, batch_size=4))
    shared = read_folder(
        images, stub_classifier, params(folder, batch_size=4, workers=2)
    )
    pd.testing.assert_frame_equal(alone, shared)


def test_a_folder_without_a_usable_image_is_an_error_naming_it(
    write_files, bad_files, stub_classifier
):
    folder = write_files({name: content for name, (content, _) in bad_files.items()})
    with pytest.raises(ValueError, match=f"No usable image in '{folder}'"):
        read_folder(loaders(folder), stub_classifier, params(folder))


def test_a_model_for_other_images_is_refused(write_files, paper_digit, model_card):
    card = model_card.model_copy(update={"image_shape": (32, 32)})
    model = StubClassifier(card, version="2026-12-02T01.43.50.636Z")
    folder = write_files({"digit.png": png_bytes(paper_digit)})
    with pytest.raises(
        ValueError,
        match=r"classifier \(version 2026-12-02T01.43.50.636Z\) reads 32x32 images, "
        "but inference makes",
    ):
        read_folder(loaders(folder), model, params(folder))


def test_numbers_need_a_model_of_the_ten_digits(write_files, paper_digit, model_card):
    letters = model_card.model_copy(update={"class_names": list("ABCDEF")})
    folder = write_files({"digit.png": png_bytes(paper_digit)})
    for layout in ("number", "auto"):
        with pytest.raises(ValueError, match=f"layout={layout} reads numbers.*6 class"):
            read_folder(
                loaders(folder), StubClassifier(letters), params(folder, layout=layout)
            )


def test_the_log_says_how_many_were_classified_and_skipped_why(
    write_files, bad_files, paper_digit, stub_classifier, caplog
):
    names = ["notes.png", "readme.txt", "truncated.png", "huge.png"]
    folder = write_files(
        {
            "a.png": png_bytes(paper_digit),
            **{name: bad_files[name][0] for name in names},
        }
    )
    with caplog.at_level(logging.INFO):
        read_folder(
            loaders(folder), stub_classifier, params(folder, low_confidence=0.9)
        )
    summary = [
        record.getMessage()
        for record in caplog.records
        if "Classified" in record.getMessage()
    ]
    assert len(summary) == 1
    assert f"Classified 1 of 5 files in '{folder}'" in summary[0]
    assert (
        "skipped 4 (2 not an image, 1 too large, 1 unreadable: truncated file)"
        in summary[0]
    )
    assert "1 below 90% confidence" in summary[0]


def test_the_sheet_does_not_read_again_a_file_that_timed_out(
    paper_digit, stub_classifier
):
    predictions = pd.DataFrame(
        {"image": ["slow.png", "a.png"], "status": ["timed out", "ok"]}
    )
    images = {
        "slow.png": lambda: time.sleep(60),
        "a.png": lambda: png_bytes(paper_digit),
    }
    start = time.perf_counter()
    previews = preview_sheet_images(
        predictions, images, stub_classifier, InferenceParams(input_dir="x")
    )
    assert list(previews) == ["a.png"]
    assert time.perf_counter() - start < 10  # reading it again: the 30 s limit


def test_the_sheet_shows_each_image_its_view_and_marks_the_unsure(paper_digit):
    view = to_mnist(paper_digit)
    thumbnail = np.asarray(paper_digit.convert("RGBA"))
    previews = {
        "sure.png": PreparedImage((view,), "ok", thumbnail),
        "unsure.png": PreparedImage((view,), "ok", thumbnail),
        "bad.png": PreparedImage((), "not an image"),
    }
    predictions = pd.DataFrame(
        {
            "image": ["bad.png", "sure.png", "unsure.png", "not_shown.png"],
            "prediction": pd.array([None, 7, 1, 3], dtype="Int64"),
            "confidence": [np.nan, 0.99, 0.41, 0.9],
            "digits": [None, "7", "1", "3"],
            "status": ["not an image", "ok", "ok", "ok"],
        }
    )
    figure = plot_predictions_sheet(predictions, previews, params(sheet_images=3))

    cells = {
        axes.get_title("left"): axes for axes in figure.axes if axes.get_title("left")
    }
    assert set(cells) == {"bad.png", "sure.png", "unsure.png"}  # one cell each, no more
    assert {name: axes.get_title("right") for name, axes in cells.items()} == {
        "sure.png": "7 (99%)",
        "unsure.png": "1 (41%)",
        "bad.png": "not an image",
    }
    assert [len(axes.images) for axes in cells.values()] == [0, 2, 2]  # image and view
    red = to_rgba("tab:red")
    frames = {
        name: [patch.get_edgecolor() for patch in axes.patches]
        for name, axes in cells.items()
    }
    assert frames == {"sure.png": [], "unsure.png": [red], "bad.png": [red]}
    assert figure.get_suptitle().startswith("3 of 4 files in 'images'")


def test_a_fifo_or_a_device_in_the_folder_gets_a_status_and_nothing_hangs(
    write_files, paper_digit, stub_classifier
):
    folder = write_files({f"{i:02d}.png": png_bytes(paper_digit) for i in range(20)})
    os.mkfifo(folder / "pipe.png")
    (folder / "zero.png").symlink_to("/dev/zero")
    (folder / "gone.png").symlink_to(folder / "nowhere.png")

    predictions = within(
        lambda: read_folder(loaders(folder), stub_classifier, params(folder, workers=2))
    )

    status = predictions.set_index("image")["status"]
    assert status["pipe.png"] == status["zero.png"] == "not a regular file"
    assert status["gone.png"].startswith("not read: ")  # read again next run
    assert (status.drop(["pipe.png", "zero.png", "gone.png"]) == "ok").all()


def test_worker_processes_start_with_the_first_file(
    write_files, paper_digit, stub_classifier, started
):
    count = CHUNK + 1  # a single batch: still read in worker processes
    folder = write_files({f"{i:02d}.png": png_bytes(paper_digit) for i in range(count)})
    predictions = read_folder(
        loaders(folder), stub_classifier, params(folder, workers=2)
    )
    assert started == [2] and (predictions["status"] == "ok").sum() == count


def test_each_row_and_the_summary_name_the_model_version(
    write_files, paper_digit, model_card, caplog
):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    folder = write_files({"a.png": png_bytes(paper_digit), "b.txt": b"text"})
    model = StubClassifier(model_card, version="2026-12-02T01.43.50.636Z")
    predictions = read_folder(loaders(folder), model, params(folder))
    assert (predictions["model_version"] == model.version).all()
    assert f"Model version {model.version}." in caplog.text


def test_the_run_goes_on_past_a_file_that_times_out(
    write_files, paper_digit, stub_classifier
):
    folder = write_files({f"{i:02d}.png": png_bytes(paper_digit) for i in range(20)})
    images = loaders(folder)
    images["slow.png"] = functools.partial(slow_load, images["00.png"])

    predictions = within(
        lambda: read_folder(
            images, stub_classifier, params(folder, workers=2, time_limit=0.5)
        )
    )

    status = predictions.set_index("image")["status"]
    assert status["slow.png"] == "timed out"
    assert (status.drop("slow.png") == "ok").all()


def test_a_number_is_read_digit_by_digit_left_to_right(
    write_files, sample_test, stub_classifier
):
    images, labels = sample_test
    number = render_number(list(images[:4]), np.random.default_rng(0))
    folder = write_files({"number.png": png_bytes(number)})

    predictions = read_folder(
        loaders(folder), stub_classifier, params(folder, layout="number")
    )
    previews = preview_sheet_images(
        predictions, loaders(folder), stub_classifier, params(folder, layout="number")
    )

    (row,) = predictions.to_dict(orient="records")
    assert row["status"] == "ok" and row["digits"] == "7777"  # the stub says 7
    assert row["digit_confidences"] == "0.8200 0.8200 0.8200 0.8200"
    assert pd.isna(row["prediction"]) and row["confidence"] == pytest.approx(0.82)
    boxes = previews["number.png"].boxes
    assert len(boxes) == 4 and [box[0] for box in boxes] == sorted(b[0] for b in boxes)
    assert previews["number.png"].view.shape == (28, 4 * 28)


def test_numbers_are_read_on_worker_processes_from_the_second(
    write_files, sample_test, stub_classifier, started
):
    images, _ = sample_test
    rng = np.random.default_rng(0)
    numbers = [render_number(list(images[i : i + 2]), rng) for i in range(0, 6, 2)]
    folder = write_files({f"{i}.png": png_bytes(n) for i, n in enumerate(numbers)})
    on_workers = params(folder, layout="number", workers=2)
    here = params(folder, layout="number", workers=1)

    predictions = read_folder(loaders(folder), stub_classifier, on_workers)
    previews = preview_sheet_images(
        predictions, loaders(folder), stub_classifier, on_workers
    )

    assert started == [2, 2]  # the run, then the contact sheet
    expected = read_folder(loaders(folder), stub_classifier, here)
    pd.testing.assert_frame_equal(predictions, expected)
    assert list(predictions["digits"]) == ["77", "77", "77"]  # the stub says 7
    in_process = preview_sheet_images(expected, loaders(folder), stub_classifier, here)
    assert started == [2, 2]
    assert {name: item.boxes for name, item in previews.items()} == {
        name: item.boxes for name, item in in_process.items()
    }
    assert all(item.thumbnail is not None for item in previews.values())


# ---------------------------------------------------------------- incremental runs


def stamps(folder) -> dict:
    return PartitionedDataset(path=str(folder), dataset=FileStampDataset).load()


def test_a_second_run_reads_only_new_and_changed_files(
    write_files, paper_digit, model_card
):
    folder = write_files({f"{i}.png": png_bytes(paper_digit) for i in range(5)})
    model = StubClassifier(model_card, version="2026-12-02T01.43.50.636Z")
    journal: dict[str, pd.DataFrame] = {}
    first = read_folder(
        loaders(folder), model, params(folder), stamps=stamps(folder), before=journal
    )
    (folder / "5.png").write_bytes(png_bytes(paper_digit))
    (folder / "1.png").write_bytes(png_bytes(paper_digit.rotate(5)))  # edited
    model.batches.clear()

    second = read_folder(
        loaders(folder), model, params(folder), stamps=stamps(folder), before=journal
    )

    assert model.batches == [2]  # 1.png and 5.png, nothing else
    assert list(second["image"]) == [f"{i}.png" for i in range(6)]
    unchanged = second["image"].isin(["0.png", "2.png", "3.png", "4.png"])
    pd.testing.assert_frame_equal(
        second[unchanged].reset_index(drop=True),
        first[first["image"].isin(second["image"][unchanged])].reset_index(drop=True),
    )
    model.batches.clear()
    read_folder(
        loaders(folder),
        model,
        params(folder, redo=True),
        stamps=stamps(folder),
        before=journal,
    )
    assert model.batches == [6]


def test_a_run_that_fails_stops_its_reading_at_once(
    write_files, paper_digit, model_card, monkeypatch
):
    """Its worker processes too, even while the error's traceback holds the run."""
    folder = write_files({f"{i:02d}.png": png_bytes(paper_digit) for i in range(40)})
    closed = []

    def reading(*args):
        try:
            yield from prepare_in_batches(*args)
        finally:
            closed.append(True)

    class Failing(StubClassifier):
        def predict(self, images: np.ndarray) -> np.ndarray:
            raise RuntimeError("out of memory")

    monkeypatch.setattr(nodes, "prepare_in_batches", reading)
    inference = params(folder, batch_size=4, workers=2)
    with pytest.raises(RuntimeError) as failure:
        list(predict_digits(loaders(folder), {}, {}, Failing(model_card), inference))
    assert closed and failure.traceback  # closed while the traceback is still held


def test_a_run_stopped_after_two_batches_is_finished_by_the_next(
    write_files, paper_digit, stub_classifier
):
    folder = write_files({f"{i:02d}.png": png_bytes(paper_digit) for i in range(10)})
    inference = params(folder, batch_size=3)
    run = predict_digits(
        loaders(folder), stamps(folder), {}, stub_classifier, inference
    )
    journal = {}
    for batch, _ in itertools.islice(run, 2):  # then the run is interrupted
        journal |= batch
    run.close()
    stub_classifier.batches.clear()

    predictions = read_folder(
        loaders(folder),
        stub_classifier,
        inference,
        stamps=stamps(folder),
        before=journal,
    )

    assert stub_classifier.batches == [3, 1]  # the 4 files the first run did not read
    assert list(predictions["image"]) == [f"{i:02d}.png" for i in range(10)]
    assert (predictions["status"] == "ok").all()
