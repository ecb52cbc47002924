"""The HTTP API: MLflow's scoring protocol in front of a ``DigitReader``.

``POST /invocations`` takes MLflow's JSON (``dataframe_split``, ``dataframe_records`` or
``inputs``) with a column ``image`` of base64-encoded files, one or many rows, and
answers ``{"predictions": [...]}``, one record per image in the order sent, with the
columns of ``predictions.csv`` but ``image`` and ``model_version`` (``digit_reader``
lists them). ``GET /ping`` and ``GET /health`` say whether it is up.

MLflow's own scoring server (``mlflow models serve``) serves the same model, but answers
a client's mistake with its stack trace and reads bodies of any size; this one answers
every mistake with a 4xx and a one-line reason, refuses a body over
``max_request_bytes`` before reading it all, and a broken image only gets its status.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from mnist_classifier.messages import field_problem

logger = logging.getLogger(__name__)

COLUMN = "image"
Predict = Callable[[pd.DataFrame], pd.DataFrame]
Answer = TypeVar("Answer")


class ClientError(ValueError):
    """A request the API cannot use: its HTTP status and a one-line reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Batcher(Generic[Answer]):
    """Hands the images of requests that arrive together to ``read`` in one call.

    ``read`` answers a list of images with one answer per image, in order. A request's
    images wait until ``read`` is free; the requests that have arrived by then go in
    one call (more join it while it holds fewer than ``max_images``; one request is
    never split), and each gets its own answers back. A model call costs much the same
    for one image as for several, so concurrent clients wait less, not more. If a call
    fails, its requests are read again one at a time, so that only a request that
    fails on its own gets the error.
    """

    def __init__(
        self, read: Callable[[list[bytes]], Sequence[Answer]], max_images: int = 64
    ) -> None:
        self.read = read
        self.max_images = max_images
        self.queue: asyncio.Queue[tuple[list[bytes], asyncio.Future]] | None = None
        self.task: asyncio.Task | None = None

    async def __call__(self, images: list[bytes]) -> list[Answer]:
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.get_loop() is not loop:
            # Started by the first request, in the loop that serves (a test client
            # may run each request in a loop of its own).
            self.queue = asyncio.Queue()
            self.task = loop.create_task(self.run(self.queue))
        answer = loop.create_future()
        await self.queue.put((images, answer))
        return await answer

    async def run(self, queue: asyncio.Queue) -> None:
        """Serves the queue until cancelled."""
        while True:
            waiting = [await queue.get()]
            count = len(waiting[0][0])
            while not queue.empty() and count < self.max_images:
                waiting.append(queue.get_nowait())
                count += len(waiting[-1][0])
            try:
                await self.answer(waiting)
            except Exception as error:
                if len(waiting) == 1:
                    _fail(waiting[0][1], error)
                    continue
                for one in waiting:  # one at a time: only a request failing alone fails
                    try:
                        await self.answer([one])
                    except Exception as alone:
                        _fail(one[1], alone)

    async def answer(self, waiting: list[tuple[list[bytes], asyncio.Future]]) -> None:
        """Reads the waiting requests' images in one call; each gets its answers."""
        images = [image for request, _ in waiting for image in request]
        answers = await run_in_threadpool(self.read, images)
        start = 0
        for request, answer in waiting:
            if not answer.done():  # done: its client has gone
                answer.set_result(list(answers[start : start + len(request)]))
            start += len(request)


def _fail(answer: asyncio.Future, error: Exception) -> None:
    if not answer.done():  # done: its client has gone
        answer.set_exception(error)


