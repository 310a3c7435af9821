"""Tables printed to a pipe or a log keep every header and name whole (no "…", no wraps)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.table import Table
from test_evaluate_commands import make_features
from typer.testing import CliRunner

from footreid.cli.console import UNBOUNDED, make_console, print_markdown
from footreid.cli.main import app
from footreid.cli.quickstart_commands import results_table, short_name

LONG = "osnet_ain_x1_0_ce-triplet_384x192_staged_seed0_view_centred"


@pytest.fixture(scope="module")
def long_named(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("long")
    return [
        make_features(0, 1.0).save(folder / f"{LONG}.npz"),
        make_features(1, 1.2).save(folder / "b.npz"),
    ]


def table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(("┃", "│"))]


def assert_whole(text: str, names: list[str], headers: list[str]) -> None:
    assert "…" not in text
    rows = table_lines(text)
    for word in [*names, *headers]:
        assert any(word in row for row in rows), (word, text)
    widths = {len(row) for row in rows}
    assert len(widths) <= 3, widths  # one width per table: no row broke over two lines


def test_off_a_terminal_the_console_is_unbounded(capsys: pytest.CaptureFixture[str]) -> None:
    out = make_console()
    assert not out.is_terminal and out.width == UNBOUNDED
    table = Table(title="t")
    for column in ("method", "queries", "actions"):
        table.add_column(column)
    table.add_row(LONG + " + rerank aggressive", "11638", "1751")
    out.print(table)
    printed = capsys.readouterr().out
    assert_whole(printed, [LONG + " + rerank aggressive"], ["queries", "actions"])
    assert max(len(line) for line in printed.splitlines()) < 120  # natural, not 100,000


def test_markdown_off_a_terminal_is_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    text = "## Results\n\n| method | mAP |\n| --- | ---: |\n| " + LONG + " | 51.49 |\n"
    print_markdown(make_console(), text)
    assert capsys.readouterr().out == text


def test_evaluate_through_a_pipe_shows_whole_tables(long_named: list[Path]) -> None:
    """``footreid evaluate A B | cat``: a real pipe, with COLUMNS=80 as CI often sets."""
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb"}
    command = [sys.executable, "-m", "footreid.cli.main", "evaluate", *map(str, long_named)]
    done = subprocess.run(
        [*command, "--bootstrap", "20"], capture_output=True, text=True, env=env, check=True
    )
    headers = ["mAP % (95 % CI)", "Rank-1 % (95 % CI)", "queries", "actions", "time (s)"]
    assert_whole(done.stdout, [LONG, "b"], [*headers, "players", "goalkeepers", "referees"])


def test_ensemble_in_a_runner_shows_whole_comparisons(long_named: list[Path]) -> None:
    args = ["ensemble", *map(str, long_named), "--bootstrap", "20"]
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, args)
    assert result.exit_code == 0, result.output
    name = f"average({LONG}+b)"
    assert_whole(result.stdout, [LONG, name], ["mAP % (95 % CI)", "p(<=0)"])
    assert "paired bootstrap over actions: B - A (points, 95 % CI)" in result.stdout


def test_the_quickstart_table_fits_a_screen(capsys: pytest.CaptureFixture[str]) -> None:
    """Every method name of the quickstart, shortened, within 100 columns; no cell cut."""
    tuned = "weighted 0.6/0.4/0 (tuned on valid)"
    names = ["osnet_ain", "resnet50", "vit_lora", "concat", "average (equal)"]
    names += ["weighted 0.6/0.2/0.2", tuned]
    names += [f"{tuned} + rerank {p}" for p in ("standard", "aggressive", "broad", "lambda05")]
    interval = {"mAP": {"low": 0.2384, "high": 0.3834}}
    metrics = {"mAP": 0.307, "rank1": 0.1774, "cmc": [0.5] * 20}
    methods = [
        {"name": n, "slug": f"m{i}", "metrics": metrics, "interval": interval}
        for i, n in enumerate(names)
    ]
    results = {"methods": methods, "best_method": "m9", "dataset": {"tuning_split": "valid"}}
    make_console().print(results_table(results))
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) <= 100, printed
    assert_whole(printed, [short_name(n) for n in names], ["mAP 95 % CI", "Rank-1", "CMC@5"])
    assert short_name(names[9]) + " *" in printed and "[23.8, 38.3]" in printed
    assert json.dumps(short_name(names[8])) == '"w 0.6/0.4/0 tuned + rr aggressive"'
