"""Upload checks, exact search (FAISS and numpy agree) and the upload embedding."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from footreid.core.records import FeatureSet
from footreid.serve.upload import (
    MAX_UPLOAD_BYTES,
    UploadError,
    UploadSearch,
    build_index,
    decode_upload,
    search_index,
)


def _png(size: tuple[int, int] = (20, 40), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "ctype", "status", "message"),
    [
        (b"", "image/png", 400, "empty"),
        (b"hello, not an image", "image/png", 400, "not a readable image"),
        (_png(), "text/plain", 415, "not an image"),
        (_png(fmt="GIF"), "image/gif", 415, "GIF images are not accepted"),
        (b"\x89PNG" + b"0" * MAX_UPLOAD_BYTES, "image/png", 413, "limit is 10 MB"),
        (_png((1, 1)), "image/png", 400, "too small"),
    ],
)
def test_bad_uploads_are_refused(data: bytes, ctype: str, status: int, message: str) -> None:
    with pytest.raises(UploadError, match=message) as info:
        decode_upload(data, ctype)
    assert info.value.status == status


def test_good_uploads_decode_to_rgb() -> None:
    for fmt, ctype in (("PNG", "image/png"), ("JPEG", None), ("BMP", "application/octet-stream")):
        image = decode_upload(_png((30, 60), fmt), ctype)
        assert image.mode == "RGB" and image.size == (30, 60)


def test_faiss_and_numpy_search_agree() -> None:
    pytest.importorskip("faiss")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[17] + 0.01 * rng.normal(size=16).astype(np.float32)
    faiss_index, backend = build_index(vectors)
    assert backend == "faiss"
    f_pos, f_scores = search_index(faiss_index, "faiss", query, 10)
    n_pos, n_scores = search_index(vectors, "numpy", query, 10)
    assert f_pos[0] == n_pos[0] == 17
    np.testing.assert_array_equal(f_pos, n_pos)
    np.testing.assert_allclose(f_scores, n_scores, atol=1e-5)
    all_pos, _ = search_index(vectors, "numpy", query, 300)
    assert sorted(all_pos.tolist()) == list(range(300))


def test_upload_of_a_gallery_crop_finds_that_crop(served_run: Path) -> None:
    feats = FeatureSet.load(served_run / "features" / "osnet.npz")
    search = UploadSearch({"osnet": served_run / "osnet.pt", "good": None}, {"osnet": feats})
    row = int(np.flatnonzero(feats.role == "gallery")[7])
    split_dir = served_run.parent / "data" / "reid" / "valid"
    image = Image.open(split_dir / str(feats.path[row])).convert("RGB")
    found = search.search(image, None, 5)
    assert found["model"] == "osnet" and found["bbox_idx"][0] == int(feats.bbox_idx[row])
    assert found["scores"][0] == pytest.approx(1.0, abs=1e-4)
    assert found["scores"] == sorted(found["scores"], reverse=True)


def test_upload_embedding_equals_the_embed_pipeline(served_run: Path) -> None:
    """The demo embeds an upload exactly like `footreid embed` embedded the gallery."""
    from footreid.embed import EmbedOptions, extract_features, load_embed_model

    feats = FeatureSet.load(served_run / "features" / "osnet.npz")
    search = UploadSearch({"osnet": served_run / "osnet.pt"}, {"osnet": feats})
    split_dir = served_run.parent / "data" / "reid" / "valid"
    paths = [split_dir / str(p) for p in feats.path[:4]]
    options = EmbedOptions(flip_tta=True, num_workers=0, device="cpu", precision="fp32")
    expected = extract_features(load_embed_model(served_run / "osnet.pt"), paths, options)
    searcher = search._searcher("osnet")
    got = np.stack([search.embed(searcher, Image.open(p).convert("RGB")) for p in paths])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_upload_search_without_checkpoint_is_unavailable(served_run: Path) -> None:
    feats = FeatureSet.load(served_run / "features" / "good.npz")
    search = UploadSearch(
        {"good": None, "weak": Path("/nonexistent.pt")}, {"good": feats, "weak": feats}
    )
    assert search.default_model() is None
    with pytest.raises(UploadError, match="no loadable checkpoint") as info:
        search.search(Image.new("RGB", (20, 40)), None, 3)
    assert info.value.status == 503
    with pytest.raises(UploadError, match="weak.*missing") as info:
        search.search(Image.new("RGB", (20, 40)), "weak", 3)
    assert info.value.status == 503
    with pytest.raises(UploadError, match="unknown model") as info:
        search.search(Image.new("RGB", (20, 40)), "nope", 3)
    assert info.value.status == 404
