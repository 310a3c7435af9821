"""``fit``: resume after a kill, NaN stops, stage plan, run directory, validation, best.pt."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import footreid.train.loop as loop_module
import footreid.train.runner as runner_module
import footreid.train.setup as train_setup
from footreid.core.config import load_config, save_config
from footreid.core.errors import ConfigError, TrainingError
from footreid.train.loop import EpochStats
from footreid.train.objectives import Objective, build_objective
from footreid.train.runner import fit


def weights(run_dir: Path, name: str = "last.pt") -> dict[str, torch.Tensor]:
    ckpt = torch.load(run_dir / "checkpoints" / name, map_location="cpu", weights_only=True)
    return ckpt["model"]


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f"{len(differ)} of {len(a)} tensors differ, e.g. {differ[:3]}"


class Killed(BaseException):
    """Stands for SIGKILL inside the process (not an Exception: nothing may catch it)."""


def kill_at_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Make the ``step``-th optimiser step (1-based, over the whole run) die mid-epoch."""
    real = loop_module._backward_step
    calls = {"n": 0}

    def dying(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == step:
            raise Killed
        real(*args, **kwargs)

    monkeypatch.setattr(loop_module, "_backward_step", dying)


@pytest.fixture(scope="module")
def reference_run(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted run of the tiny plan (2 stages x 2 epochs x 2 steps)."""
    from conftest import tiny_overrides  # the train folder's conftest

    out = tmp_path_factory.mktemp("reference")
    return fit(load_config(None, tiny_overrides(tiny_root, out))).run_dir


LOGGED = ("stage", "epoch", "global_step", "loss", "loss_ce", "loss_triplet", "accuracy", "lr")


def epoch_lines(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the timings: what must match between two runs."""
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: json.loads(line)[k] for k in LOGGED} for line in lines]


