"""The HTTP API's contract, with a stand-in model: every client mistake is a 4xx."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mnist_classifier.serving.app import ClientError, create_app, parse_images

LIMIT = 10_000


def fake_predict(frame: pd.DataFrame) -> pd.DataFrame:
    """Says 7 for each file that starts with PNG's signature, "not an image" otherwise."""
    png = [data.startswith(b"\x89PNG") for data in frame["image"]]
    return pd.DataFrame(
        {
            "prediction": pd.array([7 if ok else None for ok in png], dtype="Int64"),
            "confidence": [0.9 if ok else float("nan") for ok in png],
            "status": ["ok" if ok else "not an image" for ok in png],
        }
    )


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(fake_predict, max_request_bytes=LIMIT))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(client: TestClient, payload, content_type="application/json"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        "/invocations", content=body, headers={"Content-Type": content_type}
    )


def test_health_endpoints(client):
    assert client.get("/ping").status_code == 200
    assert client.get("/health").status_code == 200


@pytest.mark.parametrize(
    "wrap",
    [
        lambda images: {"dataframe_split": {"columns": ["image"], "data": images}},
        lambda images: {"dataframe_records": [{"image": row[0]} for row in images]},
        lambda images: {"inputs": {"image": [row[0] for row in images]}},
    ],
    ids=["dataframe_split", "dataframe_records", "inputs"],
)
def test_one_record_per_image_a_broken_one_with_its_status(client, wrap):
    images = [[b64(b"\x89PNG...")], [b64(b"hello")], [b64(b"\x89PNG again")]]
    response = post(client, wrap(images))
    assert response.status_code == 200
    assert response.json()["predictions"] == [
        {"prediction": 7, "confidence": 0.9, "status": "ok"},
        {"prediction": None, "confidence": None, "status": "not an image"},
        {"prediction": 7, "confidence": 0.9, "status": "ok"},
    ]


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "reason"),
    [
        (b"not json", "application/json", 400, "the body is not JSON"),
        ([1, 2], "application/json", 400, "not a JSON object"),
        (
            {"rows": []},
            "application/json",
            400,
            "none of dataframe_split, dataframe_records or inputs in keys ['rows']",
        ),
        (
            {"dataframe_split": {"columns": ["img"], "data": [["x"]]}},
            "application/json",
            400,
            "dataframe_split has no column 'image'",
        ),
        (
            {"dataframe_split": {"columns": ["image"], "data": [["%%%"]]}},
            "application/json",
            400,
            "row 0: 'image' is not valid base64",
        ),
        (
            {"dataframe_split": {"columns": ["image"], "data": [[12]]}},
            "application/json",
            400,
            "row 0: 'image' is not a base64 string",
        ),
        (
            {"dataframe_split": {"columns": ["image"], "data": []}},
            "application/json",
            400,
            "no rows",
        ),
        (
            {"dataframe_split": {"columns": ["image"], "data": "x"}},
            "application/json",
            400,
            "must be a list of rows",
        ),
        (b"image=...", "text/csv", 415, "is not application/json"),
        (b"9" * 5_000, "application/json", 400, "the body is not JSON"),  # long
    ],
)
def test_a_malformed_request_gets_a_4xx_with_a_one_line_reason(
    client, payload, content_type, status, reason
):
    response = post(client, payload, content_type)
    assert response.status_code == status
    error = response.json()["error"]
    assert reason in error and "\n" not in error and "Traceback" not in error


def test_json_nested_too_deep_to_parse_is_a_client_error():
    with pytest.raises(ClientError, match="the body is not JSON: maximum recursion"):
        parse_images(b"[" * 100_000, "application/json")


def test_a_body_over_the_limit_is_refused_before_it_is_decoded(client):
    huge = {"dataframe_split": {"columns": ["image"], "data": [[b64(b"x" * LIMIT)]]}}
    response = post(client, huge)
    assert response.status_code == 413
    assert f"over the limit of {LIMIT:,} bytes" in response.json()["error"]


