"""The demo held for minutes: mixed requests from 32 clients, latency, errors and memory.

A synthetic dataset (``footreid synth``, preset ``tiny`` by default) and a real run of
it (``footreid experiment``: a random OSNet x0.25 checkpoint at 256x128, so uploads cost
what they cost in a real run, and the parameter-free ``hsv`` model, with concat, average
and re-ranking rows) are built in a temporary folder; ``footreid serve`` runs them in a
subprocess on a free loopback port with its default limits. ``--clients`` clients
(asyncio, one process) then send requests back to back for ``--minutes``, each picked at
random: info, actions, query pages (every method, filter and offset), rankings, crops,
upload searches (a gallery crop or noise, PNG), and bad requests whose 4xx is known.
A client answered 503 waits its ``Retry-After`` before its next request, as a browser
would.

The table gives, per endpoint, the requests, p50 / p99 / max latency in ms and the
answers by status; "unexpected" counts answers other than the one planned (a 503 of a
busy server included) and transport errors. Below it: throughput, and the server's
resident memory (psutil, else ``/proc``) when it is ready, after the warm-up (the first
``--warmup`` seconds build each method's view once) and at the end, with the growth over
the soak. The issue's goals: p99 < 1 s over all requests, RSS growth < 10 %.

Run: ``.venv/bin/python benchmarks/bench_serve_soak.py`` (``--minutes 10``,
``--clients 32``, ``--preset tiny``, ``--warmup 30``, ``--seed 0``).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CLI = [sys.executable, "-m", "footreid.cli.main"]
REQUEST_TIMEOUT_S = 60.0
EXPERIMENT = """\
name: soak
output_dir: runs
dataset: {root: data, split: valid, tuning_split: null}
models:
  - {name: osnet, checkpoint: osnet.pt}
  - {name: hsv, model: hsv}
