"""The README's "Use it elsewhere" snippets run as written, on a tiny model, offline.

In a scratch folder holding a tiny checkpoint at the placeholder path of the football model,
image files named as in the snippets and a synthetic dataset in place of
``../shared/data/snmot-reid``, every ``footreid`` line of the bash blocks runs through the
CLI (stdout redirections honoured) and every python block runs in one namespace, in
document order. The network is refused: the hub lines must fail fast with the message the
README promises (``DownloadError``), everything else must succeed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_checkpoint import write_tiny_checkpoint
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.core.errors import DownloadError

pytestmark = pytest.mark.slow  # runs the CLI over a small dataset: tens of seconds

README = Path(__file__).resolve().parents[2] / "README.md"
PLACEHOLDER = "runs/train/snmot_osnet/checkpoints/best.pt"
HUB_NAME = "footreid/osnet-snmot"


def section(title: str = "## Use it elsewhere") -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    return text[start : end if end > 0 else None]


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of the fenced blocks, in order."""
    return re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)


@pytest.fixture()
def scratch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_root: Path, no_network: None
) -> Path:
    monkeypatch.chdir(tmp_path)
    write_tiny_checkpoint(tmp_path / PLACEHOLDER)
    rng = np.random.default_rng(0)
    for name, size in (
        ("crop_a.png", (120, 50)),
        ("crop_b.png", (90, 40)),
        ("frame.png", (400, 640)),
    ):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(name)

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tiny_root


def run_bash(code: str, data_root: Path) -> None:
    runner = CliRunner()
    for line in code.splitlines():
        line = line.split("  #", 1)[0].strip()
        if not line.startswith("footreid "):
            continue
        args = shlex.split(line.replace("../shared/data/snmot-reid", str(data_root)))[1:]
        out = None
        if ">" in args:
            out, args = Path(args[args.index(">") + 1]), args[: args.index(">")]
        result = runner.invoke(app, args)
        if args[0] == "push-model":  # the hub: offline here, so it must fail clearly
            assert isinstance(result.exception, DownloadError), result.output
            assert "cannot reach" in str(result.exception)
            continue
        assert result.exit_code == 0, f"{line}\n{result.output}\n{result.exception!r}"
        if out is not None:
            out.write_text(result.stdout)


def run_python(code: str, namespace: dict) -> None:
    if "boxmot" in code:
        pytest.importorskip("boxmot", reason="BoxMOT is in the 'bench' extra")
        pytest.importorskip("torchreid", reason="torchreid is in the 'bench' extra")
    if HUB_NAME in code:  # everything before the hub line runs, the hub line fails fast
        with pytest.raises(DownloadError, match="cannot reach"):
            exec(compile(code, "README.md", "exec"), namespace)
        return
    exec(compile(code, "README.md", "exec"), namespace)


def test_use_it_elsewhere_snippets_run(scratch: Path) -> None:
    found = blocks(section())
    assert [lang for lang, _ in found].count("python") >= 3
    assert any(PLACEHOLDER in code for _, code in found)
    namespace: dict = {}
    for lang, code in found:
        if lang == "bash":
            run_bash(code, scratch)
        elif lang == "python":
            run_python(code, namespace)
    feats, same = namespace["feats"], namespace["same"]
    assert feats.shape == (2, 512) and np.allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    assert same.shape == (2, 2)
    assert Path("models/snmot-osnet/model.safetensors").is_file()
    assert "mAP" in Path("models/snmot-osnet/README.md").read_text()
    assert namespace["tracks"].shape[1] == 8  # the BoxMOT snippet ran (else: skipped above)
