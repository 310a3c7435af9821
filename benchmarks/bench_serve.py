"""The demo under load: latency percentiles of 2,000 mixed requests at 32 concurrent.

The load of ``tests/e2e/test_serve_load.py`` (``tests/support/serve_load.py``): a fake
run whose upload model is a random OSNet x0.25 checkpoint at 256x128 (uploads cost what
they cost in a real run), served by uvicorn on loopback; one request in ten is an upload
search, the rest browse (info, query lists, rankings, crops) or are refused (415, 404).
The table gives p50 / p95 / p99 / max latency of all requests, of the uploads and of
the others, in ms. The issue's target: p99 < 1 s over all requests.

Run: ``OMP_NUM_THREADS=1 taskset -c 1 .venv/bin/python benchmarks/bench_serve.py``
(``--requests``, ``--concurrency``, ``--threads N``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "support")]
from _hardware import cpu_kind, quiet_process  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--deadline", type=float, default=300.0, help="seconds at most")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    quiet_process(args.threads)
    from fake_run import build_fake_run
    from serve_load import run_load, running_server

    import footreid

    run = build_fake_run(Path(tempfile.mkdtemp()), checkpoint=True, checkpoint_size=(256, 128))
    with running_server(run) as url:
        result = run_load(url, args.requests, args.concurrency, args.deadline)
    print(f"\ndemo under load: {len(result.outcomes)} requests sent ({result.not_sent} not sent), "
          f"{args.concurrency} concurrent, loopback, {result.elapsed_s:.1f} s, "
          f"{len(result.errors())} unexpected answers")  # fmt: skip
    print(f"footreid from {Path(footreid.__file__).parent}")
    print(cpu_kind())
    print("\n| requests | p50 ms | p95 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for label, uploads in (("all", None), ("upload searches", True), ("others", False)):
        p = result.percentiles_ms(uploads)
        print(f"| {label} | {p['p50']:.0f} | {p['p95']:.0f} | {p['p99']:.0f} | {p['max']:.0f} |")


if __name__ == "__main__":
    main()
