"""Load test of the demo on loopback: 200 mixed requests, 8 at a time, no error.

The server is uvicorn in a thread on a free 127.0.0.1 port. Requests mix every endpoint
(info, query lists with filters, rankings of every method, crops, upload searches) and a
few bad requests whose 4xx answer is the expected one. Each request has a timeout, so
the test is bounded; latencies are printed, never asserted (no timing assertions).
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from fake_run import build_fake_run
from PIL import Image

pytestmark = pytest.mark.slow

REQUESTS = 200
CONCURRENCY = 8
REQUEST_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    uvicorn = pytest.importorskip("uvicorn", reason="the demo needs the 'serve' extra")
    from footreid.serve import create_app

    run = build_fake_run(tmp_path_factory.mktemp("load"), checkpoint=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    config = uvicorn.Config(create_app(run), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 60 s")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 70), (40, 70, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def _plan(client: httpx.Client, rng: np.random.Generator) -> list[tuple[str, str, dict, int]]:
    """(method, path, request kwargs, expected status) for every request, shuffled."""
    info = client.get("/api/info").json()
    slugs = [m["slug"] for m in info["methods"]]
    queries = client.get("/api/queries", params={"limit": 500}).json()["items"]
    kinds = []
    for i in range(REQUESTS):
        q = queries[int(rng.integers(len(queries)))]
        slug = slugs[i % len(slugs)]
        kind = i % 10
        if kind == 0:
            kinds.append(("GET", "/api/info", {}, 200))
        elif kind in (1, 2):
            which = ("all", "correct", "wrong")[i % 3]
            kinds.append(
                ("GET", "/api/queries", {"params": {"method": slug, "filter": which}}, 200)
            )
        elif kind in (3, 4, 5):
            kinds.append(
                ("GET", "/api/rank", {"params": {"method": slug, "query": q["bbox_idx"]}}, 200)
            )
        elif kind in (6, 7):
            kinds.append(("GET", q["image"], {}, 200))
        elif kind == 8:
            files = {"file": ("crop.png", _png(), "image/png")}
            kinds.append(("POST", "/api/search", {"params": {"k": 8}, "files": files}, 200))
        elif i % 20 == 9:
            files = {"file": ("notes.txt", b"not an image", "text/plain")}
            kinds.append(("POST", "/api/search", {"files": files}, 415))
        else:
            kinds.append(("GET", "/api/rank", {"params": {"query": 10**9}}, 404))
    order = rng.permutation(len(kinds))
    return [kinds[i] for i in order]


def test_two_hundred_mixed_requests_eight_at_a_time(base_url: str) -> None:
    rng = np.random.default_rng(0)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        plan = _plan(client, rng)

        def send(item: tuple[str, str, dict, int]) -> tuple[str, int, int, float]:
            method, path, kwargs, expected = item
            start = time.perf_counter()
            response = client.request(method, path, **kwargs)
            return path, expected, response.status_code, time.perf_counter() - start

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            outcomes = list(pool.map(send, plan))
        elapsed = time.perf_counter() - start
        assert client.get("/api/info").status_code == 200  # still serving
    errors = [(p, e, s) for p, e, s, _ in outcomes if e != s]
    assert len(outcomes) == REQUESTS and not errors, errors[:10]
    latency = np.array([t for *_, t in outcomes]) * 1000
    print(
        f"\nload: {REQUESTS} requests, {CONCURRENCY} concurrent, {elapsed:.2f} s "
        f"({REQUESTS / elapsed:.0f} req/s); latency ms p50 {np.percentile(latency, 50):.0f} "
        f"p95 {np.percentile(latency, 95):.0f} max {latency.max():.0f}"
    )
