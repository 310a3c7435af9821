"""footreid.load / Encoder.embed: every kind of crop, the embed pipeline's numbers, clear errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiny_checkpoint import TINY_SIZE

import footreid
from footreid.core.errors import DataError, FootreidError
from footreid.embed import EmbedOptions, extract_features, load_embed_model


@pytest.fixture(scope="module")
def crops() -> list[np.ndarray]:
    """Five RGB uint8 crops of different sizes (none at the model's input size)."""
    rng = np.random.default_rng(0)
    sizes = [(90, 40), (120, 50), (45, 20), (64, 33), (200, 70)]
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in sizes]


@pytest.fixture(scope="module")
def encoder(trained_checkpoint: Path) -> footreid.Encoder:
    return footreid.load(trained_checkpoint, device="cpu", precision="fp32")


def test_load_reads_the_trained_size_and_embeds_unit_vectors(encoder, crops) -> None:
    assert encoder.name == "osnet_x0_25" and tuple(encoder.input_size) == TINY_SIZE
    feats = encoder.embed(crops)
    assert feats.shape == (5, encoder.embed_dim) == (5, 512) and feats.dtype == np.float32
    assert np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(feats[0], feats[1])


def test_arrays_pil_paths_and_bgr_give_the_same_features(encoder, crops, tmp_path) -> None:
    ref = encoder.embed(crops)
    paths = []
    for i, crop in enumerate(crops):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(crop).save(paths[-1])
    assert np.array_equal(encoder.embed([Image.fromarray(c) for c in crops]), ref)
    assert np.array_equal(encoder.embed([c[..., ::-1] for c in crops], bgr=True), ref)
    # files go through footreid embed's loader (batch-wise normalisation: float rounding)
    assert np.abs(encoder.embed(paths) - ref).max() < 1e-5
    assert np.abs(encoder.embed([str(p) for p in paths[:2]] + crops[2:]) - ref).max() < 1e-5
    bgr_as_rgb = encoder.embed([c[..., ::-1] for c in crops])
    assert np.abs(bgr_as_rgb - ref).max() > 1e-3  # the channel order matters


def test_paths_are_exactly_what_footreid_embed_computes(
    trained_checkpoint, crops, tmp_path
) -> None:
    paths = []
    for i, crop in enumerate(crops):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(crop).save(paths[-1])
    options = EmbedOptions(num_workers=0, device="cpu", precision="fp32")
    theirs = extract_features(load_embed_model(trained_checkpoint), paths, options)
    ours = footreid.load(trained_checkpoint, device="cpu", precision="fp32").embed(paths)
    assert np.array_equal(ours, theirs)


def test_batches_single_crops_and_stacked_arrays(trained_checkpoint, encoder, crops) -> None:
    ref = encoder.embed(crops)
    small = footreid.load(trained_checkpoint, device="cpu", precision="fp32", batch_size=2)
    assert np.abs(small.embed(crops) - ref).max() < 1e-5
    assert np.abs(encoder.embed(crops[1]) - ref[1:2]).max() < 1e-5
    stacked = np.stack([np.asarray(Image.fromarray(c).resize((32, 64))) for c in crops])
    assert encoder.embed(stacked).shape == (5, 512)
    assert encoder.embed([]).shape == (0, 512)


def test_flip_tta_off_is_the_plain_forward(trained_checkpoint, encoder, crops) -> None:
    plain = footreid.load(trained_checkpoint, device="cpu", precision="fp32", flip_tta=False)
    tta = encoder.embed(crops)
    assert np.abs(plain.embed(crops) - tta).max() > 1e-4
    mirrored = plain.embed([c[:, ::-1] for c in crops])
    mean = plain.embed(crops) + mirrored
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    assert not np.allclose(mean, tta)  # TTA averages embeddings, not normalised ones


@pytest.mark.parametrize(
    ("crop", "needle"),
    [
        (np.zeros((10, 10, 3), dtype=np.float32), "uint8"),
        (np.zeros((10, 10), dtype=np.uint8), "H x W x 3"),
        (np.zeros((0, 10, 3), dtype=np.uint8), "H x W x 3"),
        (3, "int"),
    ],
)
def test_bad_crops_are_named(encoder, crops, crop, needle: str) -> None:
    with pytest.raises(DataError, match=rf"crops\[1\].*{needle}"):
        encoder.embed([crops[0], crop])


def test_missing_file_and_unknown_name_fail_without_network(tmp_path) -> None:
    with pytest.raises(FootreidError, match="osnet_x0_25"):
        footreid.load("osnet_x0_52")
    with pytest.raises(FootreidError, match="neither a checkpoint"):
        footreid.load(tmp_path / "runs" / "best.pt")


def test_registry_name_loads_at_its_spec_size() -> None:
    enc = footreid.load("osnet_x0_25", device="cpu", precision="fp32", flip_tta=False)
    assert tuple(enc.input_size) == (256, 128)
    assert enc.embed(np.zeros((30, 20, 3), dtype=np.uint8)).shape == (1, 512)


def test_import_footreid_stays_cheap() -> None:
    code = "import sys, footreid; print('torch' in sys.modules, 'footreid.api' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
    assert callable(footreid.load)
    with pytest.raises(AttributeError, match="nope"):
        _ = footreid.nope


def test_load_takes_a_backend_and_reports_the_one_that_runs(tmp_path: Path) -> None:
    from tiny_checkpoint import write_tiny_checkpoint

    pytest.importorskip("onnxruntime")
    path = write_tiny_checkpoint(tmp_path / "best.pt")
    settings = {"device": "cpu", "precision": "fp32", "flip_tta": False}
    enc = footreid.load(path, backend="onnx", **settings)
    reference = footreid.load(path, **settings)
    crops = [np.random.default_rng(0).integers(0, 255, (64, 32, 3), dtype=np.uint8)] * 2
    assert enc.backend == "onnx" and reference.backend == "torch"
    assert np.abs(enc.embed(crops) - reference.embed(crops)).max() < 1e-4
