"""A read-only output folder: every writing command fails at once, naming the folder.

The tests run as root in CI, where permissions do not stop writes, so the folder is made
read-only the way a read-only mount is: creating a file in it fails with EROFS. Each
command's first piece of real work is replaced by a tripwire: the error must come first.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cli_main import run_main
from faulty_disk import FAULTS

from footreid.core.errors import OutputError
from footreid.core.io import check_writable

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder in which no file can be created (EROFS), as on a read-only mount."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        where = Path(kwargs.get("dir") or tempfile.gettempdir()).resolve()
        if where.is_relative_to(folder.resolve()):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(where))
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return folder


def tripwire(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    """Fail the test if ``target`` (module.attribute) is called: no work may start."""

    def called(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"{target} ran before the read-only folder was refused")

    monkeypatch.setattr(target, called)


def test_check_writable_names_the_folder(read_only: Path) -> None:
    with pytest.raises(OutputError, match="cannot write output here .Read-only file system"):
        check_writable(read_only / "sub")
    fine = read_only.parent / "fine" / "new"
    assert check_writable(fine) == fine and not fine.parent.exists()  # nothing created


def _commands(ro: Path, ckpt: str, run: str) -> dict[str, tuple[list[str], str]]:
    """command -> (arguments, the first piece of work it must not reach)."""
    exp = str(REPO / "configs/experiments/snmot_synthetic.yaml")
    recipe = str(REPO / "configs/recipes/synthetic_small_osnet_ain.yaml")
    return {
        "embed": (
            ["embed", ckpt, "--data", run, "--out", f"{ro}/f.npz"],
            "footreid.api.resolve_model",
        ),
        "evaluate": (
            ["evaluate", "f.npz", "--export-ranking", f"{ro}/r.json"],
            "footreid.core.records.FeatureSet.load",
        ),
        "evaluate-ranking": (
            ["evaluate-ranking", "gt.json", "r.json", "--json", f"{ro}/m.json"],
            "footreid.evaluate.ranking.evaluate_ranking",
        ),
        "export-model": (["export-model", ckpt, f"{ro}/model"], "footreid.models.load_trained"),
        "export-model torchreid": (
            ["export-model", ckpt, f"{ro}/osnet_x0_25_x.pt", "--format", "torchreid"],
            "footreid.models.load_trained",
        ),
        "export-onnx": (["export-onnx", ckpt, f"{ro}/m.onnx"], "footreid.embed.load_embed_model"),
        "experiment": (
            ["experiment", "-c", exp, "--set", f"output_dir={ro}"],
            "footreid.experiment.run_experiment",
        ),
        "report": (
            ["report", run, "--out", f"{ro}/report"],
            "footreid.report.run.RunResults.load_features",
        ),
        "train": (
            ["train", "-c", recipe, "--set", f"output_dir={ro}"],
            "footreid.experiment.training.train_with_validation",
        ),
    }


COMMANDS = sorted(_commands(Path("ro"), "c", "r"))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_read_only_output_folder_fails_before_any_work(
    command: str,
    read_only: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    writer_inputs: dict[str, Any],
) -> None:
    args, work = _commands(read_only, writer_inputs["checkpoints"][0], writer_inputs["run"])[
        command
    ]
    tripwire(monkeypatch, work)
    monkeypatch.chdir(REPO)  # the experiment and recipe files name paths from the repository
    assert run_main(monkeypatch, args) == 1
    FAULTS["read-only " + command] += 1
    err = capsys.readouterr().err
    assert "cannot write output here (Read-only file system)" in err
    assert str(read_only) in err
