"""torchreid / BoxMOT checkpoints: loaded as they are by the real packages, same embeddings.

The parity tests build the peers' own models from the written file (torchreid's
``build_model`` + ``load_pretrained_weights``; BoxMOT's ``ReID`` runtime, which reads the
architecture and the crop size from the file) and compare L2-normalised embeddings of
one input tensor with footreid's: max |diff| <= 1e-4.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_checkpoint import TINY_SIZE, write_tiny_checkpoint
from typer.testing import CliRunner

import footreid
from footreid.cli.main import app
from footreid.core.errors import ConfigError, WeightsError
from footreid.export import export_torchreid
from footreid.export.torchreid import check_exportable, torchreid_file_name
from footreid.models import create_model, load_trained

TOL = 1e-4


def normalised(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.as_tensor(np.asarray(x)).float(), dim=1)


def footreid_embedding(checkpoint: Path, x: torch.Tensor) -> torch.Tensor:
    model, _ = load_trained(checkpoint)
    with torch.inference_mode():
        return normalised(model.eval()(x))


def batch(size: tuple[int, int] = TINY_SIZE) -> torch.Tensor:
    return torch.randn(3, 3, *size, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module", params=["osnet_x0_25", "osnet_ain_x0_25"])
def exported(request, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp(request.param)
    checkpoint = write_tiny_checkpoint(root / "best.pt", request.param)
    return checkpoint, export_torchreid(checkpoint, root / "out", tag="snmot")


def test_file_is_named_and_filled_as_torchreid_and_boxmot_expect(exported) -> None:
    checkpoint, result = exported
    assert result.path.name == f"{result.architecture}_snmot.pt"
    payload = torch.load(result.path, map_location="cpu", weights_only=True)
    assert payload["model_name"] == result.architecture and payload["img_size"] == list(TINY_SIZE)
    state = payload["state_dict"]
    assert not any(k.startswith("classifier") for k in state)
    ours = create_model(result.architecture, num_classes=0).state_dict()
    assert list(state) == list(ours)


def test_torchreid_loads_it_as_it_is_and_computes_footreids_embedding(exported) -> None:
    models = pytest.importorskip("torchreid.reid.models", exc_type=ImportError)
    from torchreid.reid.utils.torchtools import load_pretrained_weights

    checkpoint, result = exported
    theirs = models.build_model(result.architecture, num_classes=7, pretrained=False)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        load_pretrained_weights(theirs, str(result.path))
    assert "discarded" not in printed.getvalue()  # every key of the file was used
    state = torch.load(result.path, map_location="cpu", weights_only=True)["state_dict"]
    mine = theirs.state_dict()
    assert all(torch.equal(mine[k], v) for k, v in state.items())
    x = batch()
    with torch.inference_mode():
        diff = (normalised(theirs.eval()(x)) - footreid_embedding(checkpoint, x)).abs().max()
    assert diff <= TOL
    assert result.max_abs_diff is not None and result.max_abs_diff <= TOL


def boxmot_reid(path: Path):
    pytest.importorskip("boxmot", reason="BoxMOT is in the 'bench' extra")
    from boxmot.reid.core.runtime import ReID

    return ReID(path, device="cpu", half=False)


def test_boxmot_loads_it_as_it_is_and_computes_footreids_embedding(exported) -> None:
    checkpoint, result = exported
    reid = boxmot_reid(result.path)
    backend = reid.model
    assert backend.model_name == result.architecture
    assert tuple(backend.input_shape) == TINY_SIZE  # img_size read from the file
    assert backend.model.checkpoint_load_report.numel_coverage == 1.0
    x = batch()
    with torch.inference_mode():
        theirs = normalised(backend.forward(x))
    assert (theirs - footreid_embedding(checkpoint, x)).abs().max() <= TOL


def test_boxmot_reads_the_architecture_from_the_file_name_alone(exported, tmp_path) -> None:
    pytest.importorskip("boxmot", reason="BoxMOT is in the 'bench' extra")
    from boxmot.reid.core.registry import ReIDModelRegistry

    _, result = exported
    plain = tmp_path / result.path.name  # a bare state dict, as older BoxMOT files are
    state = torch.load(result.path, map_location="cpu", weights_only=True)["state_dict"]
    torch.save(state, plain)
    assert ReIDModelRegistry.get_model_name(plain) == result.architecture


def test_boxmot_crops_match_footreid_when_no_resize_is_needed(exported) -> None:
    """BGR order and normalisation agree; the resize is BoxMOT's only difference."""
    checkpoint, result = exported
    reid = boxmot_reid(result.path)
    rng = np.random.default_rng(0)
    bgr = [rng.integers(0, 256, (*TINY_SIZE, 3), dtype=np.uint8) for _ in range(3)]
    enc = footreid.load(checkpoint, device="cpu", precision="fp32", flip_tta=False)
    ours = enc.embed(bgr, bgr=True)
    assert np.abs(reid(bgr) - ours).max() <= TOL
    resized = [rng.integers(0, 256, (97, 41, 3), dtype=np.uint8) for _ in range(3)]
    cos = np.sum(reid(resized) * enc.embed(resized, bgr=True), axis=1)
    assert cos.min() > 0.9  # cv2's resize vs Pillow's: close, not equal


