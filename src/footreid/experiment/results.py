"""``results.json`` (the schema the report and the demo read) and ``results.md``.

results.json::

    {"dataset": {"root": str, "split": str, "tuning_split": str | null},
     "models": [{"name": str, "checkpoint": str | null, "features": "features/<file>.npz",
                 "train_run": str | null}],
     "methods": [{"name": str, "slug": str, "spec": MethodSpec.to_dict(),
                  "metrics": {"mAP": float, "rank1": float, "cmc": [20 floats],
                              "num_queries": int},
                  "time_s": float, "per_query_csv": "per_query/<slug>.csv"}],
     "best_method": slug}

Metrics are fractions in [0, 1]; ``cmc[k - 1]`` is CMC@k, measured from the rankings.
Paths inside the run are relative to it; ``checkpoint`` is null for a registry model
with pretrained weights (no training checkpoint to embed uploads with).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footreid.core.io import atomic_write_json, atomic_write_text
from footreid.evaluate.methods import MethodResult


@dataclass
class MethodRow:
    """One evaluated row of the table."""

    slug: str
    result: MethodResult
    per_query_csv: Path
    note: str = ""

    def to_json(self, run_dir: Path) -> dict[str, Any]:
        return {
            "name": self.result.spec.name,
            "slug": self.slug,
            "spec": self.result.spec.to_dict(),
            "metrics": self.result.metrics(),
            "time_s": round(float(self.result.time_s), 4),
            "per_query_csv": self.per_query_csv.relative_to(run_dir).as_posix(),
        }


def write_results_json(
    run_dir: Path,
    dataset: dict[str, Any],
    models: list[dict[str, Any]],
    rows: list[MethodRow],
    best: str,
) -> Path:
    """Write ``run_dir/results.json`` atomically (schema in the module docstring)."""
    path = run_dir / "results.json"
    atomic_write_json(
        path,
        {
            "dataset": dataset,
            "models": models,
            "methods": [row.to_json(run_dir) for row in rows],
            "best_method": best,
        },
    )
    return path


def _pct(value: float) -> str:
    return f"{100 * value:.2f}"


def write_results_md(
    run_dir: Path,
    title: str,
    dataset: dict[str, Any],
    model_lines: list[str],
    rows: list[MethodRow],
    best: str,
    notes: list[str],
) -> Path:
    """Write ``run_dir/results.md``: the models, the results table and how it was made."""
    tuning = dataset["tuning_split"] or "none"
    lines = [
        f"# {title}",
        "",
        f"Dataset `{dataset['root']}`, reported split **{dataset['split']}**, "
        f"tuning split **{tuning}**.",
        "",
        "## Models",
        "",
        "| model | source | input size | flip TTA | precision | embedding |",
        "| --- | --- | --- | --- | --- | --- |",
        *model_lines,
        "",
        "## Results",
        "",
        "mAP and CMC in %, measured per action (SPEC.md section 3); time = seconds to "
        "compute the method's distances (ensemble, re-ranking) and evaluate them.",
        "",
        "| method | mAP | Rank-1 | CMC@5 | CMC@10 | CMC@20 | time (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        r = row.result.result
        name = row.result.spec.name + (f" ({row.note})" if row.note else "")
        if row.slug == best:
            name = f"**{name}**"
        cmc = [_pct(r.cmc[k - 1]) if k <= r.max_rank else "-" for k in (5, 10, 20)]
        lines.append(
            f"| {name} | {_pct(r.mAP)} | {_pct(r.rank1)} | {' | '.join(cmc)} | "
            f"{row.result.time_s:.2f} |"
        )
    lines += ["", f"Best (highest mAP on {dataset['split']}): **{best}**.", "", "## Notes", ""]
    lines += [f"* {note}" for note in notes]
    path = run_dir / "results.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
