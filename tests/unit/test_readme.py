"""The README as a contract: every command of every code block runs as written, offline.

In a scratch folder laid out as a fresh clone beside a ``shared/`` folder (tiny stand-ins
for every file the README names: a synthetic ``tiny`` dataset at ``data/soccernet`` and
``../shared/data/*``, tiny random checkpoints and weights at the README's paths, the
repository's ``configs/``), every line of every ``bash`` block and every ``python`` block
runs in document order, as written. ``COMMANDS`` and ``PYTHON_BLOCKS`` say how:

* ``Run()``: through the CLI in-process (stdout redirections honoured), must succeed;
  ``shrink`` arguments may be appended (a tiny preset, fewer resamples): the README's text
  itself is never changed;
* ``Fails(error, message)``: the line needs the internet or a GPU; it must fail fast with
  that footreid error and the message the README promises (the network is refused and
  CUDA hidden here);
* ``Special(name)``: ``make`` targets, ``torchrun`` and the demo server, run by a named
  handler below (each says what it checks and why).

A README line or python block that no entry describes fails the test, listing the
unhandled lines: to document a new command, add its exact line to ``COMMANDS`` (or a
marker of its block to ``PYTHON_BLOCKS``). Entries whose line left the README fail too.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_checkpoint import write_tiny_checkpoint
from tiny_mot import write_tiny_frames, write_tiny_sequence
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.core.errors import ConfigError, DownloadError
from footreid.core.records import FeatureSet
from footreid.models import create_model

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
HUB_NAME = "footreid/osnet-snmot"
QUICKSTART_SHRINK = (  # make quickstart: the tiny preset, one step of one epoch at 56x28
    "--preset tiny --set train.max_steps_per_epoch=1 "
    "--set 'stages=[{name: full, epochs: 1, lr: 0.001, input_size: [56, 28]}]'"
)
EXPERIMENT_SHRINK = ("--set", "embed.flip_tta=false", "--set", "methods.bootstrap=50")
SNMOT_TRACK = "../shared/data/snmot-track/SNMOT-116-A"
CUTS = "1-125,176-250,301-375"
FOOTBALL = "runs/train/snmot_osnet/checkpoints/best.pt"


@dataclass(frozen=True)
class Run:
    """Runs through the CLI and must succeed (``shrink`` appended to the README's args)."""

    shrink: tuple[str, ...] = ()
    setup: Callable[[Path], None] | None = None


@dataclass(frozen=True)
class Fails:
    """Needs what the test machine lacks: fails fast with ``error`` and ``message``."""

    error: type[Exception]
    message: str
    why: str = ""


@dataclass(frozen=True)
class Special:
    """Run by a handler of its own (``SPECIAL[name]``, or ``serve``)."""

    name: str


def tune_files(work: Path) -> None:
    """Features of two more models (resnet.npz, dino.npz) and of valid for all three."""
    invoke(["embed", "best.pt", "--data", "data/soccernet", "--split", "valid"] + OUT("o_val"))
    rng = np.random.default_rng(0)
    for source, names in (("osnet.npz", ("resnet", "dino")), ("o_val.npz", ("r_val", "d_val"))):
        base = FeatureSet.load(work / source)
        for name in names:
            noisy = base.features + 0.3 * rng.normal(size=base.features.shape)
            noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
            FeatureSet(
                noisy,
                base.bbox_idx,
                base.action_idx,
                base.person_uid,
                base.role,
                base.path,
                base.clazz,
                dict(base.meta, model=name),
            ).save(work / f"{name}.npz")


def OUT(name: str) -> list[str]:  # noqa: N802 - reads as the option it builds
    return ["--out", f"{name}.npz", "--workers", "0"]


OFFLINE = "cannot reach"  # what DownloadError says offline (data download and the hub)
COMMANDS: dict[str, Run | Fails | Special] = {
    # Two commands
    "make quickstart": Special("make_quickstart"),
    "make test": Special("make_test"),
    # Using it
    "footreid download data/soccernet --split train --split valid --split test": Fails(
        DownloadError, OFFLINE, "needs internet"
    ),
    "footreid synth data/synthetic-small --preset small --seed 0": Run(("--preset", "tiny")),
    "footreid data-info data/soccernet": Run(),
    "footreid train --config configs/recipes/osnet_ain_x1_0_ce-triplet_384x192_staged.yaml "
    "--set data.root=data/soccernet --set train.device=cuda": Fails(
        ConfigError, "'cuda' but CUDA is not available", "needs a GPU"
    ),
    "torchrun --nproc-per-node 4 -m footreid.cli.main train --config ...": Special("torchrun"),
    "footreid embed runs/train/NAME/checkpoints/best.pt --data data/soccernet --split test "
    "--out osnet.npz": Run(),
    "footreid evaluate osnet.npz --rerank standard --per-query per_query.csv": Run(),
    "footreid evaluate osnet.npz --centre view": Run(),
    "footreid embed hsv --data data/soccernet --split test --out hsv.npz": Run(),
    "footreid ensemble resnet.npz dino.npz osnet.npz --mode weighted "
    "--tune-on r_val.npz d_val.npz o_val.npz": Run(("--bootstrap", "50"), setup=tune_files),
    "footreid embed best.pt --data data/soccernet --split challenge --out chal.npz": Run(),
    "footreid evaluate chal.npz --export-ranking ranking.json": Run(),
    "footreid evaluate-ranking test_bbox_info.json ranking.json": Run(),
    "footreid experiment --config configs/experiments/mot20_torchreid.yaml": Run(EXPERIMENT_SHRINK),
    "footreid report runs/experiments/mot20_torchreid": Run(),
    "footreid serve runs/experiments/mot20_torchreid": Special("serve"),
    "footreid export-onnx best.pt osnet.onnx": Run(),
    "footreid embed osnet.onnx --data data/soccernet --split test --out osnet.npz": Run(),
    # Use it elsewhere
    "footreid embed runs/train/snmot_osnet/checkpoints/best.pt --data ../shared/data/snmot-reid "
    "--split valid --out valid.npz": Run(),
    "footreid evaluate valid.npz --json > valid.json": Run(),
    "footreid export-model runs/train/snmot_osnet/checkpoints/best.pt models/snmot-osnet "
    "--results valid.json": Run(),
    "footreid push-model models/snmot-osnet footreid/osnet-snmot": Fails(
        DownloadError, OFFLINE, "needs internet and a hub login"
    ),
    "footreid export-model runs/train/snmot_osnet/checkpoints/best.pt models --format torchreid "
    "--tag snmot": Run(),
    # Tracking (a 375-frame stand-in of SNMOT-116-A: two players, 2 px per frame)
    f"footreid track {SNMOT_TRACK} --boxes-from-gt --reid {FOOTBALL} "
    "--link -o tracks.txt --strip strip.jpg": Run(),
    f"footreid track-eval {SNMOT_TRACK} tracks.txt": Run(),
    f"footreid track {SNMOT_TRACK} --boxes-from-gt --frames {CUTS} "
    f"--reid {FOOTBALL} --link -o cuts.txt": Run(),
    f"footreid track-eval {SNMOT_TRACK} cuts.txt --frames {CUTS}": Run(),
}
PYTHON_BLOCKS: dict[str, Run | Fails] = {  # a marker of the block -> how it runs
    'enc = footreid.load("runs/train/snmot_osnet/checkpoints/best.pt")': Run(),
    f'enc = footreid.load("{HUB_NAME}")': Fails(DownloadError, OFFLINE, "a hub name: internet"),
    "tracker = BotSort(reid_weights=weights": Run(),
}


def code_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block of the README, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def commands(code: str) -> list[str]:
    """The command lines of a shell block: comments dropped, continuations joined."""
    joined = re.sub(r"\\\n\s*", "", code)
    lines = [re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip() for line in joined.splitlines()]
    return [" ".join(line.split()) for line in lines if line]


def plan(blocks: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """("bash", line) and ("python", block) in document order; fails on unknown ones."""
    steps, unknown = [], []
    for lang, code in code_blocks() if blocks is None else blocks:
        if lang == "python":
            markers = [m for m in PYTHON_BLOCKS if m in code]
            if len(markers) != 1:
                unknown.append(f"python block starting {code.splitlines()[0]!r}")
            steps.append(("python", code))
        elif lang in ("bash", "sh", "shell", "console"):
            for line in commands(code):
                if line not in COMMANDS:
                    unknown.append(line)
                steps.append(("bash", line))
        else:  # text blocks (layouts, diagrams) hold no command
            shells = ("footreid ", "make ", "python ", "torchrun ")
            unknown += [ln for ln in code.splitlines() if ln.strip().startswith(shells)]
    if unknown:  # raised, not asserted: pytest would rewrite the lines of the message
        raise AssertionError(
            "README commands this test does not know how to run (add each to COMMANDS or "
            "PYTHON_BLOCKS in tests/unit/test_readme.py):\n  " + "\n  ".join(unknown)
        )
    return steps


def test_every_table_entry_is_still_in_the_readme() -> None:
    steps = plan()
    lines = {line for kind, line in steps if kind == "bash"}
    blocks = [code for kind, code in steps if kind == "python"]
    assert sorted(set(COMMANDS) - lines) == []
    assert [m for m in PYTHON_BLOCKS if not any(m in b for b in blocks)] == []


def test_unknown_commands_are_named() -> None:
    """A new command (say, the Tracking section's) fails the test with its line named."""
    blocks = [("bash", "footreid data-info data/soccernet\nfootreid track video.mp4  # new\n")]
    blocks += [("python", "import footreid\nfootreid.track('video.mp4')\n")]
    with pytest.raises(AssertionError) as caught:
        plan(blocks)
    message = str(caught.value)
    assert "add each to COMMANDS" in message and "\n  footreid track video.mp4" in message
    assert "python block starting 'import footreid'" in message
    assert "data-info" not in message


# ---- the scratch clone -------------------------------------------------------------------


def invoke(args: list[str]):
    return CliRunner().invoke(app, args)


def weights_file(path: Path, name: str, seed: int) -> None:
    """torchreid-style weights of a random ``name`` (a stand-in for a published checkpoint)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        state = create_model(name, num_classes=0).state_dict()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


def fake_venv(work: Path) -> None:
    """``.venv`` of the clone: its ``footreid`` runs this one with the quickstart shrunk."""
    script = work / ".venv" / "bin" / "footreid"
    script.parent.mkdir(parents=True)
    script.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m footreid.cli.main "$@" '
        f"{QUICKSTART_SHRINK}\n"
    )
    script.chmod(0o755)
    shutil.copy(REPO / "Makefile", work / "Makefile")
    project = work / "pyproject.toml"
    project.write_text("# the clone's project file (make's dependency)\n")
    os.utime(project, (0, 0))
    (work / ".venv" / ".footreid-installed").touch()  # installed: newer than pyproject


@pytest.fixture()
def clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_root: Path, no_network: None
) -> Path:
    work, shared = tmp_path / "footreid", tmp_path / "shared"
    work.mkdir()
    for name in ("snmot-reid", "mot20-reid"):
        (shared / "data").mkdir(parents=True, exist_ok=True)
        (shared / "data" / name).symlink_to(tiny_root)
    for file, name, seed in (
        ("osnet_x0_25_msmt17.pth", "osnet_x0_25", 0),
        ("osnet_x0_25_market1501.pth", "osnet_x0_25", 1),
        ("osnet_ain_x0_25_imagenet.pyth", "osnet_ain_x0_25", 2),
    ):
        weights_file(shared / "weights" / file, name, seed)
    write_tiny_frames(
        write_tiny_sequence(shared / "data" / "snmot-track" / "SNMOT-116-A", 375), 375
    )
    (work / "data").mkdir()
    shutil.copytree(tiny_root, work / "data" / "soccernet")
    (work / "configs").symlink_to(REPO / "configs")
    for where in ("runs/train/snmot_osnet/checkpoints", "runs/train/NAME/checkpoints", "."):
        write_tiny_checkpoint(work / where / "best.pt")
    shutil.copy(tiny_root / "challenge_bbox_info.json", work / "test_bbox_info.json")
    rng = np.random.default_rng(0)
    for name, size in (
        ("crop_a.png", (120, 50)),
        ("crop_b.png", (90, 40)),
        ("frame.png", (400, 640)),
    ):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(work / name)
    fake_venv(work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the GPU lines fail alike
    return work


# ---- running the steps -------------------------------------------------------------------


def run_cli(line: str, how: Run | Fails) -> None:
    words = shlex.split(line)
    out = None
    if ">" in words:
        at = words.index(">")
        out, words = Path(words[at + 1]), words[:at]
    if isinstance(how, Run) and how.setup is not None:
        how.setup(Path.cwd())
    extra = list(how.shrink) if isinstance(how, Run) else []
    started = time.perf_counter()
    result = invoke([*words[1:], *extra])
    if isinstance(how, Fails):
        seconds = time.perf_counter() - started
        assert isinstance(result.exception, how.error), (line, result.output, result.exception)
        assert how.message in str(result.exception), (line, str(result.exception))
        assert seconds < 30, f"{line}: took {seconds:.0f} s to fail ({how.why})"
        return
    assert result.exit_code == 0, f"{line}\n{result.output}\n{result.exception!r}"
    if out is not None:
        out.write_text(result.stdout)


def run_make(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Runs make as a user would at a shell: under CI's own ``make test`` the inherited
    MAKELEVEL / MAKEFLAGS would make the inner make print "Entering directory" lines."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(args, capture_output=True, text=True, env=env, **kwargs)


def make_quickstart(line: str) -> None:
    """``make quickstart`` in the clone: make's recipe runs ``.venv/bin/footreid quickstart``
    (the venv is a stand-in whose footreid appends ``QUICKSTART_SHRINK``)."""
    done = run_make(shlex.split(line), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert ".venv/bin/footreid quickstart" in done.stdout
    assert (
        "test results" in done.stdout and "footreid serve runs/quickstart/experiment" in done.stdout
    )
    assert Path("runs/quickstart/experiment/report/index.html").is_file()


def make_test(line: str) -> None:
    """``make test`` runs this suite, so it cannot run inside it (CI runs it as written):
    make's dry run must show the venv's pytest, after the install and browser steps."""
    done = run_make([*shlex.split(line), "-n"], check=True)
    assert done.stdout.rstrip().endswith(".venv/bin/python -m pytest"), done.stdout


def torchrun(line: str) -> None:
    """Needs several GPUs and stands for a recipe (``...``): what torchrun would start on
    each GPU, ``footreid.cli.main train --config ...``, fails with the missing config."""
    args = shlex.split(line)
    words = args[args.index("footreid.cli.main") + 1 :]
    result = invoke(words)
    assert isinstance(result.exception, ConfigError), result.output
    assert "...: config file not found" in str(result.exception)


def serve(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo as written, without blocking: uvicorn's run loop is replaced by a check
    that the app was built for the run (and serves its info)."""
    import uvicorn
    from fastapi.testclient import TestClient

    served: list = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    result = invoke(shlex.split(line)[1:])
    assert result.exit_code == 0, (result.output, result.exception)
    ((demo, options),) = served
    assert options["host"] == "127.0.0.1" and options["port"] == 7860
    assert TestClient(demo).get("/api/info").status_code == 200


SPECIAL: dict[str, Callable[[str], None]] = {
    "make_quickstart": make_quickstart,
    "make_test": make_test,
    "torchrun": torchrun,
}


def run_line(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One shell line, as its ``COMMANDS`` entry says."""
    how = COMMANDS[line]
    if isinstance(how, Special) and how.name == "serve":
        serve(line, monkeypatch)
    elif isinstance(how, Special):
        SPECIAL[how.name](line)
    else:
        run_cli(line, how)


def run_python(code: str, namespace: dict) -> None:
    (marker,) = [m for m in PYTHON_BLOCKS if m in code]
    how = PYTHON_BLOCKS[marker]
    compiled = compile(code, "README.md", "exec")
    if isinstance(how, Fails):  # everything before the failing line runs
        with pytest.raises(how.error, match=how.message):
            exec(compiled, namespace)
        return
    exec(compiled, namespace)


@pytest.mark.slow  # the README's whole pipeline on tiny data: about 2.5 min of CPU
def test_every_readme_command_runs_as_written(clone: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict = {}
    for kind, step in plan():
        started = time.perf_counter()
        if kind == "python":
            run_python(step, namespace)
        else:
            run_line(step, monkeypatch)
        print(f"{time.perf_counter() - started:6.1f} s  {step.splitlines()[0][:90]}")  # -s
    # what the documented pipeline left behind
    feats, same = namespace["feats"], namespace["same"]
    assert feats.shape == (2, 512) and np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    assert same.shape == (2, 2) and namespace["tracks"].shape[1] == 8
    assert "mAP" in Path("models/snmot-osnet/README.md").read_text()
    assert Path("runs/experiments/mot20_torchreid/report/index.html").is_file()
    assert Path("data/synthetic-small/synth_summary.json").is_file()
    for name in ("per_query.csv", "ranking.json", "osnet.onnx", "hsv.npz", "chal.npz"):
        assert Path(name).is_file(), name
