"""The whole report of a fake run: files, self-contained page, numbers that agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from footreid.report import build_report
from footreid.report.errors import CATEGORIES
from footreid.report.run import read_run


@pytest.fixture(scope="module")
def report_page(fake_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report(fake_run, tmp_path_factory.mktemp("report"), examples=3, top_k=10)


def test_report_writes_page_figures_and_analysis(report_page: Path) -> None:
    out = report_page.parent
    names = {
        "metrics.png",
        "cmc.png",
        "grid_best.png",
        "grid_worst.png",
        "errors.png",
        "train_good.png",
    }
    assert names <= {p.name for p in out.iterdir()}
    for name in names:
        assert Image.open(out / name).format == "PNG"
    page = report_page.read_text()
    assert page.count("data:image/png;base64,") == len(names)
    assert "<script" not in page
    assert "rebuilt from the features and re-measured" in page  # metrics agree


def test_analysis_counts_match_the_metrics(fake_run: Path, report_page: Path) -> None:
    run = read_run(fake_run)
    analysis = json.loads((report_page.parent / "analysis.json").read_text())
    assert set(analysis) == {m.slug for m in run.methods}
    for method in run.methods:
        entry = analysis[method.slug]
        assert set(entry["categories"]) == set(CATEGORIES)
        assert entry["num_queries"] == method.metrics["num_queries"]
        errors = round((1 - method.rank1) * entry["num_queries"])
        assert entry["num_errors"] == errors == sum(entry["categories"].values())
    best = analysis[run.best_method]
    assert sum(n for n, _, _ in best["by_query_group"].values()) == best["num_queries"]
    assert sum(row[1] for row in best["by_height"]) == best["num_queries"]


def test_report_warns_when_results_do_not_match(fake_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(fake_run, run_dir, ignore=shutil.ignore_patterns("report"))
    data = json.loads((run_dir / "results.json").read_text())
    data["methods"][0]["metrics"]["mAP"] = 0.123
    (run_dir / "results.json").write_text(json.dumps(data))
    page = build_report(run_dir, examples=1, top_k=3).read_text()
    assert "Re-measured metrics differ from results.json" in page
    assert page == (run_dir / "report" / "index.html").read_text()
