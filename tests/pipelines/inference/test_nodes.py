"""Unit tests of the inference pipeline: preprocessing, bad files, nodes."""

from __future__ import annotations

import functools
import io
import itertools
import logging
import os
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from kedro_datasets.partitions import PartitionedDataset
from matplotlib.colors import to_rgba
from PIL import Image, ImageOps
from scipy import ndimage

from mnist_classifier.datasets import FileStampDataset, ImageFileDataset
from mnist_classifier.params import InferenceParams
from mnist_classifier.pipelines.inference import nodes
from mnist_classifier.pipelines.inference.nodes import (
    classify_batch,
    classify_prepared,
    plot_predictions_sheet,
    predict_digits,
    preview_sheet_images,
    tabulate,
    visible_files,
)
from mnist_classifier.pipelines.inference.numbers import choose
from mnist_classifier.pipelines.inference.preprocessing import (
    UnusableImageError,
    even_out_shadows,
    read_image,
    to_grayscale,
    to_mnist,
)
from mnist_classifier.pipelines.inference.reading import PreparedImage, prepare
from mnist_classifier.realistic import render_number
from tests.conftest import StubClassifier, within

from .conftest import png_bytes, read_folder

COLUMNS = [
    "image",
    "prediction",
    "confidence",
    *[f"p{k}" for k in range(10)],
    "digits",
    "digit_confidences",
    "status",
]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two images are, allowing a shift of a pixel (centring rounds)."""
    return max(
        float(np.corrcoef(np.roll(a, (dy, dx), (0, 1)).ravel(), b.ravel())[0, 1])
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


def decoded(content: bytes) -> Image.Image:
    """Decodes a file's bytes, as the preprocessing does."""
    return Image.open(io.BytesIO(content))


def loaders(folder) -> dict:
    return PartitionedDataset(path=str(folder), dataset=ImageFileDataset).load()


def params(folder="images", **overrides) -> InferenceParams:
    return InferenceParams(input_dir=str(folder), **{"workers": 1, **overrides})


# ------------------------------------------------------------------ preprocessing


def test_an_mnist_digit_comes_back_as_itself(digit):
    view = to_mnist(Image.fromarray(digit[0]))
    assert view.dtype == np.uint8 and view.shape == (28, 28)
    assert correlation(view, digit[0]) > 0.95


