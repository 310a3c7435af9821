"""``footreid quickstart`` end to end on the ``tiny`` preset, then again to check reuse.

One training step per epoch keeps the whole pipeline (synthetic data, three models,
experiment, report) to about a minute on 2 CPU cores; the second run must reuse the
dataset, the trained runs and the cached embeddings and be much faster.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from footreid.cli.main import app

pytestmark = pytest.mark.slow

ARGS = ["--preset", "tiny", "--set", "train.max_steps_per_epoch=1"]
LABELS = ["osnet_ain", "resnet50", "vit_lora"]


def run(out: Path) -> tuple[str, float]:
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["quickstart", "--out", str(out), *ARGS])
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output, seconds


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, float]]]:
    out = tmp_path_factory.mktemp("quickstart")
    first = run(out)
    marks = {p: p.stat().st_mtime_ns for p in out.rglob("*.pt")}
    marks |= {p: p.stat().st_mtime_ns for p in out.glob("experiment/features/*.npz")}
    second = run(out)
    changed = [p for p, m in marks.items() if p.stat().st_mtime_ns != m]
    assert changed == []  # checkpoints and features untouched by the second run
    return out, [first, second]


def test_first_run_writes_dataset_models_results_and_report(two_runs) -> None:
    out, [(output, _), _] = two_runs
    assert (out / "synthetic-tiny" / "synth_summary.json").is_file()
    for label in LABELS:
        assert (out / "train" / label / "checkpoints" / "best.pt").is_file()
    report = out / "experiment" / "report" / "index.html"
    assert report.is_file() and report.stat().st_size > 10_000
    assert list(report.parent.glob("*.png"))
    assert str(report) in output.replace("\n", "")
    assert f"footreid serve {out / 'experiment'}" in output.replace("\n", "")
    assert "from scratch" in output and output.count("trained") >= 3


def test_results_table_has_the_brief_rows(two_runs) -> None:
    out, [(output, _), _] = two_runs
    data = json.loads((out / "experiment" / "results.json").read_text())
    names = [m["name"] for m in data["methods"]]
    assert names[:5] == [*LABELS, "concat", "average (equal)"]
    assert "weighted 0.6/0.2/0.2" in names
    assert any(n.startswith("weighted") and "(tuned on valid)" in n for n in names)
    presets = ["standard", "aggressive", "broad", "lambda05"]
    assert [n.rsplit(" ", 1)[1] for n in names if "+ rerank" in n] == presets
    assert data["dataset"]["split"] == "test" and data["dataset"]["tuning_split"] == "valid"
    for name in names[:5]:
        assert name in output  # the printed table


def test_second_run_reuses_everything_and_is_much_faster(two_runs) -> None:
    out, [(_, first), (output, second)] = two_runs
    assert output.count("reused") >= 3 and "resumed" not in output
    models_table = (out / "experiment" / "results.md").read_text().split("## Results")[0]
    assert models_table.count("cached") == 3
    assert second < 0.6 * first, (first, second)
