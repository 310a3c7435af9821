"""Process helpers of the benchmarks: memory readings and one-thread worker subprocesses.

Each measured approach runs in its own subprocess, so that its peak memory (VmHWM) is
its own and a crash or an out-of-memory kill of one approach cannot hide the others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def status_kb(field: str) -> int:
    """A ``/proc/self/status`` field in kB (e.g. ``VmHWM``: peak resident memory)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def available_bytes() -> int:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (0 where unknown)."""
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def run_worker(script: str, which: str, args: list[str]) -> dict[str, Any]:
    """Run ``script --worker which *args`` on one thread; its last stdout line, as JSON."""
    cmd = [sys.executable, script, "--worker", which, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ONE_THREAD})
    if done.returncode != 0:
        raise SystemExit(f"{which} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
