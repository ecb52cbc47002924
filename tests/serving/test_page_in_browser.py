"""The page for people in headless Chromium, as a person uses it: drawing with the mouse,
choosing files, reading what the page shows. The model is trained for one epoch on the
real MNIST in a temporary copy of the project, served by ``python -m
mnist_classifier.serving --page`` (what ``make app`` runs) in its own process group.

Marked ``browser`` (tests/browser.py says when it runs). Screenshots go to the test's
temporary folder, and also to ``$SCREENSHOT_DIR`` when it is set (the README's comes
from there).
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from tests.browser import CHROMIUM_ARGS, find_chromium
from tests.helpers import PROJECT_ROOT, copy_project, kedro_run, load_sample

from ..pipelines.inference.helpers import on_paper
from .helpers import serving

pytestmark = pytest.mark.browser

CUSTOM_DIGITS = PROJECT_ROOT / "data" / "01_raw" / "custom_digits"
MAX_REQUEST_BYTES = 3_000_000
#: Pen-up to answer shown, for a drawing (the issue's target on 2 cores).
DRAWING_LATENCY_MS = 300
# Strokes on the 280x280 pad, in its pixels: a "1" and a "7" as people write them.
ONE = [(140, 45), (140, 235)]
SEVEN = [(75, 60), (205, 60), (120, 235)]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project copy with a model of one epoch on all of MNIST, registered in its
    MLflow store, and the batch pipeline's predictions for the shipped photos."""
    project = copy_project(tmp_path_factory.mktemp("page"))
    shutil.copytree(PROJECT_ROOT / "data/01_raw/mnist", project / "data/01_raw/mnist")
    shutil.copytree(CUSTOM_DIGITS, project / "photos")
    cwd = Path.cwd()
    os.chdir(project)
    try:
        kedro_run(project, env=None, training={"fit": {"epochs": 1}})
        kedro_run(project, pipelines=["inference"], env=None, input_dir="photos")
    finally:
        os.chdir(cwd)
    return project


@pytest.fixture(scope="module")
def site(project: Path) -> Iterator[str]:
    """``make app``'s server on the project's champion, one worker, on a free port."""
    with serving(
        project,
        "--page",
        "--workers",
        "1",
        MAX_REQUEST_BYTES=str(MAX_REQUEST_BYTES),
    ) as url:
        yield url


@pytest.fixture
def page(site: str, tmp_path: Path) -> Iterator[Page]:
    """The page in headless Chromium; every request it makes is kept in ``page.sent``."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.sent = []
        context.on("request", lambda request: page.sent.append(request.url))
        page.goto(site)
        expect(page.locator("#model")).to_contain_text("models:/mnist_classifier/1")
        try:
            yield page
        finally:
            browser.close()


def draw(page: Page, stroke: list[tuple[int, int]]) -> None:
    """Draws one stroke with the mouse, from point to point, on a cleared pad."""
    page.click("#clear")
    box = page.locator("#pad").bounding_box()
    page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
    page.mouse.down()
    for x, y in stroke[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
    page.mouse.up()


def drawing_read(page: Page, expected: str) -> int:
    """Waits for the drawing's answer; returns milliseconds from pen-up to answer."""
    drawn = page.locator("#drawn")
    expect(drawn).to_have_attribute("data-status", "ok")
    expect(drawn).to_have_attribute("data-prediction", expected)
    expect(drawn.locator(".bar")).to_have_count(10)
    return int(drawn.get_attribute("data-latency-ms"))


def choose(page: Page, files: list[Path]) -> None:
    """Chooses files with the page's file picker; waits until each has its answer."""
    before = page.locator("#results .reading[data-status]").count()
    page.set_input_files("#picker", [str(path) for path in files])
    expect(page.locator("#results .reading[data-status]")).to_have_count(
        before + len(files), timeout=120_000
    )


def card(page: Page, name: str):
    return page.locator(f'#results .reading[data-name="{name}"]')


def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    with Image.open(path) as image:
        assert image.width == 1280
    if os.environ.get("SCREENSHOT_DIR"):
        shutil.copy(path, Path(os.environ["SCREENSHOT_DIR"]) / f"page-{name}.png")


