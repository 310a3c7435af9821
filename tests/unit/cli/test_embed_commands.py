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


def test_embed_takes_a_model_folder_as_footreid_load_does(
    trained_checkpoint: Path, tiny_root: Path, tmp_path: Path
) -> None:
    """One source resolver (``footreid.api.resolve_model``) behind ``embed`` and ``load``."""
    from footreid.export.folder import export_model_folder

    folder = export_model_folder(trained_checkpoint, tmp_path / "m").path
    common = ["--data", str(tiny_root), "--workers", "0", "--device", "cpu", "--precision", "fp32"]
    for name, source in (("folder", folder), ("ckpt", trained_checkpoint)):
        args = ["embed", str(source), "--out", str(tmp_path / f"{name}.npz"), *common]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
    ours, theirs = FeatureSet.load(tmp_path / "folder.npz"), FeatureSet.load(tmp_path / "ckpt.npz")
    np.testing.assert_array_equal(ours.features, theirs.features)
    out = ["--out", str(tmp_path / "x.npz"), "--pretrained", "imagenet"]
    refused = CliRunner().invoke(app, ["embed", str(folder), *out, *common])
    assert refused.exit_code != 0 and not (tmp_path / "x.npz").exists()
    assert "holds its weights itself" in str(refused.exception) + refused.output
