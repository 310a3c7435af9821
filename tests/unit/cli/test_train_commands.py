"""``footreid train``: recipe + --set, validation on valid, refusals, --resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.core.config import load_config
from footreid.core.errors import ConfigError
from footreid.experiment.training import build_validator

RECIPE = """
name: cli
data: {{root: {root}, num_workers: 0, batch_size: 8, num_instances: 2}}
model: {{name: osnet_x0_25, pretrained: none}}
stages:
  - {{name: s1, fraction: 0.5, subset: prefix, epochs: 1, lr: 0.001, input_size: [64, 32]}}
train: {{device: cpu, precision: fp32, threads: 1, max_steps_per_epoch: 1, tensorboard: false}}
val: {{fraction: 0.3, batch_size: 32, flip_tta: false}}
"""


@pytest.fixture
def recipe(tiny_root: Path, tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.format(root=tiny_root))
    return path


@pytest.fixture(autouse=True)
def _restore_threads():  # type: ignore[no-untyped-def]
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["train", *args])


@pytest.mark.slow
def test_train_validates_on_valid_and_prints_the_table(recipe: Path, tmp_path: Path) -> None:
    result = invoke("-c", str(recipe), "--set", f"output_dir={tmp_path / 'runs'}")
    assert result.exit_code == 0, result.output
    assert "best checkpoint (mAP on valid" in result.output
    assert (tmp_path / "runs" / "cli" / "checkpoints" / "best.pt").is_file()
    resumed = invoke("-c", str(recipe), "--set", f"output_dir={tmp_path / 'runs'}", "--resume")
    assert resumed.exit_code == 0, resumed.output  # nothing left: finishes at once


def test_no_val_and_overrides_reach_the_run(recipe: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = invoke(
        "-c", str(recipe), "--no-val", "--set", f"output_dir={out}", "--set", "name=other"
    )
    assert result.exit_code == 0, result.output
    assert "best checkpoint (mAP on valid: last epoch)" in result.output
    saved = load_config(out / "other" / "config.yaml")
    assert saved.name == "other" and saved.model.name == "osnet_x0_25"


def test_refuses_validating_on_the_reported_split(recipe: Path, tmp_path: Path) -> None:
    result = invoke("-c", str(recipe), "--set", "val.split=test", "--set", f"output_dir={tmp_path}")
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert "allow_report_split" in str(result.exception)
    assert not (tmp_path / "cli").exists()


def test_unknown_override_key_suggests(recipe: Path) -> None:
    result = invoke("-c", str(recipe), "--set", "optim.nam=sgd")
    assert isinstance(result.exception, ConfigError)
    assert "did you mean name" in str(result.exception)


@pytest.mark.slow
def test_validator_scores_a_model_per_action(tiny_root: Path) -> None:
    from footreid.models import create_model
    from footreid.train.validation import ValContext

    config = load_config(
        None,
        [f"data.root={tiny_root}", "data.num_workers=0", "val.fraction=0.2", "val.flip_tta=false"],
    )
    validate = build_validator(config)
    torch.set_num_threads(1)  # restored by the autouse fixture
    torch.manual_seed(0)
    model = create_model("osnet_x0_25", pretrained="none").eval()
    context = ValContext(0, "s", 0, 1, (64, 32), torch.device("cpu"))
    with torch.no_grad():
        metrics = validate(model, context)
    assert set(metrics) == {"mAP", "rank1"}
    assert 0.0 < metrics["mAP"] <= 1.0 and 0.0 <= metrics["rank1"] <= 1.0


def test_validator_refuses_an_unlabelled_split(tiny_root: Path) -> None:
    config = load_config(None, [f"data.root={tiny_root}", "val.split=challenge"])
    with pytest.raises(ConfigError, match="no labels"):
        build_validator(config)