def test_a_photo_is_made_to_look_like_mnist(paper_digit, digit):
    view = to_mnist(paper_digit)
    rows, cols = np.flatnonzero(view.any(axis=1)), np.flatnonzero(view.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    assert max(height, width) in (19, 20)  # fitted into 20x20 ...
    assert np.allclose(
        ndimage.center_of_mass(view), 14, atol=0.6
    )  # ... centred by mass
    assert view.max() >= 250 and view[0].max() == 0  # light ink on black
    assert correlation(view, digit[0]) > 0.9


def test_polarity_paper_tone_and_uneven_light_do_not_matter(paper_digit):
    reference = to_mnist(paper_digit)
    chalkboard = ImageOps.invert(paper_digit)
    dark_paper = Image.fromarray(np.uint8(np.asarray(paper_digit) * 0.6))
    light = np.linspace(0.55, 1.0, paper_digit.width)[None, :]
    shadowed = Image.fromarray(np.uint8(np.asarray(paper_digit) * light))
    for image in [chalkboard, dark_paper, shadowed]:
        assert correlation(to_mnist(image), reference) > 0.95


def test_aspect_ratio_is_kept():
    bar = np.full((120, 100), 220, np.uint8)
    bar[20:80, 40:48] = 20  # a "1": 60 px tall, 8 wide
    view = to_mnist(Image.fromarray(bar))
    rows, cols = np.flatnonzero(view.any(axis=1)), np.flatnonzero(view.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20
    assert 2 <= cols[-1] - cols[0] + 1 <= 5


def test_specks_of_dust_are_not_part_of_the_digit(paper_digit):
    dusty = np.asarray(paper_digit).copy()
    dusty[[5, 100, 8], [5, 10, 140]] = 0
    assert correlation(to_mnist(Image.fromarray(dusty)), to_mnist(paper_digit)) > 0.99


def test_hairline_strokes_are_widened_to_mnists():
    ring = np.full((300, 300), 230, np.uint8)
    rows, cols = np.ogrid[:300, :300]
    distance = np.hypot((rows - 150) / 1.4, cols - 150)
    ring[np.abs(distance - 80) < 1.5] = 30  # a "0" drawn with a 3 px pen, 230 px tall
    view = to_mnist(Image.fromarray(ring))
    stroke = view > 128
    width = 2 * stroke.sum() / (stroke & ~ndimage.binary_erosion(stroke)).sum()
    assert width >= 1.8  # without widening it would be well under 1 px, and faint


def test_strokes_thicker_than_the_shadow_search_are_not_lifted_as_a_shadow():
    """A small digit enlarged (other writers' 8x8 digits) has strokes wider than the
    closing that finds shadows; dividing by that "paper" hollowed them out."""
    page = np.full((200, 200), 220, np.uint8)
    rows, cols = np.ogrid[:200, :200]
    distance = np.hypot((rows - 100) / 1.4, cols - 100)
    page[np.abs(distance - 45) < 15] = 40  # a "0" with 30 px strokes
    image = Image.fromarray(page)
    assert even_out_shadows(image) is image
    assert (to_mnist(image) > 200).sum() > 130  # solid strokes (hollowed: under 100)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (80, 60), 235),
        Image.new("RGB", (1, 1), "white"),
        Image.fromarray(np.uint8(np.random.default_rng(0).normal(200, 4, (90, 120)))),
    ],
    ids=["blank", "one_pixel", "paper_noise_only"],
)
def test_an_image_without_a_digit_is_empty(image):
    with pytest.raises(UnusableImageError, match="^empty image$"):
        to_mnist(image)


@pytest.mark.parametrize(
    "name",
    [
        "rgb.jpg",
        "rgba_on_transparent.png",
        "grey_alpha.png",
        "palette.png",
        "sixteen_bit.png",
        "cmyk.jpg",
        "animated.gif",
        "bilevel.png",
        "float.tif",
    ],
)
def test_every_mode_gives_the_same_digit(name, odd_modes, paper_digit):
    image = decoded(odd_modes[name])
    assert to_grayscale(image).mode == "L"
    assert correlation(to_mnist(image), to_mnist(paper_digit)) > 0.9


def test_a_float_image_holding_nan_is_read(paper_digit):
    values = np.asarray(paper_digit, dtype=np.float32).copy()
    values[0, 0] = np.nan  # a float TIFF may hold NaN: no ink there, not a crash
    image = Image.fromarray(values)
    assert correlation(to_mnist(image), to_mnist(paper_digit)) > 0.95


def test_sixteen_bit_is_scaled_not_clipped(odd_modes, paper_digit):
    image = decoded(odd_modes["sixteen_bit.png"])
    assert image.mode == "I;16"
    gray = np.asarray(to_grayscale(image), dtype=int)
    assert np.abs(gray - np.asarray(paper_digit, dtype=int)).max() <= 1


def test_ink_on_a_transparent_background_stays_ink(odd_modes):
    image = decoded(odd_modes["rgba_on_transparent.png"])
    assert image.getchannel("A").getextrema()[0] == 0  # the background is transparent
    gray = np.asarray(to_grayscale(image))
    assert gray[0, 0] == 255 and gray.min() < 80  # dark ink on white, not all black


def test_only_the_first_frame_of_an_animation_is_read(odd_modes, paper_digit):
    animated = odd_modes["animated.gif"]
    assert decoded(animated).n_frames == 2  # the digit, then blank paper
    prepared = prepare(lambda: animated, False, max_pixels=10**6)
    assert prepared.status == "ok"  # the blank frame would be an "empty image"
    assert correlation(prepared.view, to_mnist(paper_digit)) > 0.95


def test_exif_orientation_is_applied(paper_digit):
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: the stored pixels are rotated
    stored = paper_digit.transpose(Image.Transpose.ROTATE_90)
    image = decoded(
        png_bytes(stored.convert("RGB"), format="JPEG", quality=95, exif=exif)
    )
    assert correlation(to_mnist(image), to_mnist(paper_digit)) > 0.9


# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    "name",
    [
        "empty.png",
        "notes.png",
        "readme.txt",
        "truncated.png",
        "truncated.jpg",
        "blank.png",
        "one_pixel.png",
        "huge.png",
    ],
)
def test_a_bad_file_gets_a_status(name, bad_files, tmp_path):
    content, status = bad_files[name]
    (tmp_path / name).write_bytes(content)
    loader = ImageFileDataset(filepath=str(tmp_path / name)).load
    prepared = prepare(loader, True, max_pixels=50_000_000)
    assert prepared.status == status
    assert prepared.view is None


def test_a_huge_image_is_refused_before_it_is_decoded(bad_files, tmp_path):
    (tmp_path / "huge.png").write_bytes(bad_files["huge.png"][0])  # 144 MP, 200 bytes
    start = time.perf_counter()
    prepared = prepare(
        ImageFileDataset(filepath=str(tmp_path / "huge.png")).load,
        False,
        max_pixels=50_000_000,
    )
    assert prepared.status == "too large"
    assert time.perf_counter() - start < 0.5  # decoding 144 MP would take seconds


def test_the_pixel_limit_is_ours_and_pillows_is_restored(paper_digit):
    digit = png_bytes(paper_digit.resize((100, 100)))
    larger = png_bytes(paper_digit.resize((101, 100)))
    before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may leak out either
        assert prepare(lambda: digit, False, max_pixels=10_000).status == "ok"
        assert prepare(lambda: larger, False, max_pixels=10_000).status == "too large"
    assert Image.MAX_IMAGE_PIXELS == before


def test_a_thumbnail_is_kept_only_when_asked(paper_digit):
    with_thumbnail = prepare(lambda: png_bytes(paper_digit), True, max_pixels=10**6)
    without = prepare(lambda: png_bytes(paper_digit), False, max_pixels=10**6)
    assert with_thumbnail.thumbnail.shape == (66, 96, 4)  # RGBA, 96 px at most
    assert without.thumbnail is None
    assert np.array_equal(with_thumbnail.view, without.view)


# ------------------------------------------------------------------ nodes


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


def test_a_model_for_other_images_is_refused(write_files, paper_digit, stub_classifier):
    stub_classifier.card = stub_classifier.card.model_copy(
        update={"image_shape": (32, 32)}
    )
    folder = write_files({"digit.png": png_bytes(paper_digit)})
    with pytest.raises(ValueError, match=r"reads 32x32 images, but inference makes"):
        read_folder(loaders(folder), stub_classifier, params(folder))


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


