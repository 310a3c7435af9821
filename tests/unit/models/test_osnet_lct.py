"""OSNet-LCT (omz_reid_*): Open Model Zoo's IR read into PyTorch, equal to OpenVINO."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from footreid.core.errors import ConfigError, WeightsError
from footreid.models import create_model
from footreid.models import weights as W
from footreid.models.factory import describe_models
from footreid.models.omz import OMZ_MODELS, OMZ_STORAGE, ir_sources
from footreid.models.openvino_ir import read_ir

NUMBERS = sorted(OMZ_MODELS)


def ir_path(shared_weights: Path, number: str) -> Path:
    path = shared_weights / "omz" / f"person-reidentification-retail-{number}.xml"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path


def real_crops(shared_dir: Path, count: int = 6) -> np.ndarray:
    """(N, 256, 128, 3) float32 RGB 0-255: real football crops resized to the input size."""
    root = shared_dir / "data" / "snmot-reid" / "reid" / "valid" / "query"
    files = sorted(root.rglob("*.png"))[:count]
    if len(files) < count:
        pytest.skip(f"{root} holds fewer than {count} crops")
    resized = [Image.open(f).convert("RGB").resize((128, 256), Image.BILINEAR) for f in files]
    return np.stack([np.asarray(im, dtype=np.float32) for im in resized])


def normalised(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_registry_lists_the_four_models_with_their_sizes() -> None:
    rows = {row["name"]: row for row in describe_models("omz_reid")}
    assert sorted(rows) == [f"omz_reid_{n}" for n in NUMBERS]
    params = {name: row["params"] for name, row in rows.items()}
    # Open Model Zoo's cards: 2.1 M, 1.2 M, 0.6 M, 0.18 M parameters
    assert 2.0e6 < params["omz_reid_0277"] < 2.2e6
    assert 1.1e6 < params["omz_reid_0286"] < 1.3e6
    assert 0.55e6 < params["omz_reid_0287"] < 0.65e6
    assert 0.15e6 < params["omz_reid_0288"] < 0.2e6
    assert all(row["input_size"] == (256, 128) and row["embed_dim"] == 256 for row in rows.values())


def test_input_size_must_match_the_head() -> None:
    model = create_model("omz_reid_0288", input_size=(64, 32)).eval()
    assert model(torch.randn(2, 3, 64, 32)).shape == (2, 256)
    with pytest.raises(ConfigError, match="takes 64x32 inputs"):
        model(torch.randn(1, 3, 128, 64))
    with pytest.raises(ConfigError, match="multiples of 16"):
        create_model("omz_reid_0288", input_size=(250, 128))


@pytest.mark.shared
@pytest.mark.parametrize("number", NUMBERS)
def test_features_equal_openvino_on_real_crops(
    shared_dir: Path, shared_weights: Path, number: str
) -> None:
    ov = pytest.importorskip("openvino")
    xml = ir_path(shared_weights, number)
    crops = real_crops(shared_dir)
    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    bgr = crops[..., ::-1].transpose(0, 3, 1, 2)  # the IR's contract: BGR, 0-255, batch 1
    reference = np.concatenate([compiled(np.ascontiguousarray(b[None]))[0] for b in bgr])

    model = create_model(f"omz_reid_{number}", pretrained=str(xml)).eval()
    mean = np.array(model.spec.mean, dtype=np.float32) * 255
    std = np.array(model.spec.std, dtype=np.float32) * 255
    x = torch.from_numpy(((crops - mean) / std).transpose(0, 3, 1, 2).copy())
    with torch.no_grad():
        ours = model(x).numpy()  # the whole batch at once: the batch size is free
    assert ours.shape == (len(crops), 256)
    assert np.abs(normalised(ours) - normalised(reference)).max() <= 1e-3


@pytest.mark.shared
def test_ir_reader_groups_the_layers(shared_weights: Path) -> None:
    pytest.importorskip("openvino")
    graph = read_ir(ir_path(shared_weights, "0288"))
    kinds = [layer.kind for layer in graph.layers]
    assert graph.input_shape == (1, 3, 256, 128)
    assert graph.preprocessing.bgr_input
    assert np.allclose(graph.preprocessing.mean, (123.675, 116.28, 103.53), atol=1e-3)
    assert kinds.count("linear") == 1 and kinds.count("prelu") == 1
    # the input and stem instance norms, 12 LCT gates and the folded BatchNorm1d
    assert kinds.count("affine") == 2 + 12 + 1
    assert kinds[0] == "affine" and kinds[-1] == "prelu"


@pytest.mark.shared
def test_another_models_graph_is_refused(shared_weights: Path) -> None:
    pytest.importorskip("openvino")
    with pytest.raises(WeightsError, match="omz_reid_0277 expects a conv of shapes"):
        create_model("omz_reid_0277", pretrained=str(ir_path(shared_weights, "0288")))


def test_missing_bin_and_non_ir_files_name_the_file(tmp_path: Path) -> None:
    xml = tmp_path / "model.xml"
    xml.write_text("<net/>")
    with pytest.raises(WeightsError, match=r"model\.bin does not exist"):
        create_model("omz_reid_0288", pretrained=str(xml))
    (tmp_path / "model.bin").write_bytes(b"\0" * 8)
    pytest.importorskip("openvino")
    with pytest.raises(WeightsError, match="OpenVINO cannot read it as an IR"):
        create_model("omz_reid_0288", pretrained=str(xml))


def test_tags_name_the_official_files_with_checksums() -> None:
    xml_sources, bin_sources = ir_sources("0277")
    xml, bin_ = xml_sources["omz"], bin_sources["omz"]
    stem = "person-reidentification-retail-0277"
    assert xml.url == f"{OMZ_STORAGE}/{stem}/FP16/{stem}.xml"
    assert bin_.url.endswith("/FP16/person-reidentification-retail-0277.bin")
    assert len(xml.sha256 or "") == 64 and len(bin_.sha256 or "") == 64
    assert xml.cache_name == "omz/person-reidentification-retail-0277.xml"


def test_offline_tag_says_which_file_to_place_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path))
    monkeypatch.setenv("FOOTREID_OFFLINE", "1")
    with pytest.raises(WeightsError) as info:
        create_model("omz_reid_0288", pretrained="omz")
    message = str(info.value)
    stem = "person-reidentification-retail-0288"
    assert f"{stem}/FP32/{stem}.xml" in message
    assert str(tmp_path / "weights" / "omz" / "person-reidentification-retail-0288.xml") in message


@pytest.mark.shared
def test_cached_files_are_used_and_checked(
    shared_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("openvino")
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path))
    monkeypatch.setattr(W, "_download", lambda *a: pytest.fail("the network must not be used"))
    cache = tmp_path / "weights" / "omz"
    cache.mkdir(parents=True)
    xml = ir_path(shared_weights, "0288")
    for suffix in (".xml", ".bin"):
        shutil.copy(xml.with_suffix(suffix), cache / xml.with_suffix(suffix).name)
    from_tag = create_model("omz_reid_0288.omz")
    from_file = create_model("omz_reid_0288", pretrained=str(xml))
    assert torch.equal(from_tag.fc.weight, from_file.fc.weight)
    with open(cache / xml.with_suffix(".bin").name, "r+b") as handle:
        handle.write(b"\1\2\3\4")  # a corrupted cached copy is refused, not loaded
    with pytest.raises(WeightsError, match="has SHA-256 .* delete"):
        create_model("omz_reid_0288", pretrained="omz")


def test_download_with_wrong_checksum_is_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path))
    monkeypatch.delenv("FOOTREID_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)

    def fake_download(source: W.WeightSource, dest: Path, timeout: float) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"not the published file")
        return dest

    monkeypatch.setattr(W, "_download", fake_download)
    with pytest.raises(WeightsError, match="SHA-256"):
        create_model("omz_reid_0288", pretrained="omz")
    assert not any((tmp_path / "weights").rglob("*.xml"))


@pytest.mark.shared
def test_footreid_load_and_embed_take_the_ir_file(shared_weights: Path, tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    import footreid
    from footreid.embed.sources import load_embed_model

    xml = ir_path(shared_weights, "0288")
    loaded = load_embed_model(xml)
    assert loaded.name == "omz_reid_0288" and tuple(loaded.input_size) == (256, 128)
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (120, 50, 3), dtype=np.uint8) for _ in range(2)]
    from_file = footreid.load(str(xml), device="cpu", precision="fp32").embed(crops)
    assert from_file.shape == (2, 256)
    renamed = tmp_path / "my_model.xml"
    shutil.copy(xml, renamed)
    with pytest.raises(WeightsError, match="person-reidentification-retail-0277.xml"):
        load_embed_model(renamed)