def test_a_failure_of_the_server_is_a_500_without_a_trace():
    def broken(frame):
        raise RuntimeError("secret detail")

    client = TestClient(
        create_app(broken, max_request_bytes=LIMIT), raise_server_exceptions=False
    )
    payload = {"dataframe_split": {"columns": ["image"], "data": [[b64(b"x")]]}}
    response = post(client, payload)
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text


async def post_each(transport: httpx.ASGITransport, files: list[bytes]) -> list:
    """Posts each file in a request of its own, all at once; their responses."""
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        return await asyncio.gather(
            *(
                client.post(
                    "/invocations",
                    json={
                        "dataframe_split": {"columns": ["image"], "data": [[b64(f)]]}
                    },
                )
                for f in files
            )
        )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_concurrent_requests_share_one_call_and_get_their_own_rows():
    calls: list[int] = []

    def slow_predict(frame: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(frame))
        time.sleep(0.05)  # the model is busy: the next requests queue up meanwhile
        return fake_predict(frame)

    app = create_app(slow_predict, max_request_bytes=LIMIT)
    files = [b"\x89PNG one", b"junk", b"\x89PNG three", b"more junk", b"\x89PNG five"]
    responses = await post_each(httpx.ASGITransport(app=app), files)
    statuses = [response.json()["predictions"][0]["status"] for response in responses]
    assert statuses == ["ok", "not an image", "ok", "not an image", "ok"]
    assert sum(calls) == 5 and max(calls) > 1  # fewer calls than requests


@pytest.mark.anyio
async def test_a_client_that_gives_up_does_not_stop_the_others():
    def slow_predict(frame: pd.DataFrame) -> pd.DataFrame:
        time.sleep(0.1)
        return fake_predict(frame)

    app = create_app(slow_predict, max_request_bytes=LIMIT)
    payload = {"dataframe_split": {"columns": ["image"], "data": [[b64(b"\x89PNG")]]}}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        impatient = asyncio.create_task(client.post("/invocations", json=payload))
        await asyncio.sleep(0.02)
        impatient.cancel()  # gone while its image is being read
        response = await asyncio.wait_for(
            client.post("/invocations", json=payload), timeout=10
        )
    assert response.status_code == 200
    assert response.json()["predictions"][0]["status"] == "ok"


@pytest.mark.anyio
async def test_a_request_that_breaks_the_model_fails_alone():
    calls: list[int] = []

    def fragile_predict(frame: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(frame))
        time.sleep(0.05)  # busy: the next requests queue up and share a call
        if b"poison" in list(frame["image"]):
            raise RuntimeError("the model cannot take this one")
        return fake_predict(frame)

    app = create_app(fragile_predict, max_request_bytes=LIMIT)
    files = [b"\x89PNG one", b"\x89PNG two", b"poison", b"\x89PNG four", b"junk"]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    responses = await post_each(transport, files)
    assert [response.status_code for response in responses] == [200, 200, 500, 200, 200]
    statuses = [r.json()["predictions"][0]["status"] for r in responses if r.is_success]
    assert statuses == ["ok", "ok", "ok", "not an image"]
    assert max(calls) > 1  # the poisoned call held other requests, which were answered


@pytest.mark.anyio
async def test_a_client_that_leaves_mid_body_is_no_server_error(caplog):
    app = create_app(fake_predict, max_request_bytes=LIMIT)
    messages = iter(
        [
            {
                "type": "http.request",
                "body": b'{"dataframe_split": ',
                "more_body": True,
            },
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "path": "/invocations",
        "raw_path": b"/invocations",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
    }
    await app(scope, receive, send)

    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


@pytest.mark.anyio
async def test_a_chunked_body_over_the_limit_is_refused_without_reading_it_all():
    sent = 0

    async def chunks():  # no Content-Length: the size is known only as it arrives
        nonlocal sent
        for _ in range(1000):
            sent += 1
            yield b"x" * 1000

    app = create_app(fake_predict, max_request_bytes=LIMIT)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.post(
            "/invocations",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
    assert response.status_code == 413
    assert "over the limit" in response.json()["error"]
    assert sent <= 10 * LIMIT // 1000 + 1  # read up to ten times the limit, no more