def test_drawings_and_files_are_read_as_the_batch_pipeline_reads_them(
    page: Page, project: Path, site: str, tmp_path: Path
):
    latencies = []
    draw(page, ONE)
    latencies.append(drawing_read(page, "1"))
    draw(page, SEVEN)
    latencies.append(drawing_read(page, "7"))
    view = page.locator("#drawn img.view")
    expect(view).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))

    photos = sorted(path for path in (project / "photos").rglob("*") if path.is_file())
    choose(page, photos)
    (csv,) = (project / "data/07_model_output/mnist/predictions.csv").glob("*/*.csv")
    batch = pd.read_csv(csv)
    assert len(batch) == len(photos) > 10
    for row in batch.itertuples():
        shown = card(page, Path(row.image).name)
        expect(shown).to_have_attribute("data-status", row.status)
        if row.status == "ok":
            expect(shown).to_have_attribute("data-prediction", str(int(row.prediction)))
            # Each bar's tooltip holds its probability, to 0.1%: the pipeline's numbers.
            bars = shown.locator(".bar").evaluate_all(
                "bars => bars.map(bar => bar.title)"
            )
            shown_p = [float(title.split(": ")[1].rstrip("%")) for title in bars]
            expected_p = [100 * getattr(row, f"p{k}") for k in range(10)]
            assert shown_p == pytest.approx(expected_p, abs=0.051), row.image
    screenshot(page, tmp_path, "drawn-and-photos")

    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping list: milk, eggs, 7 apples.\n")
    choose(page, [notes])
    expect(card(page, "notes.txt")).to_have_attribute("data-status", "not an image")
    expect(card(page, "notes.txt").locator(".reason")).to_contain_text("PNG, JPEG")
    draw(page, ONE)  # and the page goes on
    latencies.append(drawing_read(page, "1"))
    expect(page.locator("#results .reading")).to_have_count(len(photos) + 1)
    screenshot(page, tmp_path, "after-a-text-file")

    hosts = {urlsplit(url).netloc for url in page.sent if not url.startswith("data:")}
    assert hosts == {urlsplit(site).netloc}, page.sent
    assert max(latencies) < DRAWING_LATENCY_MS, latencies


def test_bad_files_each_get_a_message_and_the_page_stays_up(
    page: Page, site: str, tmp_path: Path
):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "empty.png").write_bytes(b"")
    Image.new("L", (12_000, 12_000), 255).save(folder / "huge.png")  # 144 megapixels
    (folder / "big.jpg").write_bytes(os.urandom(MAX_REQUEST_BYTES + 1))
    bad = sorted(folder.iterdir())
    choose(page, bad)
    reasons = {
        "empty.png": ("empty file", "0 bytes"),
        "huge.png": ("too large", "megapixels"),
        "big.jpg": ("too big to send", "smaller copy"),
    }
    for name, (status, words) in reasons.items():
        expect(card(page, name)).to_have_attribute("data-status", status)
        expect(card(page, name).locator(".reason")).to_contain_text(words)

    # 500 files at once: every one is read and answered; the earlier ones stay.
    many = tmp_path / "many"
    many.mkdir()
    images = load_sample("t10k", "images")
    for index in range(500):
        Image.fromarray(on_paper(images[index % len(images)])).save(
            many / f"digit_{index:03d}.png"
        )
    choose(page, sorted(many.iterdir()))
    expect(page.locator('#results .reading[data-status="ok"]')).to_have_count(500)
    expect(page.locator("#progress")).to_have_text(
        "503 files: 500 read, "
        + f"{page.locator('#results .reading.unsure').count()} of them unsure, "
        + "3 could not be read."
    )
    for name in reasons:
        expect(card(page, name)).to_have_count(1)
    screenshot(page, tmp_path, "bad-and-many-files")

    with urllib.request.urlopen(f"{site}/ping", timeout=10) as response:
        assert response.status == 200
    draw(page, SEVEN)
    drawing_read(page, "7")