def refuse(name: str, **options) -> str:
    with torch.device("meta"):
        model = create_model(name, **options)
    with pytest.raises(WeightsError) as info:
        check_exportable(model, "best.pt")
    return str(info.value)


def test_what_torchreid_cannot_represent_is_refused_with_the_reason() -> None:
    message = refuse("osnet_x0_25", neck="bnneck")
    assert "bnneck" in message and "export-onnx" in message and "neck: none" in message
    assert "BNNeck" in refuse("resnet50") and "BNNeck" in refuse("resnet50_fc512")
    assert "no torchreid architecture" in refuse("hsv")
    message = refuse("omz_reid_0277")
    assert "Linear Context Transform" in message and "export-onnx" in message


def test_tags_that_would_mislead_boxmot_are_refused() -> None:
    assert torchreid_file_name("osnet_x0_25", "snmot-2025") == "osnet_x0_25_snmot-2025.pt"
    for tag, needle in (
        ("Snmot", "lower-case"),
        ("my_resnet", "lower-case"),
        ("resnet-ft", "resnet"),
        ("deliveries", "veri"),
    ):
        with pytest.raises(ConfigError, match=needle):
            torchreid_file_name("osnet_x0_25", tag)


def test_out_file_must_carry_the_architecture(tmp_path) -> None:
    checkpoint = write_tiny_checkpoint(tmp_path / "best.pt")
    with pytest.raises(ConfigError, match="osnet_x0_25_football.pt"):
        export_torchreid(checkpoint, tmp_path / "model.pt")
    done = export_torchreid(checkpoint, tmp_path / "osnet_x0_25_mine.pt")
    assert done.path == tmp_path / "osnet_x0_25_mine.pt"
    default = export_torchreid(checkpoint, tmp_path / "dir")
    assert default.path.name == "osnet_x0_25_snmot-reid.pt"  # from the data folder's name


def test_cli_export_model_torchreid_and_refusal(tmp_path) -> None:
    runner = CliRunner(env={"COLUMNS": "400"})  # one line per message
    checkpoint = write_tiny_checkpoint(tmp_path / "best.pt")
    ok = runner.invoke(
        app,
        [
            "export-model",
            str(checkpoint),
            str(tmp_path / "o"),
            "--format",
            "torchreid",
            "--tag",
            "snmot",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "osnet_x0_25_snmot.pt" in ok.output and "64x32" in ok.output
    bn = write_tiny_checkpoint(tmp_path / "bn.pt", neck="bnneck")
    refused = runner.invoke(
        app, ["export-model", str(bn), str(tmp_path / "o2"), "--format", "torchreid"]
    )
    assert refused.exit_code != 0 and "bnneck" in str(refused.exception)
    bad = runner.invoke(app, ["export-model", str(checkpoint), str(tmp_path), "--format", "x"])
    assert bad.exit_code == 2


@pytest.mark.shared
def test_real_msmt17_weights_round_trip_through_torchreid_and_boxmot(shared_weights, tmp_path):
    """A footreid checkpoint holding the real MSMT17 OSNet, exported and reloaded by both."""
    from footreid.train.checkpoint import model_entries, save_checkpoint

    model = create_model("osnet_x0_25", pretrained=str(shared_weights / "osnet_x0_25_msmt17.pth"))
    checkpoint = save_checkpoint(model_entries(model, (256, 128), {}), tmp_path / "best.pt")
    result = export_torchreid(checkpoint, tmp_path, tag="msmt17")
    assert result.max_abs_diff is not None and result.max_abs_diff <= TOL
    x = batch((256, 128))
    backend = boxmot_reid(result.path).model
    with torch.inference_mode():
        theirs = normalised(backend.forward(x))
    assert (theirs - footreid_embedding(checkpoint, x)).abs().max() <= TOL
    shutil.rmtree(tmp_path)