def test_classify_batch_without_a_usable_image_calls_no_model(stub_classifier):
    table = classify_batch(
        ["a", "b"], [PreparedImage((), "not an image")] * 2, stub_classifier
    )
    assert stub_classifier.batches == [] and list(table.columns) == COLUMNS
    assert table["prediction"].isna().all()


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
    previews = nodes.preview_sheet_images(
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
    assert status["gone.png"].startswith("unreadable")
    assert (status.drop(["pipe.png", "zero.png", "gone.png"]) == "ok").all()


@pytest.fixture
def started(monkeypatch) -> list[int]:
    """The worker counts of the pools the nodes start (each started, of 2 workers)."""
    counts = []
    real_pool = nodes.worker_pool
    monkeypatch.setattr(
        nodes, "worker_pool", lambda workers: counts.append(workers) or real_pool(2)
    )
    return counts


def test_worker_processes_start_with_the_first_file(
    write_files, paper_digit, stub_classifier, started
):
    count = nodes.CHUNK + 1  # a single batch: still read in worker processes
    folder = write_files({f"{i:02d}.png": png_bytes(paper_digit) for i in range(count)})
    predictions = read_folder(
        loaders(folder), stub_classifier, params(folder, workers=2)
    )
    assert started == [2] and (predictions["status"] == "ok").sum() == count


def test_workers_are_handed_a_few_chunks_at_a_time_not_the_whole_folder(
    tmp_path, paper_digit
):
    # A run whose journal save fails stops taking results (Kedro does not close the
    # node's generator): whatever was handed over is still read before it exits.
    data, count = png_bytes(paper_digit), 40 * nodes.CHUNK
    loads = [
        functools.partial(_marked_load, tmp_path / f"{i}", data) for i in range(count)
    ]
    work = nodes.preparer(InferenceParams(input_dir="x"), with_thumbnail=False)
    with nodes._prepared(work, loads, 2, numbers=False) as results:
        taken = list(itertools.islice(results, nodes.CHUNK))
        time.sleep(3)  # time for the workers to read all 640, had they been handed all
        started = len(list(tmp_path.iterdir()))
    assert [item.status for item in taken] == ["ok"] * nodes.CHUNK
    assert started <= (2 + nodes.CHUNKS_AHEAD * 2) * nodes.CHUNK < count


def _marked_load(marker, data: bytes) -> bytes:
    """Leaves a mark that the file was read (picklable, for the workers)."""
    marker.touch()
    time.sleep(0.005)
    return data


def test_each_row_and_the_summary_name_the_model_version(
    write_files, paper_digit, model_card, caplog
):
    caplog.set_level(logging.INFO, logger="mnist_classifier")
    folder = write_files({"a.png": png_bytes(paper_digit), "b.txt": b"text"})
    model = StubClassifier(model_card, version="2026-12-02T01.43.50.636Z")
    predictions = read_folder(loaders(folder), model, params(folder))
    assert (predictions["model_version"] == model.version).all()
    assert f"Model version {model.version}." in caplog.text


def test_a_camera_sized_jpeg_is_decoded_at_the_size_the_digit_needs(paper_digit):
    photo = paper_digit.convert("RGB").resize((4032, 3024), Image.Resampling.BICUBIC)
    data = png_bytes(photo, format="JPEG", quality=90)

    decoded_photo = read_image(lambda: data)

    assert decoded_photo.size == (504, 378)  # draft mode: 1/8 of each side
    small = prepare(lambda: png_bytes(paper_digit), False, max_pixels=10**8)
    large = prepare(lambda: data, False, max_pixels=10**8)
    assert large.status == "ok" and correlation(large.view, small.view) > 0.9


def test_the_digits_are_decoded_in_gray_and_a_thumbnail_in_colour(paper_digit):
    paper = Image.new("L", paper_digit.size, 255)
    blue_ink = Image.merge("RGB", (paper_digit, paper_digit, paper))
    photo = blue_ink.resize((1200, 1200), Image.Resampling.BICUBIC)
    data = png_bytes(photo, format="JPEG", quality=90)

    assert read_image(lambda: data, gray=True).mode == "L"  # the JPEG's own Y
    assert read_image(lambda: data).mode == "RGB"
    for_digits = prepare(lambda: data, False, max_pixels=10**8)
    for_sheet = prepare(lambda: data, True, max_pixels=10**8)
    assert for_sheet.thumbnail[..., 2].mean() > for_sheet.thumbnail[..., 0].mean()
    # The Y stored and Y computed from the decoded colours differ by rounding at most.
    difference = np.abs(for_digits.view.astype(int) - for_sheet.view).max()
    assert for_digits.status == "ok" and difference <= 8


def test_a_jpeg_far_longer_than_it_is_high_is_read(paper_digit):
    strip = png_bytes(Image.new("RGB", (4000, 3), "white"), format="JPEG")
    assert read_image(lambda: strip, gray=True).size == (2000, 2)  # drafted at 1/2


def test_a_file_slower_than_the_time_limit_is_timed_out(paper_digit):
    data = png_bytes(paper_digit)

    def slow() -> bytes:  # a decoder stuck on a file, as a network mount can be
        time.sleep(30)
        return data

    start = time.perf_counter()
    prepared = prepare(slow, False, max_pixels=10**6, seconds=0.2)
    assert prepared.status == "timed out" and prepared.views == ()
    assert time.perf_counter() - start < 5
    assert prepare(lambda: data, False, max_pixels=10**6, seconds=0.2).status == "ok"


def test_off_the_main_thread_a_slow_file_is_timed_out_too(paper_digit):
    data = png_bytes(paper_digit)  # as on a Dask worker, which runs tasks in threads

    def slow() -> bytes:  # blocked in the operating system: abandoned, not stopped
        time.sleep(30)
        return data

    def busy() -> bytes:  # slow in Python, as decoding is: stopped
        while True:
            sum(range(1000))

    start = time.perf_counter()
    statuses = within(
        lambda: [
            prepare(load, False, max_pixels=10**6, seconds=0.2).status
            for load in (slow, busy, lambda: data)
        ]
    )
    assert statuses == ["timed out", "timed out", "ok"]
    assert time.perf_counter() - start < 5
    time.sleep(0.5)
    readers = [t for t in threading.enumerate() if t.name == "read-one-file"]
    assert len(readers) == 1  # the sleeping one; the busy one has stopped


def test_the_run_goes_on_past_a_file_that_times_out(
    write_files, paper_digit, stub_classifier
):
    folder = write_files({f"{i:02d}.png": png_bytes(paper_digit) for i in range(20)})
    images = loaders(folder)
    images["slow.png"] = functools.partial(_slow_load, images["00.png"])

    predictions = within(
        lambda: read_folder(
            images, stub_classifier, params(folder, workers=2, time_limit=0.5)
        )
    )

    status = predictions.set_index("image")["status"]
    assert status["slow.png"] == "timed out"
    assert (status.drop("slow.png") == "ok").all()


def _slow_load(loader) -> bytes:
    """A loader that hangs (picklable, for the worker processes)."""
    time.sleep(60)
    return loader()


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


class SureOf(StubClassifier):
    """Reads the views at ``rows`` of each call as sure 0s, the others as unsure."""

    def __init__(self, card, rows: list[int]) -> None:
        super().__init__(card)
        self.rows = rows

    def predict(self, images: np.ndarray) -> np.ndarray:
        probabilities = np.full((len(images), 10), 0.02, np.float32)
        probabilities[:, 0], probabilities[:, 6] = 0.45, 0.39
        probabilities[self.rows] = 0.001
        probabilities[self.rows, 0] = 0.991
        return probabilities


def test_the_model_chooses_a_number_s_digits_among_its_candidates(
    sample_test, model_card
):
    images, _ = sample_test
    zeros = render_number([images[3], images[10]], np.random.default_rng(0), True)
    data = png_bytes(zeros)
    item = prepare(lambda: data, False, max_pixels=10**6, layout="number")
    assert len(item.lattices) == 1 and len(item.views) == len(item.boxes) > 2
    by_shape = choose(item.lattices)  # without the model, the two zeros
    assert len(by_shape) == 2

    # With the piece verifier silent, the model's reading alone decides.
    silent = [lattice._replace(whole=0 * lattice.whole) for lattice in item.lattices]
    unverified = item._replace(lattices=tuple(silent))
    for sure, digits in ((by_shape, "00"), ([0], "0")):  # [0]: the whole group
        ((read, probabilities),) = classify_prepared(
            [unverified], SureOf(model_card, sure)
        )
        assert read.views == tuple(item.views[i] for i in sure)
        assert read.boxes == tuple(item.boxes[i] for i in sure) and not read.lattices
        assert (probabilities[:, 0] > 0.99).all()
        table = tabulate(["zeros.png"], [(read, probabilities)], model_card.class_names)
        assert table["digits"][0] == digits

    # The verifier tells two touching zeros from one digit, however sure the model.
    ((read, _),) = classify_prepared([item], SureOf(model_card, [0]))
    assert read.views == tuple(item.views[i] for i in by_shape)


def test_one_digit_is_read_the_same_whatever_the_layout_says(paper_digit):
    data = png_bytes(paper_digit)
    digit, auto = (
        prepare(lambda: data, False, max_pixels=10**6, layout=layout)
        for layout in ("digit", "auto")
    )
    assert len(auto.views) == 1 and np.array_equal(auto.view, digit.view)


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
