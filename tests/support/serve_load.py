"""A bounded load on the demo over loopback: mixed requests, latency percentiles.

Used by ``tests/e2e/test_serve_load.py`` (which asserts no error) and
``benchmarks/bench_serve.py`` (which prints the table). The server is uvicorn in a thread
on a free ``127.0.0.1`` port; nothing leaves the machine. The load is bounded in count
(``requests``) and in time: each request has a timeout, and no request starts after
``deadline_s`` (those left are counted as not sent). A request answered 503 with
``Retry-After`` (the demo's bound on uploads in flight) is sent again after that wait,
up to ``MAX_RETRIES`` times, as a client should; its latency includes the waits.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REQUEST_TIMEOUT_S = 60.0
MAX_RETRIES = 5


@contextmanager
def running_server(run: Path, limits=None) -> Iterator[str]:
    """The demo of ``run`` served by uvicorn on loopback (``limits``: a ServeLimits, or
    None for the defaults); yields its base URL."""
    import uvicorn

    from footreid.serve import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    app = create_app(run, limits=limits)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 60 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def crop_png(rng: np.random.Generator) -> bytes:
    """A 64x160 RGB PNG of noise over a kit colour (a player-sized upload)."""
    colour = rng.integers(0, 255, 3)
    pixels = np.clip(colour + rng.normal(0, 25, (160, 64, 3)), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def plan(client, requests: int, rng: np.random.Generator) -> list[tuple[str, str, dict, int]]:
    """(method, path, request kwargs, expected status) of every request, shuffled.

    One in ten is an upload search; the rest are info, query lists with filters,
    rankings of every method, crops, and bad requests (415, 404) whose answer is known.
    """
    info = client.get("/api/info").json()
    slugs = [m["slug"] for m in info["methods"]]
    queries = client.get("/api/queries", params={"limit": 500}).json()["items"]
    kinds = []
    for i in range(requests):
        q = queries[int(rng.integers(len(queries)))]
        slug, kind = slugs[i % len(slugs)], i % 10
        if kind == 0:
            kinds.append(("GET", "/api/info", {}, 200))
        elif kind in (1, 2):
            params = {"method": slug, "filter": ("all", "correct", "wrong")[i % 3]}
            kinds.append(("GET", "/api/queries", {"params": params}, 200))
        elif kind in (3, 4, 5):
            params = {"method": slug, "query": q["bbox_idx"]}
            kinds.append(("GET", "/api/rank", {"params": params}, 200))
        elif kind in (6, 7):
            kinds.append(("GET", q["image"], {}, 200))
        elif kind == 8:
            files = {"file": ("crop.png", crop_png(rng), "image/png")}
            kinds.append(("POST", "/api/search", {"params": {"k": 8}, "files": files}, 200))
        elif i % 20 == 9:
            files = {"file": ("notes.txt", b"not an image", "text/plain")}
            kinds.append(("POST", "/api/search", {"files": files}, 415))
        else:
            kinds.append(("GET", "/api/rank", {"params": {"query": 10**9}}, 404))
    return [kinds[i] for i in rng.permutation(len(kinds))]


@dataclass
class LoadResult:
    """Outcomes of a load: (path, expected, got, seconds) per request sent."""

    outcomes: list[tuple[str, int, int, float]] = field(default_factory=list)
    not_sent: int = 0
    elapsed_s: float = 0.0

    def errors(self) -> list[tuple[str, int, int]]:
        return [(p, e, s) for p, e, s, _ in self.outcomes if e != s]

    def percentiles_ms(self, uploads: bool | None = None) -> dict[str, float]:
        """p50, p95, p99 and max latency in ms (uploads only, others only, or all)."""
        times = [
            t for p, _, _, t in self.outcomes if uploads is None or (p == "/api/search") == uploads
        ]
        ms = np.array(times or [np.nan]) * 1000
        return {f"p{q}": float(np.percentile(ms, q)) for q in (50, 95, 99)} | {
            "max": float(ms.max())
        }


def run_load(
    base_url: str, requests: int, concurrency: int, deadline_s: float, seed: int = 0
) -> LoadResult:
    """Send ``requests`` mixed requests, ``concurrency`` at a time, for at most ``deadline_s``."""
    import httpx

    rng = np.random.default_rng(seed)
    limits = httpx.Limits(max_connections=concurrency)
    result = LoadResult()
    with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        items = plan(client, requests, rng)
        stop_at = time.monotonic() + deadline_s

        def send(item: tuple[str, str, dict, int]) -> tuple[str, int, int, float] | None:
            if time.monotonic() > stop_at:
                return None
            method, path, kwargs, expected = item
            start = time.perf_counter()
            response = client.request(method, path, **kwargs)
            for _ in range(MAX_RETRIES):  # a busy demo's 503 says when to try again
                if response.status_code != 503 or "retry-after" not in response.headers:
                    break
                time.sleep(float(response.headers["retry-after"]))
                response = client.request(method, path, **kwargs)
            return path, expected, response.status_code, time.perf_counter() - start

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            done = list(pool.map(send, items))
        result.elapsed_s = time.perf_counter() - start
    result.outcomes = [d for d in done if d is not None]
    result.not_sent = sum(d is None for d in done)
    return result