embed: {flip_tta: true, batch_size: 64, num_workers: 0, precision: fp32}
methods: {concat: true, average: true, search_weights: false, rerank: [standard]}
"""


def build_run(tmp: Path, preset: str, seed: int) -> Path:
    """Synthetic data, a random OSNet x0.25 checkpoint, an experiment run; its folder."""
    import torch

    from footreid.models import create_model

    cli(["synth", str(tmp / "data"), "--preset", preset, "--seed", str(seed)])
    torch.manual_seed(seed)
    model = create_model("osnet_x0_25", num_classes=0)
    checkpoint = {"model_name": "osnet_x0_25", "model_kwargs": {}, "num_classes": 0,
                  "input_size": [256, 128], "model": model.state_dict(), "config": {}}  # fmt: skip
    torch.save(checkpoint, tmp / "osnet.pt")
    (tmp / "soak.yaml").write_text(EXPERIMENT)
    cli(["experiment", "--config", "soak.yaml"], cwd=tmp)  # the config's paths: from tmp
    return tmp / "runs" / "soak"


def cli(args: list[str], cwd: Path | None = None) -> None:
    """Run a ``footreid`` command; its output on failure."""
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"footreid {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(run: Path, port: int, log: Path) -> subprocess.Popen:
    """``footreid serve RUN`` in a subprocess, returned once ``/api/info`` answers."""
    import httpx

    cmd = [*CLI, "serve", str(run), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/info", timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the server did not answer within 180 s:\n{log.read_text()}")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        with open(f"/proc/{pid}/status") as handle:
            line = next(x for x in handle if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024
    return psutil.Process(pid).memory_info().rss / 2**20


def png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class Plan:
    """What the clients may ask: slugs, queries, crop URLs and upload files of the run."""

    def __init__(self, base: str, run: Path, seed: int) -> None:
        import httpx

        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT_S) as client:
            info = client.get("/api/info").json()
            self.total = client.get("/api/queries", params={"limit": 1}).json()["total"]
            queries = client.get("/api/queries", params={"limit": 500}).json()["items"]
            ranked = client.get("/api/rank", params={"query": queries[0]["bbox_idx"]}).json()
        self.slugs = [m["slug"] for m in info["methods"]]
        self.queries = [q["bbox_idx"] for q in queries]
        self.images = [q["image"] for q in queries] + [g["image"] for g in ranked["items"]]
        rng = np.random.default_rng(seed)
        gallery = sorted((run.parent.parent / "data" / "reid" / "valid" / "gallery").rglob("*.png"))
        picks = rng.choice(len(gallery), size=min(20, len(gallery)), replace=False)
        self.uploads = [gallery[i].read_bytes() for i in picks]
        self.uploads += [png(rng.integers(0, 255, (160, 64, 3), dtype=np.uint8)) for _ in range(5)]

    def pick(self, rng: np.random.Generator) -> tuple[str, str, str, dict, int]:
        """(label, method, path, request kwargs, expected status) of one random request."""
        r, slug = rng.random(), self.slugs[int(rng.integers(len(self.slugs)))]
        query = self.queries[int(rng.integers(len(self.queries)))]
        if r < 0.08:
            return "info", "GET", "/api/info", {}, 200
        if r < 0.12:
            return "actions", "GET", "/api/actions", {}, 200
        if r < 0.32:
            params = {"method": slug, "filter": ("all", "correct", "wrong")[int(rng.integers(3))],
                      "offset": int(rng.integers(max(1, self.total))), "limit": 24}  # fmt: skip
            return "queries", "GET", "/api/queries", {"params": params}, 200
        if r < 0.57:
            params = {"method": slug, "query": query, "k": 20}
            return "rank", "GET", "/api/rank", {"params": params}, 200
        if r < 0.82:
            return "image", "GET", self.images[int(rng.integers(len(self.images)))], {}, 200
        if r < 0.95:
            data = self.uploads[int(rng.integers(len(self.uploads)))]
            files = {"file": ("crop.png", data, "image/png")}
            return "upload", "POST", "/api/search", {"params": {"k": 12}, "files": files}, 200
        if r < 0.975:
            files = {"file": ("notes.txt", b"not an image", "text/plain")}
            return "bad", "POST", "/api/search", {"files": files}, 415
        return "bad", "GET", "/api/rank", {"params": {"query": 10**9}}, 404


async def client_loop(
    client, plan: Plan, seed: int, stop_at: float, out: list, failures: list
) -> None:
    """One client: requests back to back until ``stop_at``; 503 waits its Retry-After."""
    import httpx

    rng = np.random.default_rng(seed)
    while time.monotonic() < stop_at:
        label, method, path, kwargs, expected = plan.pick(rng)
        start = time.perf_counter()
        try:
            response = await client.request(method, path, **kwargs)
            status, retry = response.status_code, response.headers.get("retry-after")
        except httpx.HTTPError as exc:
            status, retry = type(exc).__name__, None
            failures.append(f"{label} {method} {path}: {exc!r}")
        out.append((label, expected, status, time.perf_counter() - start))
        if status == 503 and retry:
            await asyncio.sleep(float(retry))


async def soak(base: str, plan: Plan, clients: int, seconds: float, pid: int) -> dict:
    """Run the clients; outcomes and (time, RSS MiB) samples every 10 s."""
    import httpx

    out: list = []
    failures: list = []
    samples = [(0.0, rss_mb(pid))]
    # idle connections are dropped after 2 s, before uvicorn's 5 s keep-alive timeout: at
    # the same 5 s, a request sent on a connection the server is closing is reset
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0
    )
    start = time.monotonic()
    stop_at = start + seconds
    async with httpx.AsyncClient(base_url=base, timeout=REQUEST_TIMEOUT_S, limits=limits) as c:
        tasks = [
            asyncio.create_task(client_loop(c, plan, i, stop_at, out, failures))
            for i in range(clients)
        ]
        while not all(t.done() for t in tasks):
            await asyncio.sleep(1.0)
            if time.monotonic() - start >= 10 * len(samples):
                samples.append((time.monotonic() - start, rss_mb(pid)))
        await asyncio.gather(*tasks)
    samples.append((time.monotonic() - start, rss_mb(pid)))
    elapsed = time.monotonic() - start
    return {"outcomes": out, "failures": failures, "samples": samples, "elapsed": elapsed}


def log_summary(log: Path) -> str:
    """Warnings and errors the server logged: their count and the last one."""
    lines = [x for x in log.read_text(errors="replace").splitlines() if x.strip()]
    bad = [x for x in lines if any(w in x for w in ("WARNING", "ERROR", "Traceback"))]
    return f"{len(bad)} warnings or errors" + (f", the last: {bad[-1][:300]}" if bad else "")


def print_tables(result: dict, ready_mb: float, warmup_s: float) -> None:
    out, samples = result["outcomes"], result["samples"]
    by_label: dict[str, list] = defaultdict(list)
    for row in out:
        by_label[row[0]].append(row)
        by_label["all"].append(row)
    print("\n| endpoint | requests | p50 ms | p99 ms | max ms | answers | unexpected |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for label in ("info", "actions", "queries", "rank", "image", "upload", "bad", "all"):
        rows = by_label.get(label, [])
        if not rows:
            continue
        ms = np.array([r[3] for r in rows]) * 1000
        statuses = Counter(str(r[2]) for r in rows)
        answers = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        unexpected = sum(r[1] != r[2] for r in rows)
        p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
        print(f"| {label} | {len(rows)} | {p50:.0f} | {p99:.0f} | {ms.max():.0f} | {answers} | "
              f"{unexpected} |")  # fmt: skip
    after = [mb for t, mb in samples if t >= warmup_s] or [samples[-1][1]]
    warm_mb, end_mb = after[0], samples[-1][1]
    print(f"\nthroughput: {len(out) / result['elapsed']:.1f} requests/s over "
          f"{result['elapsed']:.0f} s")  # fmt: skip
    print(f"server RSS: {ready_mb:.0f} MiB ready, {warm_mb:.0f} MiB after the {warmup_s:.0f} s "
          f"warm-up, {end_mb:.0f} MiB at the end: {100 * (end_mb / warm_mb - 1):+.1f} % over the "
          f"soak ({100 * (end_mb / ready_mb - 1):+.1f} % from ready); peak "
          f"{max(mb for _, mb in samples):.0f} MiB")  # fmt: skip
    minutes = [f"{mb:.0f}" for t, mb in samples if int(t) % 60 < 10]
    print(f"RSS each minute (MiB): {' '.join(minutes)}")
    for line in result["failures"][:10]:
        print(f"transport error: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--preset", default="tiny", help="synthetic preset: tiny, small")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds before RSS counts")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from _hardware import cpu_kind, quiet_process

    quiet_process()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        started = time.perf_counter()
        run = build_run(Path(tmp), args.preset, args.seed)
        print(f"run built in {time.perf_counter() - started:.0f} s ({args.preset} preset)")
        port = free_port()
        server = start_server(run, port, Path(tmp) / "server.log")
        try:
            ready_mb = rss_mb(server.pid)
            base = f"http://127.0.0.1:{port}"
            plan = Plan(base, run, args.seed)
            result = asyncio.run(soak(base, plan, args.clients, 60 * args.minutes, server.pid))
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        server_log = log_summary(Path(tmp) / "server.log")
    print(f"\ndemo soak: {args.clients} clients, {args.minutes:g} min, loopback, footreid "
          f"serve defaults; {len(plan.queries)} queries, {len(plan.slugs)} methods")  # fmt: skip
    print(cpu_kind() + f"; {os.cpu_count()} CPUs (server and clients share them)")
    print_tables(result, ready_mb, args.warmup)
    print(f"server log: {server_log}")


if __name__ == "__main__":
    main()
