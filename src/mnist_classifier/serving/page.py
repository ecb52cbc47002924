"""The page for people (``make app``): draw a digit or drop image files on it.

``GET /`` is the page. Its HTML, script and style sheet are in ``serving/static/`` and
this app serves them: no CDN, no web font (the system's own), and a
Content-Security-Policy that lets the page load from and send to this server only.
``GET /about`` tells the page the model, its classes and limits. ``POST /read`` takes
one image file as the raw request body and answers a ``Reading``: the digit or number
read, how sure the model is (every class's probability for a single digit), the 28x28
view the model saw and a thumbnail, or why the file cannot be read. It runs the served
model's own code (``DigitReader.read``), so the page reads a file exactly as the
inference pipeline and ``/invocations`` do.
"""

from __future__ import annotations

import base64
import functools
from pathlib import Path
from typing import get_args

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from PIL import Image
from pydantic import BaseModel

from mnist_classifier.params import Layout
from mnist_classifier.serving.app import Batcher, read_body
from mnist_classifier.serving.digit_reader import DigitReader, png_bytes

#: The page's HTML, script and style sheet.
STATIC = Path(__file__).with_name("static")

#: The page may load and send nothing but this server's files and the images it makes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
#: What the statuses of unusable files mean for the person who sent one.
REASONS = {
    "empty file": "The file is empty (0 bytes): there is nothing to read.",
    "not an image": (
        "Not an image file the model can read: send a PNG, JPEG, GIF, BMP, TIFF or WebP."
    ),
    "empty image": (
        "No digit stands out from the paper: dark ink on light paper (or light on "
        "dark), with the digit a good part of the picture."
    ),
}


class About(BaseModel):
    """What the page shows of the model, and the limits it checks files against."""

    model: str  # the served model's URI, e.g. models:/mnist_classifier/3
    dataset: str
    class_names: list[str]
    low_confidence: float  # inference.low_confidence: answers below it are flagged
    layout: Layout  # inference.layout: how images are read unless the page says
    max_pixels: int  # inference.max_pixels: larger images are refused unread
    time_limit: float | None  # inference.time_limit: seconds one file may take
    max_request_bytes: int  # larger files are refused before they are sent


class Reading(BaseModel):
    """One image, as the page shows it."""

    status: str  # "ok", or why the file cannot be classified (the pipeline's status)
    reason: str | None = None  # for people: what the status means and what to do
    prediction: str | None = None  # the class name; for a number, its digits ("2026")
    confidence: float | None = None  # for a number, that of its least sure digit
    probabilities: list[float] = []  # one per class for one digit; none for a number
    digit_confidences: list[float] = []  # one per digit read, left to right
    unsure: bool = False  # confidence below low_confidence
    view: str | None = None  # the 28x28 image the model saw, as a PNG data: URL
    thumbnail: str | None = None  # a small upright copy of the image, a PNG data: URL


def read_files(files: list[bytes], reader: DigitReader, about: About) -> list[Reading]:
    """Reads image files as the served model does, keeping what the page shows."""
    table, prepared = reader.read(files, with_thumbnails=True)
    readings = []
    for row, item in zip(table.to_dict(orient="records"), prepared):
        reading = Reading(
            status=row["status"],
            reason=_reason(row["status"], about),
            view=_png(item.view),
            thumbnail=_png(item.thumbnail),
        )
        if row["status"] == "ok":
            reading.prediction = row["digits"]
            reading.confidence = float(row["confidence"])
            reading.digit_confidences = [
                float(value) for value in row["digit_confidences"].split()
            ]
            if len(item.views) == 1:
                reading.probabilities = [
                    float(row[f"p{k}"]) for k in range(len(about.class_names))
                ]
            reading.unsure = reading.confidence < about.low_confidence
            if reading.unsure:
                reading.reason = (
                    f"Unsure: {reading.confidence:.1%} is below the "
                    f"{about.low_confidence:.0%} the project trusts "
                    "(inference.low_confidence)."
                )
        readings.append(reading)
    return readings


def _reason(status: str, about: About) -> str | None:
    if status == "ok":
        return None
    if status == "too large":
        return (
            f"More than {about.max_pixels / 1e6:g} megapixels, the most the model "
            "reads (inference.max_pixels): send a smaller copy."
        )
    if status == "timed out" and about.time_limit:
        return (
            f"Reading it took longer than {about.time_limit:g} s, the most one file "
            "may take (inference.time_limit): send a smaller or simpler copy."
        )
    if status.startswith("unreadable"):
        return f"The file is damaged or cut short ({status}): save or export it again."
    return REASONS.get(status, status)


def _png(pixels: np.ndarray | None) -> str | None:
    """A ``data:`` URL of the pixels as a PNG, for an ``<img>`` on the page."""
    if pixels is None:
        return None
    data = png_bytes(Image.fromarray(pixels))
    return "data:image/png;base64," + base64.b64encode(data).decode()


def add_page(
    app: FastAPI, reader: DigitReader, model: str, max_request_bytes: int
) -> None:
    """Adds the page and its routes to the API ``app`` serving ``reader``."""
    about = About(
        model=model,
        dataset=reader.classifier.card.dataset,
        class_names=reader.classifier.card.class_names,
        low_confidence=reader.inference.low_confidence,
        layout=reader.inference.layout,
        max_pixels=reader.inference.max_pixels,
        time_limit=reader.inference.time_limit,
        max_request_bytes=max_request_bytes,
    )
    # Files sent together (the page sends two at a time) are read in one call, by
    # the batcher of the layout the person chose.
    batchers = {
        layout: Batcher(
            functools.partial(
                read_files, reader=reader.with_layout(layout), about=about
            ),
            16,
        )
        for layout in get_args(Layout)
    }

    @app.middleware("http")
    async def content_security_policy(request: Request, call_next) -> Response:
        """The policy on every answer of the app (a 500 aside, which is no page), so
        on the page wherever it is fetched from."""
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return FileResponse(STATIC / "index.html")

    @app.get("/about")
    def describe() -> About:
        return about

    @app.post("/read", response_model=Reading)
    async def read(request: Request, layout: Layout | None = None) -> Response:
        """Reads the image file sent as the body (any content type), as one digit, a
        number or either (``?layout=``; default ``inference.layout``)."""
        body = await read_body(request, max_request_bytes)  # ClientError: its 4xx
        (reading,) = await batchers[layout or about.layout]([body])
        return JSONResponse(reading.model_dump())

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
