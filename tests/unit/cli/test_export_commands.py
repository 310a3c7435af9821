"""export-model / push-model on the command line: files written, one-line summaries, errors."""

from __future__ import annotations

import json
from pathlib import Path

from tiny_checkpoint import write_tiny_checkpoint
from typer.testing import CliRunner

from footreid.cli.main import app

RUNNER = CliRunner(env={"COLUMNS": "400"})  # one line per message


def test_export_model_writes_a_folder_with_the_results(tmp_path: Path) -> None:
    checkpoint = write_tiny_checkpoint(tmp_path / "best.pt")
    results = tmp_path / "valid.json"
    results.write_text(json.dumps({"mAP": 0.4, "rank1": 0.35, "num_queries": 12}))
    out = tmp_path / "model"
    result = RUNNER.invoke(
        app, ["export-model", str(checkpoint), str(out), "--results", str(results)]
    )
    assert result.exit_code == 0, result.output
    assert "osnet_x0_25" in result.output and "model.safetensors" in result.output
    config = json.loads((out / "config.json").read_text())
    assert config["results"][0]["mAP"] == 0.4 and config["precision"] == "fp32"
    assert "40.00" in (out / "README.md").read_text()


def test_deprecated_precision_still_sets_the_weights_dtype(tmp_path: Path) -> None:
    checkpoint = write_tiny_checkpoint(tmp_path / "best.pt")
    out = tmp_path / "model"
    result = RUNNER.invoke(app, ["export-model", str(checkpoint), str(out), "--precision", "fp16"])
    assert result.exit_code == 0, result.output
    assert "deprecated" in result.output and "--weights-dtype" in result.output
    assert json.loads((out / "config.json").read_text())["precision"] == "fp16"
    help_text = RUNNER.invoke(app, ["export-model", "--help"]).output
    assert "--weights-dtype" in help_text and "--precision" not in help_text


def test_export_model_errors_are_one_line(tmp_path: Path) -> None:
    checkpoint = write_tiny_checkpoint(tmp_path / "best.pt")
    bad = RUNNER.invoke(
        app, ["export-model", str(checkpoint), str(tmp_path / "m"), "--weights-dtype", "int4"]
    )
    assert bad.exit_code != 0 and "precision" in str(bad.exception)
    missing = RUNNER.invoke(app, ["export-model", str(tmp_path / "none.pt"), str(tmp_path / "m")])
    assert missing.exit_code != 0 and "does not exist" in str(missing.exception)
    fmt = RUNNER.invoke(
        app, ["export-model", str(checkpoint), str(tmp_path / "m"), "--format", "tf"]
    )
    assert fmt.exit_code == 2 and "folder, torchreid" in fmt.output


def test_push_model_refuses_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["push-model", str(tmp_path), "org/name"])
    assert result.exit_code != 0 and "not a footreid model folder" in str(result.exception)