def create_app(
    predict: Predict, max_request_bytes: int, description: str = ""
) -> FastAPI:
    """The API around ``predict`` (a pyfunc model's ``predict``)."""
    batcher = Batcher(lambda images: records(predict(pd.DataFrame({COLUMN: images}))))
    app = FastAPI(title="mnist-classifier", description=description)

    @app.get("/ping")
    @app.get("/health")
    def health() -> Response:
        return Response("\n", media_type="application/json")

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        body = await read_body(request, max_request_bytes)
        images = parse_images(body, request.headers.get("content-type", ""))
        return JSONResponse({"predictions": await batcher(images)})

    @app.exception_handler(ClientError)
    async def client_error(request: Request, error: ClientError) -> Response:
        """A client's mistake, on any route (the page's too): its 4xx, one line."""
        return JSONResponse({"error": str(error)}, status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_parameter(
        request: Request, error: RequestValidationError
    ) -> Response:
        """A query or path parameter FastAPI refused: its 422, one line naming it."""
        reasons = map(field_problem, error.errors())
        return JSONResponse({"error": "; ".join(reasons)}, status_code=422)

    @app.exception_handler(Exception)
    async def server_error(request: Request, error: Exception) -> Response:
        logger.exception("Request to %s failed", request.url.path)
        return JSONResponse(
            {"error": "internal error; the server log has the details"},
            status_code=500,
        )

    return app


async def read_body(request: Request, limit: int) -> bytes:
    """Reads the body, refusing one over ``limit`` bytes without keeping or decoding it.

    The rest of a refused body is read and dropped (up to ten times the limit), so that
    the client gets its 413 rather than a connection reset while it is still sending.
    """
    declared = request.headers.get("content-length")
    size = int(declared) if declared is not None and declared.isdigit() else None
    body, received = bytearray(), 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > 10 * limit:
                break
            if (size or received) <= limit:
                body += chunk
    except ClientDisconnect:  # nobody is left to answer: no server error
        raise ClientError(
            400, "the client left before sending the whole body"
        ) from None
    if (size or received) > limit:
        raise ClientError(413, _too_large(max(size or 0, received), limit))
    return bytes(body)


def _too_large(size: int, limit: int) -> str:
    return (
        f"request body of {size:,} bytes is over the limit of {limit:,} bytes; "
        "send fewer images per request"
    )


def parse_images(body: bytes, content_type: str) -> list[bytes]:
    """The decoded files of the request's ``image`` column, in row order."""
    if content_type.split(";", maxsplit=1)[0].strip().lower() != "application/json":
        raise ClientError(415, f"content type '{content_type}' is not application/json")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:  # bad bytes or syntax, too deep, …
        raise ClientError(400, f"the body is not JSON: {error}") from error
    values = _column(payload)
    if not values:
        raise ClientError(400, f"no rows: send at least one '{COLUMN}'")
    return [_decode(row, value) for row, value in enumerate(values)]


def _column(payload: Any) -> list[Any]:
    """The ``image`` values of MLflow's JSON formats."""
    if not isinstance(payload, dict):
        raise ClientError(400, _expected("the body is not a JSON object"))
    if "dataframe_split" in payload:
        split = payload["dataframe_split"]
        columns = split.get("columns") if isinstance(split, dict) else None
        if not isinstance(columns, list) or COLUMN not in columns:
            raise ClientError(400, _expected("dataframe_split has no column 'image'"))
        index = columns.index(COLUMN)
        data = split.get("data")
        if not isinstance(data, list) or not all(
            isinstance(row, list) and len(row) == len(columns) for row in data
        ):
            raise ClientError(
                400, "dataframe_split.data must be a list of rows, one value per column"
            )
        return [row[index] for row in data]
    if "dataframe_records" in payload:
        rows = payload["dataframe_records"]
        if not isinstance(rows, list) or not all(
            isinstance(row, dict) and COLUMN in row for row in rows
        ):
            raise ClientError(
                400, _expected("every dataframe_records row needs an 'image'")
            )
        return [row[COLUMN] for row in rows]
    if "inputs" in payload:
        inputs = payload["inputs"]
        if not isinstance(inputs, dict) or not isinstance(inputs.get(COLUMN), list):
            raise ClientError(400, _expected("inputs has no list 'image'"))
        return inputs[COLUMN]
    raise ClientError(
        400,
        _expected(
            "none of dataframe_split, dataframe_records or inputs in keys "
            f"{sorted(payload)}"
        ),
    )


def _expected(problem: str) -> str:
    return (
        f'{problem}; expected {{"dataframe_split": {{"columns": ["{COLUMN}"], '
        '"data": [["<base64 of an image file>"]]}}'
    )


def _decode(row: int, value: Any) -> bytes:
    if not isinstance(value, str):
        raise ClientError(400, f"row {row}: '{COLUMN}' is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ClientError(
            400, f"row {row}: '{COLUMN}' is not valid base64 ({error})"
        ) from error


def records(predictions: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON record per image; an unusable image's numbers are null."""
    return [
        {key: _plain(value) for key, value in row.items()}
        for row in predictions.to_dict(orient="records")
    ]


def _plain(value: Any) -> Any:
    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value
