"""Load test of the demo on loopback: 2,000 mixed requests, 32 at a time, no error.

The run's upload model is OSNet x0.25 at the real 256x128, so an upload search costs
what it costs in a real run. Requests mix every endpoint (one in ten an upload search)
and a few bad requests whose 4xx answer is the expected one. The load is bounded in
count and in time (a timeout per request, no request started after ``DEADLINE_S``);
latency percentiles are printed, never asserted (speed lives in
``benchmarks/bench_serve.py``). ``FOOTREID_LOAD_REQUESTS`` and
``FOOTREID_LOAD_CONCURRENCY`` change the load.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fake_run import build_fake_run
from serve_load import run_load, running_server

pytestmark = pytest.mark.slow

REQUESTS = int(os.environ.get("FOOTREID_LOAD_REQUESTS", "2000"))
CONCURRENCY = int(os.environ.get("FOOTREID_LOAD_CONCURRENCY", "32"))
DEADLINE_S = 300.0


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("uvicorn", reason="the demo needs the 'serve' extra")
    pytest.importorskip("httpx", reason="the load test needs httpx (the 'dev' extra)")
    run = build_fake_run(tmp_path_factory.mktemp("load"), checkpoint=True,
                         checkpoint_size=(256, 128))  # fmt: skip
    with running_server(run) as url:
        yield url


def test_mixed_requests_under_concurrency_all_answer_as_expected(base_url: str) -> None:
    import httpx

    result = run_load(base_url, REQUESTS, CONCURRENCY, DEADLINE_S)
    assert httpx.get(f"{base_url}/api/info").status_code == 200  # still serving
    assert result.not_sent == 0, f"{result.not_sent} requests not sent within {DEADLINE_S} s"
    assert len(result.outcomes) == REQUESTS and not result.errors(), result.errors()[:10]
    for label, uploads in (("all", None), ("uploads", True), ("others", False)):
        p = result.percentiles_ms(uploads)
        print(f"\nload {label}: {REQUESTS} requests, {CONCURRENCY} concurrent, "
              f"{result.elapsed_s:.1f} s; ms p50 {p['p50']:.0f} p95 {p['p95']:.0f} "
              f"p99 {p['p99']:.0f} max {p['max']:.0f}")  # fmt: skip