def scramble_global_rngs() -> None:
    """What a resuming process may hold: global RNGs in any state (last.pt saves none)."""
    random.seed(12345)
    np.random.seed(12345)
    torch.manual_seed(12345)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill_step",
    [3, 6],  # mid-epoch 2 of stage s1; mid-epoch 1 of s2 (after the stage boundary)
)
def test_killed_and_resumed_run_ends_with_the_same_weights(
    make_config, reference_run: Path, monkeypatch: pytest.MonkeyPatch, kill_step: int
) -> None:
    """Resuming restores everything last.pt saves: bit-identical weights and losses.

    Resuming works at epoch granularity: the epoch cut short is trained again from its
    start, so the losses of every epoch after the resume point equal the uninterrupted
    run's exactly (one thread on the CPU: the same operations in the same order).
    """
    config = make_config()
    with monkeypatch.context() as patch:
        kill_at_step(patch, kill_step)
        with pytest.raises(Killed):
            fit(config)
    partial = torch.load(config.run_dir / "checkpoints" / "last.pt", weights_only=True)
    assert partial["global_step"] == 2 * ((kill_step - 1) // 2)  # the killed epoch is lost
    assert {"optimizer", "scaler"} <= set(partial) and not {"sampler", "rng"} & set(partial)
    done = len(epoch_lines(config.run_dir))
    scramble_global_rngs()
    result = fit(config, resume=True)
    assert [(r["stage"], r["epoch"]) for r in result.history][-1] == ("s2", 2)
    assert_same_weights(weights(result.run_dir), weights(reference_run))
    final = torch.load(result.last, weights_only=True)
    assert final["global_step"] == 8 and final["stage_name"] == "s2"
    expected = epoch_lines(reference_run)
    assert epoch_lines(config.run_dir) == expected  # each epoch once, the same losses
    assert [{k: r[k] for k in LOGGED} for r in result.history] == expected[done:]


@pytest.mark.slow
def test_really_killed_process_resumes_to_the_same_weights(
    make_config, reference_run: Path, tmp_path: Path
) -> None:
    """SIGKILL a ``footreid train`` process after its first checkpoint, then --resume."""
    config = make_config()
    recipe = save_config(config, tmp_path / "recipe.yaml")
    cli = [sys.executable, "-m", "footreid.cli.main", "train", "-c", str(recipe), "--no-val"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    metrics = config.run_dir / "metrics.jsonl"
    deadline = time.monotonic() + 240
    while proc.poll() is None and time.monotonic() < deadline:
        if metrics.is_file() and metrics.read_text().count("\n") >= 1:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL, (
        proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    )
    done = metrics.read_text().count("\n")
    assert 1 <= done < 4  # killed part-way through the plan
    resumed = subprocess.run([*cli, "--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert metrics.read_text().count("\n") == 4  # each epoch recorded once
    assert_same_weights(weights(config.run_dir), weights(reference_run))


class NaNAfter(Objective):
    """The run's objective, returning NaN from its ``n``-th call on."""

    def __init__(self, n: int) -> None:
        inner = build_objective({"ce": {"weight": 1.0}, "triplet": {"weight": 1.0}})
        super().__init__({name: (inner.weights[name], t) for name, t in inner.terms.items()})
        self.n, self.calls = n, 0

    def forward(self, out, labels):  # type: ignore[no-untyped-def]
        self.calls += 1
        total, parts = super().forward(out, labels)
        if self.calls >= self.n:
            total = total * float("nan")
            parts = {**parts, "triplet": parts["triplet"] * float("inf")}
        return total, parts


def test_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_setup, "build_objective", lambda loss: NaNAfter(3))
    saved: dict[str, str] = {}
    real_save = runner_module.save_checkpoint

    def recording_save(payload: dict, path: Path) -> Path:
        real_save(payload, path)
        saved[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return path

    monkeypatch.setattr(runner_module, "save_checkpoint", recording_save)
    config = make_config()
    with pytest.raises(TrainingError, match="non-finite loss at step 1/2") as info:
        fit(config)
    last = config.run_dir / "checkpoints" / "last.pt"
    assert f"last good checkpoint: {last}" in str(info.value)
    assert "triplet=inf" in str(info.value)
    assert hashlib.sha256(last.read_bytes()).hexdigest() == saved["last.pt"]
    ckpt = torch.load(last, weights_only=True)
    assert (ckpt["stage_name"], ckpt["epoch"], ckpt["global_step"]) == ("s1", 1, 2)
    assert all(torch.isfinite(t).all() for t in ckpt["model"].values() if t.is_floating_point())
    assert not list(last.parent.glob(".*"))  # no temporary files left behind


def test_nan_in_the_first_epoch_says_no_checkpoint_yet(
    make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train_setup, "build_objective", lambda loss: NaNAfter(1))
    with pytest.raises(TrainingError, match="none yet"):
        fit(make_config())


def no_training(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Replace the epoch by a no-op that records the input size of its batches."""
    sizes: list[tuple[int, int]] = []

    def epoch(model, loader, *args, **kwargs):  # type: ignore[no-untyped-def]
        images, _, _ = next(iter(loader))
        sizes.append(tuple(images.shape[-2:]))
        return EpochStats(1.0, {"ce": 1.0}, 0.5, len(images), 0.01, 1, 1e-3)

    monkeypatch.setattr(runner_module, "train_one_epoch", epoch)
    return sizes


def test_stage_change_rebuilds_only_the_classifier(
    make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = no_training(monkeypatch)
    config = make_config(
        "stages=[{name: a, fraction: 0.5, subset: prefix, epochs: 1, lr: 0.001, "
        "input_size: [64, 32]}, {name: b, fraction: 1.0, epochs: 3, lr: 0.001, "
        "input_size: [64, 32], progressive: [[32, 16, 1], [48, 24, 1]]}, "
        "{name: c, fraction: 1.0, epochs: 1, lr: 0.001, input_size: [64, 32]}]"
    )
    fit(config)
    assert sizes == [(64, 32), (32, 16), (48, 24), (64, 32), (64, 32)]
    folder = config.run_dir / "checkpoints"
    a, b, c = (
        torch.load(folder / f, weights_only=True)
        for f in ("stage0-a.pt", "stage1-b.pt", "stage2-c.pt")
    )
    assert a["num_classes"] < b["num_classes"] == c["num_classes"]
    assert a["model"]["classifier.weight"].shape[0] == a["num_classes"]
    assert b["model"]["classifier.weight"].shape[0] == b["num_classes"]
    body = [k for k in a["model"] if not k.startswith("classifier.")]
    assert_same_weights({k: a["model"][k] for k in body}, {k: b["model"][k] for k in body})
    assert_same_weights(b["model"], c["model"])  # same identities: classifier kept
    assert b["input_size"] == [64, 32]


@pytest.mark.slow
def test_run_directory_holds_config_metrics_tensorboard(make_config) -> None:
    config = make_config("train.tensorboard=true", "stages.1.epochs=1", "stages.1.progressive=[]")
    result = fit(config)
    saved = load_config(config.run_dir / "config.yaml")
    assert saved == config
    assert yaml.safe_load((config.run_dir / "config.yaml").read_text())["model"]["name"] == (
        "osnet_x0_25"
    )
    events = list((config.run_dir / "tb").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 100
    lines = (config.run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3 == len(result.history)
    ckpt = torch.load(result.best, weights_only=True)
    assert ckpt["config"]["model"]["name"] == "osnet_x0_25" and "optimizer" not in ckpt
    assert sorted(p.name for p in (config.run_dir / "checkpoints").iterdir()) == [
        "best.pt",
        "last.pt",
        "stage0-s1.pt",
        "stage1-s2.pt",
    ]


def test_tensorboard_events_hold_the_scalars(make_config) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    config = make_config(
        "train.tensorboard=true",
        "train.log_every=1",
        "stages=[{name: s, epochs: 1, lr: 0.001, input_size: [64, 32]}]",
    )
    fit(config)
    events = EventAccumulator(str(config.run_dir / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/ce", "train/triplet", "epoch/loss"} <= tags
    assert len(events.Scalars("train/loss")) == 2


def test_validation_picks_best_and_records_metrics(
    make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_training(monkeypatch)
    scores = iter([0.5, 0.7, 0.6, 0.4])
    contexts = []

    def validate(model, context):  # type: ignore[no-untyped-def]
        assert not model.training
        contexts.append(context)
        return {"mAP": next(scores), "rank1": 0.0}

    config = make_config("val.every=1", "stages.1.progressive=[]")
    result = fit(config, validate)
    assert [c.global_epoch for c in contexts] == [1, 2, 3, 4]
    assert (result.best_metric, result.best_value) == ("mAP", 0.7)
    best = torch.load(result.best, weights_only=True)
    assert (best["stage_name"], best["epoch"], best["global_epoch"]) == ("s1", 2, 2)
    assert result.history[2]["val"] == {"mAP": 0.6, "rank1": 0.0}


def test_validation_callback_must_return_the_metric(
    make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_training(monkeypatch)
    with pytest.raises(TrainingError, match="val.metric 'mAP'"):
        fit(make_config("val.every=1"), lambda model, ctx: {"map": 1.0})


def test_validation_refuses_the_reported_split_unless_allowed(make_config) -> None:
    config = make_config("val.every=1", "val.split=test", "val.report_split=test")
    with pytest.raises(ConfigError, match="inflates the result"):
        fit(config, lambda model, ctx: {"mAP": 1.0})
    assert not config.run_dir.exists()


def test_existing_run_needs_resume_and_resume_needs_the_same_config(
    make_config, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_training(monkeypatch)
    config = make_config("stages.1.epochs=1", "stages.1.progressive=[]")
    fit(config)
    with pytest.raises(TrainingError, match="pass --resume"):
        fit(config)
    changed = make_config("stages.1.epochs=1", "stages.1.progressive=[]", "optim.name=sgd")
    with pytest.raises(TrainingError, match=r"optim.name \('adam' -> 'sgd'\)"):
        fit(changed, resume=True)
    faster = make_config("stages.1.epochs=1", "stages.1.progressive=[]", "train.log_every=5")
    assert fit(faster, resume=True).history == []  # nothing left to do


def test_resume_without_checkpoint_starts_fresh(make_config, monkeypatch) -> None:
    no_training(monkeypatch)
    result = fit(make_config("stages.1.epochs=1", "stages.1.progressive=[]"), resume=True)
    assert len(result.history) == 3


def test_ce_within_action_is_bound_to_every_stage_classes(make_config) -> None:
    """Both stages (a prefix of the actions, then all) train with action-local CE."""
    config = make_config("loss.ce.within=action", "data.sampler=action")
    result = fit(config)
    assert [r["stage"] for r in result.history] == ["s1", "s1", "s2", "s2"]
    assert all(torch.isfinite(torch.tensor(r["loss_ce"])) for r in result.history)


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        ("loss.ce.weight=0.5", "no parameters: it cannot be trained"),
        ("loss.ce.weight=0", "has no parameters .*nothing to train"),  # no classifier asked
    ],
)
def test_a_parameter_free_model_is_refused_before_any_step(
    make_config, monkeypatch: pytest.MonkeyPatch, loss: str, message: str
) -> None:
    sizes = no_training(monkeypatch)
    config = make_config("model.name=hsv", loss)
    with pytest.raises(ConfigError, match=message):
        fit(config)
    assert sizes == [] and not (config.run_dir / "checkpoints" / "last.pt").exists()


def test_neighbour_occlusion_trains_and_bad_widths_stop_before_any_data(make_config) -> None:
    result = fit(make_config("augment.occlude=1.0", "data.sampler=action"))
    assert len(result.history) == 4
    with pytest.raises(ConfigError, match="occlude_width"):
        fit(make_config("augment.occlude=0.5", "augment.occlude_width=[0.6,0.2]", "name=bad"))
