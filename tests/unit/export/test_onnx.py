"""ONNX export: the file computes what PyTorch computes, carries its metadata, fails clearly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_checkpoint import write_tiny_checkpoint
from typer.testing import CliRunner

import footreid
from footreid.cli.main import app
from footreid.core.errors import WeightsError
from footreid.core.model_record import ONNX, ModelRecord
from footreid.embed import EmbedOptions, extract_features, load_embed_model
from footreid.embed.onnx_runtime import read_metadata
from footreid.export import export_onnx

pytest.importorskip("onnxruntime", reason="ONNX export needs the 'onnx' extra")
pytestmark = pytest.mark.slow  # each export traces the network: seconds, not milliseconds

SMALL = (64, 32)


@pytest.fixture(scope="module")
def osnet(tmp_path_factory: pytest.TempPathFactory):
    """A seeded random OSNet x0.25 at 64x32 and its exported file."""
    torch.manual_seed(0)
    model = load_embed_model("osnet_x0_25", input_size=SMALL)
    out = tmp_path_factory.mktemp("onnx") / "osnet.onnx"
    return model, export_onnx(model, out)


def test_export_agrees_with_pytorch_and_records_metadata(osnet) -> None:
    model, result = osnet
    assert result.path.is_file() and result.max_abs_diff is not None
    assert result.max_abs_diff < 1e-4
    meta = read_metadata(result.path)
    assert meta["model"] == "osnet_x0_25" and meta["input_size"] == list(SMALL)
    assert meta["embed_dim"] == 512 and len(meta["mean"]) == len(meta["std"]) == 3
    # the metadata is the model record: it reads back as the PyTorch model's (no options)
    record = dataclasses.replace(model.record(), options={})
    assert ModelRecord.from_record(meta, ONNX, "x.onnx") == record
    assert load_embed_model(result.path).record() == record


def test_embedding_an_onnx_file_gives_the_pytorch_features(osnet, tiny_root: Path) -> None:
    model, result = osnet
    paths = sorted((tiny_root / "reid" / "valid" / "query").rglob("*.png"))[:10]
    options = EmbedOptions(flip_tta=True, batch_size=4, num_workers=0, device="cpu")
    onnx_model = load_embed_model(result.path)
    assert onnx_model.backend == "onnx" and onnx_model.input_size == SMALL
    ours = extract_features(onnx_model, paths, options)
    ref = extract_features(model, paths, EmbedOptions(True, 4, 0, "cpu", "fp32"))
    assert ours.shape == (10, 512)
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_lora_vit_is_merged_and_exported_at_another_size(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = load_embed_model("vit_tiny_lora", input_size=(56, 28))
    x = torch.randn(2, 3, 56, 28)
    with torch.inference_mode():
        before = model.model(x)  # position embeddings resampled on the fly
    assert model.model.has_lora
    result = export_onnx(model, tmp_path / "vit.onnx")
    assert result.max_abs_diff < 1e-4
    assert not model.model.has_lora  # merged before export: a plain graph
    with torch.inference_mode():  # merged + fixed grid: the same function of the input
        torch.testing.assert_close(model.model(x), before, atol=1e-4, rtol=1e-4)


def test_not_an_onnx_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(WeightsError, match="broken.onnx"):
        load_embed_model(bad)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_without_footreid_metadata_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain.onnx"
    net = torch.nn.Conv2d(3, 4, 3).eval()
    torch.onnx.export(net, (torch.randn(1, 3, 8, 8),), str(plain), dynamo=False)
    with pytest.raises(WeightsError, match="without footreid metadata"):
        read_metadata(plain)


def test_exporting_an_onnx_model_again_is_refused(osnet, tmp_path: Path) -> None:
    _, result = osnet
    with pytest.raises(WeightsError, match="already an ONNX file"):
        export_onnx(load_embed_model(result.path), tmp_path / "again.onnx")


def test_failed_parity_writes_nothing(osnet, tmp_path: Path) -> None:
    model, _ = osnet
    out = tmp_path / "strict.onnx"
    with pytest.raises(WeightsError, match="differs from PyTorch"):
        export_onnx(model, out, tolerance=-1.0)  # nothing can pass: the check must refuse
    assert not out.exists() and not list(tmp_path.iterdir())


def test_cli_exports_and_checks(tmp_path: Path) -> None:
    out = tmp_path / "cli.onnx"
    args = ["export-onnx", "osnet_x0_25", str(out), "--input-size", "64x32"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "max |ONNX - PyTorch|" in " ".join(result.output.split()) and out.is_file()
    bad = CliRunner().invoke(app, ["export-onnx", "osnet_x0_25", str(tmp_path / "x.pt")])
    assert bad.exit_code != 0 and ".onnx" in bad.output


def raw_preprocess(crops: list[np.ndarray], meta: dict) -> np.ndarray:
    """What a C++ or Rust tracker does before the graph, in numpy: README "ONNX" section.

    RGB uint8 crop -> bilinear resize to input_size (H, W) -> / 255 -> (x - mean) / std
    per channel -> (N, 3, H, W) float32.
    """
    h, w = meta["input_size"]
    mean, std = np.float32(meta["mean"]), np.float32(meta["std"])
    batch = []
    for crop in crops:
        resized = Image.fromarray(crop).resize((w, h), Image.Resampling.BILINEAR)
        x = (np.asarray(resized, dtype=np.float32) / 255.0 - mean) / std
        batch.append(x.transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(batch), dtype=np.float32)


def test_onnx_runtime_from_raw_uint8_crops_gives_footreids_features(tmp_path: Path) -> None:
    import onnxruntime as ort

    checkpoint = write_tiny_checkpoint(tmp_path / "best.pt")
    path = export_onnx(load_embed_model(checkpoint), tmp_path / "model.onnx").path
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, inp.shape, inp.type) == ("images", ["batch", 3, 64, 32], "tensor(float)")
    assert (out.name, out.shape, out.type) == ("embeddings", ["batch", 512], "tensor(float)")
    meta = json.loads(session.get_modelmeta().custom_metadata_map["footreid"])
    assert meta["input_size"] == [64, 32] and meta["mean"] == [0.485, 0.456, 0.406]
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (70 + 9 * i, 30, 3), dtype=np.uint8) for i in range(4)]
    (emb,) = session.run(["embeddings"], {"images": raw_preprocess(crops, meta)})
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    enc = footreid.load(checkpoint, device="cpu", precision="fp32", flip_tta=False)
    assert np.abs(emb - enc.embed(crops)).max() <= 1e-4
    onnx_enc = footreid.load(path, flip_tta=False)
    assert np.abs(onnx_enc.embed(crops) - enc.embed(crops)).max() <= 1e-4


def test_boxmot_runs_an_onnx_file_of_a_model_torchreid_cannot_hold(tmp_path, monkeypatch):
    """OSNet with a BNNeck (refused by --format torchreid) goes to BoxMOT as ONNX."""
    pytest.importorskip("boxmot", reason="BoxMOT is in the 'bench' extra")
    from boxmot.reid.backends.onnx_backend import ONNXBackend
    from boxmot.reid.core.runtime import ReID

    # BoxMOT 25 pins onnxruntime==1.24.3 and pip-installs it at load time when another
    # version is present: never let a test change the environment
    monkeypatch.setattr(ONNXBackend, "_ensure_onnxruntime_installed", lambda self: None)
    checkpoint = write_tiny_checkpoint(tmp_path / "bn.pt", neck="bnneck")
    path = export_onnx(load_embed_model(checkpoint), tmp_path / "football_bnneck.onnx").path
    reid = ReID(path, device="cpu")
    assert tuple(reid.model.input_shape) == (64, 32)  # read from the graph
    rng = np.random.default_rng(1)
    bgr = [rng.integers(0, 256, (64, 32, 3), dtype=np.uint8) for _ in range(3)]
    enc = footreid.load(checkpoint, device="cpu", precision="fp32", flip_tta=False)
    assert np.abs(reid(bgr) - enc.embed(bgr, bgr=True)).max() <= 1e-4


@pytest.mark.shared
def test_open_model_zoo_model_exports_and_runs_in_boxmot(shared_weights, tmp_path, monkeypatch):
    """OSNet-LCT goes to BoxMOT as ONNX: RGB ImageNet-normalised input, footreid's features."""
    pytest.importorskip("boxmot", reason="BoxMOT is in the 'bench' extra")
    pytest.importorskip("openvino", reason="reading the IR needs the 'openvino' extra")
    from boxmot.reid.backends.onnx_backend import ONNXBackend
    from boxmot.reid.core.runtime import ReID

    xml = shared_weights / "omz" / "person-reidentification-retail-0288.xml"
    if not xml.is_file():
        pytest.skip(f"{xml} is absent")
    monkeypatch.setattr(ONNXBackend, "_ensure_onnxruntime_installed", lambda self: None)
    result = export_onnx(load_embed_model(xml), tmp_path / "omz_reid_0288_football.onnx")
    assert result.max_abs_diff is not None and result.max_abs_diff < 1e-4
    assert read_metadata(result.path)["model"] == "omz_reid_0288"
    reid = ReID(result.path, device="cpu")
    assert tuple(reid.model.input_shape) == (256, 128)
    rng = np.random.default_rng(2)
    bgr = [rng.integers(0, 256, (256, 128, 3), dtype=np.uint8) for _ in range(3)]
    enc = footreid.load(str(xml), device="cpu", precision="fp32", flip_tta=False)
    assert np.abs(reid(bgr) - enc.embed(bgr, bgr=True)).max() <= 1e-4
