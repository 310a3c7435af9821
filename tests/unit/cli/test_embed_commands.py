"""``footreid embed``: a registry model with family options (``-o KEY=VALUE``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from footreid.cli.embed_commands import parse_model_options
from footreid.cli.main import app
from footreid.core.errors import ConfigError
from footreid.core.records import FeatureSet


def test_options_are_read_as_yaml_values() -> None:
    assert parse_model_options(None) == {}
    assert parse_model_options(["parts=2", "bins=[8, 8, 4]", "name= x "]) == {
        "parts": 2,
        "bins": [8, 8, 4],
        "name": "x",
    }
    with pytest.raises(typer.BadParameter, match="not KEY=VALUE"):
        parse_model_options(["parts"])
    with pytest.raises(typer.BadParameter, match="not YAML"):
        parse_model_options(["bins=[8, 8"])


def test_embed_a_colour_model_with_options(tiny_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "hsv.npz"
    args = ["embed", "hsv", "--data", str(tiny_root), "--out", str(out), "--workers", "0"]
    result = CliRunner().invoke(app, [*args, "-o", "parts=2", "--option", "bins=[4,4,4]"])
    assert result.exit_code == 0, result.output
    features = FeatureSet.load(out)
    assert features.dim == 2 * 64 and features.features.dtype == np.float32
    assert features.meta["model"] == "hsv" and features.meta["model_options"] == {
        "bins": [4, 4, 4],
        "parts": 2,
    }
    bad = CliRunner().invoke(app, [*args, "-o", "parts=9"])
    assert isinstance(bad.exception, ConfigError) and "option parts" in str(bad.exception)
