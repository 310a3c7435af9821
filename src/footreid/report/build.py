"""``footreid report RUN_DIR``: the visual report of an experiment run.

Writes ``RUN/report/index.html`` (self-contained), every figure as a PNG beside it and
``analysis.json`` (the error analysis in numbers). Every method's rankings are rebuilt
from the run's features, so the examples and the error counts are those of the rankings
the results table scored (the metrics are re-measured and compared).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from footreid.core.io import atomic_write_many, check_writable
from footreid.core.layout import ExperimentLayout
from footreid.core.log import get_logger
from footreid.core.publish import publishable_path
from footreid.report.html import figures_of, render_page
from footreid.report.outcomes import compute_outcomes, mismatches
from footreid.report.run import read_run
from footreid.report.sections import (
    errors_section,
    examples_section,
    results_section,
    training_section,
)

log = get_logger(__name__)


def build_report(
    run_dir: str | Path, out_dir: str | Path | None = None, examples: int = 4, top_k: int = 10
) -> Path:
    """Write the report of a run; returns the path of ``index.html``.

    Args:
        run_dir: a run directory written by ``footreid experiment`` (holds results.json).
        out_dir: where to write; default ``RUN/report``.
        examples: queries in each of the best / worst grids.
        top_k: ranked crops shown per query.
    """
    run = read_run(run_dir)
    out = Path(out_dir) if out_dir is not None else ExperimentLayout(run.root).report
    check_writable(out)  # before the features are read and the figures drawn
    features = run.load_features()
    outcomes = compute_outcomes(run, features)
    sections = [
        results_section(run, mismatches(run, outcomes), out),
        examples_section(run, outcomes[run.best_method], examples, top_k),
        errors_section(run, outcomes),
    ]
    training = training_section(run)
    if training is not None:
        sections.append(training)
    subtitle = [
        f"run {publishable_path(run.root.resolve())}",  # a report is shared: no local paths
        f"dataset {publishable_path(run.dataset_root.resolve(), out.resolve())} · "
        f"split {run.split} · "
        f"{outcomes[run.best_method].result.num_queries} evaluated queries",
        f"generated {time.strftime('%Y-%m-%d %H:%M')}",
    ]
    analysis = {slug: asdict(o.errors) for slug, o in outcomes.items()}
    page = out / "index.html"
    files = {out / fig.name: fig.png for fig in figures_of(sections)}
    files[out / "analysis.json"] = (json.dumps(analysis, indent=2) + "\n").encode("utf-8")
    files[page] = render_page("footreid report", subtitle, sections).encode("utf-8")
    atomic_write_many(files)  # the page never points at figures of another run
    log.info("report written to %s", page)
    return page
