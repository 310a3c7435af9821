"""Measured results a model folder records: read from footreid's own evaluation files.

Accepted files (fractions in [0, 1]):

* a ``footreid.evaluation/1`` document (``footreid evaluate FEATURES --json > r.json``):
  one row per method, with its split, dataset root, mAP, Rank-1 and query count;
* the metrics file of ``footreid evaluate-ranking GT RANKING --json FILE`` (``mAP``, ``rank1``,
  ``num_queries``): one row, whose split and data the caller names in ``split``/``data``.

Numbers are copied, never recomputed or rounded, so the model card shows what was measured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from footreid.core.errors import ConfigError

SCHEMA = "footreid.evaluation/1"


def _row(record: dict[str, Any], where: str, **defaults: Any) -> dict[str, Any]:
    for key in ("mAP", "rank1"):
        value = record.get(key)
        if not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
            raise ConfigError(f"{where}: '{key}' must be a fraction in [0, 1], got {value!r}")
    return {
        "method": record.get("name", defaults.get("method")),
        "split": record.get("split", defaults.get("split")),
        "data": record.get("dataset_root", defaults.get("data")),
        "mAP": float(record["mAP"]),
        "rank1": float(record["rank1"]),
        "num_queries": record.get("num_queries"),
    }


def read_results(
    path: str | Path, split: str | None = None, data: str | None = None
) -> list[dict[str, Any]]:
    """Rows ``{method, split, data, mAP, rank1, num_queries}`` of a results file.

    Args:
        path: see the module docstring for the accepted files.
        split, data: what a bare metrics file was measured on (ignored for documents
            that say it themselves).

    Raises:
        ConfigError: a missing or unreadable file, another schema, or a metric that is
            not a fraction.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"results file {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc})") from None
    if isinstance(doc, dict) and doc.get("schema") == SCHEMA:
        methods = doc.get("methods") or []
        return [_row(m, f"{path} methods[{i}]") for i, m in enumerate(methods)]
    if isinstance(doc, dict) and "mAP" in doc:
        return [_row(doc, str(path), split=split, data=data)]
    raise ConfigError(
        f"{path}: expected a '{SCHEMA}' document (footreid evaluate FEATURES --json) or a "
        "metrics file with mAP and rank1 (footreid evaluate-ranking --json)"
    )
