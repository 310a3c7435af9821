"""The demo's limits: streamed body cap (413), uploads in flight (503 + Retry-After),
request timeout (504) and no local path in what the API answers."""

from __future__ import annotations

import io
import json
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from PIL import Image

from footreid.core.errors import ConfigError
from footreid.serve.limits import FORM_OVERHEAD_BYTES, ServeLimits

CHUNK = 64 * 1024
FORM_HEAD = (
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 48), (200, 30, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _endless_form(counter: dict):
    """A multipart body that never ends, in 64 KB chunks; counts the bytes it gave."""
    counter["bytes"] = len(FORM_HEAD)
    yield FORM_HEAD
    while counter["bytes"] < 256 * 2**20:  # a bound, so a broken cap fails, not hangs
        counter["bytes"] += CHUNK
        yield b"\0" * CHUNK


async def _asgi_post(app, path: str, headers: list, body, counter: dict) -> tuple[int, dict]:
    """POST a body chunk by chunk straight to the ASGI app: (status, JSON answer)."""
    chunks = iter(body)
    sent: list[dict] = []

    async def receive() -> dict:
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        "root_path": "",
    }  # fmt: skip
    await app(scope, receive, send)
    body_bytes = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], json.loads(body_bytes)


@pytest.fixture(scope="module")
def small_app(served_run: Path):
    """The demo with a 256 KB upload cap, 2 uploads in flight and a 3 s timeout (warm: the
    upload model's first load would not fit in it)."""
    from footreid.serve import create_app

    limits = ServeLimits(timeout_s=3.0, max_embeds=2, max_upload_bytes=256 * 1024)
    return create_app(served_run, limits=limits)


def test_chunked_body_is_refused_as_soon_as_it_passes_the_cap(small_app) -> None:
    import anyio

    counter: dict = {}
    headers = [(b"content-type", b"multipart/form-data; boundary=xyz")]  # no content-length
    status, answer = anyio.run(
        _asgi_post, small_app, "/api/search", headers, _endless_form(counter), counter
    )
    assert status == 413 and "0.25 MB" in answer["detail"]
    cap = small_app.state.limits.max_body_bytes
    assert cap < counter["bytes"] <= cap + CHUNK  # not one chunk read past the cap


def test_chunked_upload_over_http_gets_413_not_a_spooled_file(served_run: Path) -> None:
    import httpx
    from serve_load import running_server

    limits = ServeLimits(max_upload_bytes=256 * 1024)
    counter: dict = {}
    headers = {"content-type": "multipart/form-data; boundary=xyz"}
    with running_server(served_run, limits) as url:
        response = httpx.post(
            f"{url}/api/search", content=_endless_form(counter), headers=headers, timeout=30
        )
        assert response.status_code == 413, response.text
        assert "limit is 0.25 MB" in response.json()["detail"]
        assert httpx.get(f"{url}/api/info").status_code == 200  # still serving
    # the server closed the connection once it answered: the client stopped sending far
    # before the 256 MB it would send (loopback buffers hold a few MB)
    assert counter["bytes"] < 32 * 2**20, counter


def test_declared_length_over_the_cap_is_refused_before_reading(small_app) -> None:
    import anyio

    counter: dict = {}
    size = small_app.state.limits.max_upload_bytes + FORM_OVERHEAD_BYTES + 1
    headers = [
        (b"content-type", b"multipart/form-data; boundary=xyz"),
        (b"content-length", str(size).encode()),
    ]
    status, answer = anyio.run(
        _asgi_post, small_app, "/api/search", headers, _endless_form(counter), counter
    )
    assert status == 413 and "limit" in answer["detail"]
    assert "bytes" not in counter  # not one byte of the body was asked for


def test_uploads_past_the_bound_get_503_with_retry_after(small_app) -> None:
    from fastapi.testclient import TestClient

    in_flight = small_app.state.in_flight
    files = {"file": ("c.png", _png(), "image/png")}
    with TestClient(small_app) as client:
        in_flight.count = in_flight.limit  # every slot taken by uploads in progress
        try:
            busy = client.post("/api/search", files=files)
        finally:
            in_flight.count = 0
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert "busy" in busy.json()["detail"]
        assert client.post("/api/search", files=files).status_code == 200
        junk = client.post("/api/search", files={"file": ("x.png", b"junk", "image/png")})
        assert junk.status_code == 400
    assert in_flight.count == 0  # slots are given back, after errors too


def test_slow_request_answers_504_and_its_embedding_is_cancelled(small_app, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    uploads = small_app.state.uploads
    pending: list[Future] = []

    def never_done(searcher, pixels) -> Future:
        pending.append(Future())
        return pending[-1]

    monkeypatch.setattr(uploads, "submit", never_done)
    with TestClient(small_app) as client:
        start = time.perf_counter()
        response = client.post("/api/search", files={"file": ("c.png", _png(), "image/png")})
        took = time.perf_counter() - start
        assert response.status_code == 504 and "--request-timeout" in response.json()["detail"]
        assert took < 10
        assert pending and pending[0].cancelled()  # the batcher will skip it
        assert small_app.state.in_flight.count == 0
        assert client.get("/api/info").status_code == 200


def test_info_and_errors_carry_no_local_path(client, served_run: Path) -> None:
    local = str(served_run.parent.resolve())
    info = client.get("/api/info")
    assert info.json()["dataset"] == "data" and local not in info.text
    query = client.get("/api/queries", params={"limit": 1}).json()["items"][0]
    answers = [
        client.get("/api/queries"),
        client.get("/api/actions"),
        client.get("/api/rank", params={"query": query["bbox_idx"]}),
    ]
    assert all(r.status_code == 200 and local not in r.text for r in answers)


def test_missing_files_are_named_without_their_local_path(served_run: Path, tmp_path) -> None:
    import shutil

    from fastapi.testclient import TestClient

    from footreid.serve import create_app

    copy = tmp_path / "copy"
    shutil.copytree(served_run.parent, copy)
    results = json.loads((copy / "run" / "results.json").read_text())
    results["dataset"]["root"] = str(copy / "data")
    (copy / "run" / "results.json").write_text(json.dumps(results))
    (copy / "run" / "osnet.pt").unlink()
    query = next((copy / "data" / "reid" / "valid" / "query").rglob("*.png"))
    bbox_idx = query.name.split("-")[0]
    query.unlink()
    with TestClient(create_app(copy / "run", warm=False)) as client:
        info = client.get("/api/info")
        missing = client.get(f"/api/image/query/{bbox_idx}")
    assert "osnet.pt is missing" in info.text and str(copy) not in info.text
    assert missing.status_code == 404 and "is missing" in missing.json()["detail"]
    assert str(copy) not in missing.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout_s": 0}, "timeout"),
        ({"timeout_s": float("nan")}, "timeout"),
        ({"max_embeds": 0}, "in flight"),
        ({"max_upload_bytes": 11 * 2**20}, "upload limit"),
    ],
)
def test_bad_limits_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ServeLimits(**kwargs)
