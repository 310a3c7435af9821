"""Files footreid writes for others carry no path of the machine that wrote them.

A checkpoint whose resolved config names absolute folders (data root, output folder,
pretrained weights, as the quickstart writes them) goes through ``embed``, ``evaluate``
(``--json``, ranking, per-query table), ``export-model`` (with ``--results``) and
``export-onnx``; the session's experiment writes ``results.json`` and ``results.md``, and
its HTML report is built. Every
file is searched, inside the ``.npz`` arrays and the ONNX metadata too, for the pytest
base folder (which holds every temporary folder of the session) and the home directory.
The readers still find what those files point to.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import tiny_checkpoint
from typer.testing import CliRunner

from footreid.cli.main import app
from footreid.core.layout import ExperimentLayout
from footreid.core.publish import publishable, publishable_path, restore_path
from footreid.core.records import FeatureSet
from footreid.report import build_report
from footreid.report.run import read_run


def machine_paths(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What must not appear: the session's temporary base folder and the home folder."""
    return [str(tmp_path_factory.getbasetemp().resolve()), str(Path.home().resolve())]


def texts_of(path: Path) -> list[str]:
    """Every text a reader of ``path`` sees: raw bytes, npz arrays, ONNX metadata."""
    raw = path.read_bytes()
    texts = [raw.decode("utf-8", errors="replace")]
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            texts += ["\n".join(map(str, data[name].ravel().tolist())) for name in data.files]
    if path.suffix == ".onnx":
        import onnx

        texts += [p.value for p in onnx.load(str(path)).metadata_props]
    if zipfile.is_zipfile(path) and path.suffix != ".npz":
        with zipfile.ZipFile(path) as archive:
            texts += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
    return texts


def leaks(files: list[Path], forbidden: list[str]) -> list[str]:
    return [
        f"{path.name}: {bad}"
        for path in files
        for text in texts_of(path)
        for bad in forbidden
        if bad in text
    ]


@pytest.fixture()
def absolute_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny checkpoint whose config names absolute folders of this machine."""
    plain = tiny_checkpoint.tiny_config

    def with_paths(*args, **kwargs) -> dict:
        config = plain(*args, **kwargs)
        config["data"]["root"] = str(tmp_path / "data" / "snmot-reid")
        config["output_dir"] = str(tmp_path / "runs" / "train")
        config["model"]["pretrained"] = str(Path.home() / "weights" / "osnet.pth")
        return config

    monkeypatch.setattr(tiny_checkpoint, "tiny_config", with_paths)
    path = tmp_path / "runs" / "train" / "snmot_osnet" / "checkpoints" / "best.pt"
    return tiny_checkpoint.write_tiny_checkpoint(path)


def invoke(args: list[str]) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def test_the_publishing_rules() -> None:
    assert publishable_path("/srv/a/ds", "/srv/a/runs/x") == "../../ds"
    assert publishable_path("/data/ds", "/tmp/run") == "ds"  # nothing shared but /
    assert publishable_path("/data/ds") == "ds" and publishable_path("~/w/osnet.pth") == "osnet.pth"
    assert publishable_path("../shared/data/snmot-reid", "/tmp") == "../shared/data/snmot-reid"
    record = {"root": "/srv/a/ds", "k": ["zero", 3, "/x/y.pt"], "s": "a/b"}
    assert publishable(record) == {"root": "ds", "k": ["zero", 3, "y.pt"], "s": "a/b"}
    assert restore_path("../../ds", "/srv/a/runs/x") == Path("/srv/a/ds")
    assert restore_path("/abs/ds", "/srv") == Path("/abs/ds")


def test_exported_artefacts_carry_no_machine_path(
    tmp_path: Path,
    tiny_root: Path,
    absolute_checkpoint: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    out = tmp_path / "published"
    features, results = out / "valid.npz", out / "valid.json"
    invoke(
        ["embed", absolute_checkpoint, "--data", tiny_root, "--split", "valid"]
        + ["--out", features, "--workers", "0", "--no-flip-tta", "--precision", "fp32"]
    )
    extra = ["--export-ranking", out / "ranking.json", "--per-query", out / "per_query.csv"]
    results.write_text(invoke(["evaluate", features, "--json", "--bootstrap", "10", *extra]))
    invoke(["export-model", absolute_checkpoint, out / "model", "--results", results])
    invoke(["export-onnx", absolute_checkpoint, out / "model.onnx", "--no-check"])
    files = sorted(p for p in out.rglob("*") if p.is_file())
    names = {p.name for p in files}
    assert {"valid.npz", "valid.json", "ranking.json", "config.json", "README.md"} <= names
    assert {"model.onnx", "model.safetensors", "per_query.csv"} <= names
    assert leaks(files, machine_paths(tmp_path_factory)) == []
    # what the files say instead, and what reads them back
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["training"]["data"] == "snmot-reid"
    assert config["training"]["config"]["output_dir"] == "train"
    # evaluate's stdout publishes from the working directory: the name, or a relative path
    # where the checkout and the temporary folders share a folder (a clone under /tmp)
    assert config["results"][0]["data"] == publishable_path(tiny_root, Path.cwd())
    assert FeatureSet.load(features).meta["dataset_root"] == str(tiny_root.resolve())


def test_experiment_results_carry_no_machine_path(
    experiment_run: Path,
    tiny_root: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    layout = ExperimentLayout(experiment_run)
    files = [layout.results_json, layout.results_md, *experiment_run.glob("features/*.npz")]
    files += list(experiment_run.glob("per_query/*.csv"))
    page = build_report(experiment_run, tmp_path / "report", examples=2, top_k=3)
    files += [p for p in page.parent.iterdir() if p.suffix in (".html", ".json")]
    assert leaks(files, machine_paths(tmp_path_factory)) == []
    data = layout.read_results()
    assert not Path(data["dataset"]["root"]).is_absolute()
    run = read_run(experiment_run)  # the report and the demo resolve it against the run
    assert run.dataset_root.resolve() == tiny_root.resolve()
    assert all(m.checkpoint is not None and m.checkpoint.is_file() for m in run.models)
