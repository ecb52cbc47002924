"""The page's routes, with a stand-in model: what ``/read`` answers, and that the page
asks nothing of any other server. (tests/serving/test_page_in_browser.py drives the
real page in Chromium.)"""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from mnist_classifier.params import InferenceParams
from mnist_classifier.serving.app import create_app
from mnist_classifier.serving.digit_reader import DigitReader, read_digits
from mnist_classifier.serving.page import STATIC, add_page
from tests.helpers import load_sample

from ..pipelines.inference.helpers import on_paper, png_bytes, png_header

LIMIT = 200_000
MODEL = "models:/mnist_classifier/7"


def page_client(
    classifier, low_confidence: float = 0.8, time_limit: float = 30
) -> TestClient:
    inference = InferenceParams(
        input_dir="upload",
        max_pixels=4_000_000,
        low_confidence=low_confidence,
        time_limit=time_limit,
    )
    reader = DigitReader(classifier, inference)
    app = create_app(lambda frame: frame, LIMIT)
    add_page(app, reader, MODEL, LIMIT)
    return TestClient(app)


@pytest.fixture
def client(stub_classifier) -> TestClient:
    return page_client(stub_classifier)


@pytest.fixture(scope="module")
def digit_png() -> bytes:
    return png_bytes(Image.fromarray(on_paper(load_sample("t10k", "images")[0])))


def read(client: TestClient, body: bytes):
    return client.post(
        "/read", content=body, headers={"Content-Type": "application/octet-stream"}
    )


def decode(data_url: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert data_url.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(data_url.removeprefix(prefix))))


def test_a_digit_is_read_with_its_view_probabilities_and_thumbnail(
    client, stub_classifier, digit_png
):
    response = read(client, digit_png)

    assert response.status_code == 200
    reading = response.json()
    assert reading["status"] == "ok" and reading["reason"] is None
    assert reading["prediction"] == "7" and not reading["unsure"]
    # The served model's own answer for the same file: the same numbers.
    row = read_digits(
        [digit_png], stub_classifier, InferenceParams(input_dir="upload")
    ).iloc[0]
    assert reading["confidence"] == pytest.approx(row["confidence"])
    assert reading["probabilities"] == pytest.approx([row[f"p{k}"] for k in range(10)])
    # What the model saw: MNIST's 28x28 digit, light on black.
    view = np.asarray(decode(reading["view"]))
    assert view.shape == (28, 28) and view.max() > 200 and view[0].max() == 0
    assert max(decode(reading["thumbnail"]).size) <= 96


def test_an_answer_below_low_confidence_is_flagged_with_the_reason(
    stub_classifier, digit_png
):
    reading = read(page_client(stub_classifier, low_confidence=0.9), digit_png).json()
    assert reading["status"] == "ok" and reading["unsure"]
    assert (
        "82.0%" in reading["reason"] and "inference.low_confidence" in reading["reason"]
    )


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"Shopping list: milk, eggs.\n", "not an image", "PNG, JPEG"),
        (b"", "empty file", "0 bytes"),
        (png_header(12_000, 12_000), "too large", "4 megapixels"),
        (png_bytes(Image.new("L", (64, 48), 230)), "empty image", "No digit"),
    ],
    ids=["text", "empty", "144 megapixels", "blank"],
)
def test_an_unusable_file_gets_its_status_and_a_reason_for_people(
    client, body, status, words
):
    response = read(client, body)
    assert response.status_code == 200
    reading = response.json()
    assert reading["status"] == status and reading["prediction"] is None
    assert words in reading["reason"] and "\n" not in reading["reason"]


def test_a_file_slower_than_the_time_limit_is_explained(stub_classifier):
    slow = png_bytes(Image.new("L", (2000, 1500), 255))  # 3 MP: far over 1 ms to decode
    reading = read(page_client(stub_classifier, time_limit=0.001), slow).json()
    assert reading["status"] == "timed out"
    assert "inference.time_limit" in reading["reason"]


def test_a_file_over_the_limit_is_refused_in_one_line(client):
    response = read(client, b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert f"over the limit of {LIMIT:,} bytes" in response.json()["error"]


def test_about_names_the_model_its_classes_and_limits(client):
    about = client.get("/about").json()
    assert about == {
        "model": MODEL,
        "dataset": "mnist",
        "class_names": [str(digit) for digit in range(10)],
        "low_confidence": 0.8,
        "layout": "digit",
        "max_pixels": 4_000_000,
        "time_limit": 30.0,
        "max_request_bytes": LIMIT,
    }


def test_a_bad_layout_is_refused_in_one_line_that_names_it(client):
    response = client.post("/read?layout=digits", content=b"x")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error.startswith("query.layout: Input should be 'auto', 'digit' or 'number'")


@pytest.mark.parametrize("page", ["/", "/static/index.html"])
def test_the_page_loads_only_this_servers_files(client, page):
    response = client.get(page)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "*" not in policy
    linked = re.findall(r'(?:src|href)="([^"]*)"', response.text)
    assert sorted(linked) == ["/static/page.css", "/static/page.js", "data:,"]
    for name in ["page.css", "page.js"]:
        assert client.get(f"/static/{name}").status_code == 200
    # No address of another server anywhere in the page's files.
    for path in STATIC.iterdir():
        assert not re.search(r"(https?:)?//[a-z0-9]", path.read_text()), path.name
