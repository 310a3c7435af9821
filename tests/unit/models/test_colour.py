"""The training-free colour models: exact bins, Bhattacharyya = cosine, stripes, options."""

from __future__ import annotations

import colorsys
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from footreid.core.errors import ConfigError
from footreid.core.records import FeatureSet
from footreid.embed import EmbedOptions, embed_split, load_embed_model
from footreid.evaluate.distances import pairwise_distance
from footreid.models import create_model
from footreid.models.colour import RGB_TO_XYZ, hsv_bins, lab_levels

TIE_LEVELS = np.array([0, 17, 32, 51, 64, 85, 128, 170, 191, 255])
"""Levels whose ratios and differences hit bin edges exactly (s = 1/2, hue = k/8, ...)."""
EDGE_PIXELS = [
    (8, 7, 4),
    (8, 9, 7),
    (9, 9, 12),
    (12, 9, 9),
    (15, 16, 19),
    (16, 13, 4),
    (17, 19, 15),
]
"""Pixels with hue or saturation exactly k/8, which float32 arithmetic puts in bin k - 1."""


def random_images(n: int, h: int, w: int, seed: int, ties: bool = False) -> np.ndarray:
    """(n, h, w, 3) uint8 RGB; with ``ties`` drawn from :data:`TIE_LEVELS`."""
    rng = np.random.default_rng(seed)
    if not ties:
        return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    images = TIE_LEVELS[rng.integers(0, len(TIE_LEVELS), (n, h, w, 3))].astype(np.uint8)
    images[:, 0, : len(EDGE_PIXELS)] = np.array(EDGE_PIXELS)[:w]
    return images


def palette_images(n: int, h: int, w: int, seed: int) -> np.ndarray:
    """(n, h, w, 3) uint8 images of one 8-colour palette in random proportions per image:
    overlapping histograms with distinct coefficients."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (8, 3))
    picks = [rng.choice(8, size=(h, w), p=rng.dirichlet(np.ones(8))) for _ in range(n)]
    return palette[np.stack(picks)].astype(np.uint8)


def as_input(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> the model's (N, 3, H, W) float32 input, as the transform makes it."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def exact_hsv_bin(rgb: tuple[int, int, int], bins: tuple[int, int, int]) -> tuple[int, ...]:
    """Bins of the textbook hexcone HSV of one 8-bit pixel, in exact rational arithmetic."""
    r, g, b = (int(v) for v in rgb)
    high, delta = max(r, g, b), max(r, g, b) - min(r, g, b)
    if delta == 0:
        hue = Fraction(0)
    elif r == high:
        hue = Fraction(g - b, 6 * delta) % 1
    elif g == high:
        hue = Fraction(2 * delta + b - r, 6 * delta)
    else:
        hue = Fraction(4 * delta + r - g, 6 * delta)
    sat = Fraction(delta, high) if high else Fraction(0)
    values = (hue, sat, Fraction(high, 255))
    return tuple(min(math.floor(v * k), k - 1) for v, k in zip(values, bins, strict=True))


def reference_lab(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """OpenCV's documented RGB -> 8-bit Lab formula for one pixel, in plain float64."""
    linear = [
        c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in np.array(rgb) / 255
    ]
    xyz = [sum(m * c for m, c in zip(row, linear, strict=True)) for row in RGB_TO_XYZ]
    xyz = [xyz[0] / 0.950456, xyz[1], xyz[2] / 1.088754]
    fx, fy, fz = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    encoded = ((116 * fy - 16) * 255 / 100, 500 * (fx - fy) + 128, 200 * (fy - fz) + 128)
    return tuple(min(max(round(v), 0), 255) for v in encoded)


def reference_histograms(
    image: np.ndarray, space: str, bins: tuple[int, int, int], parts: int
) -> np.ndarray:
    """(parts, prod(bins)) L1-normalised joint histograms of one (H, W, 3) uint8 image."""
    height = image.shape[0]
    hist = np.zeros((parts, math.prod(bins)))
    for y in range(height):
        for x in range(image.shape[1]):
            pixel = tuple(image[y, x])
            if space == "hsv":
                c = exact_hsv_bin(pixel, bins)
            else:
                c = tuple(v * k // 256 for v, k in zip(reference_lab(pixel), bins, strict=True))
            hist[y * parts // height, (c[0] * bins[1] + c[1]) * bins[2] + c[2]] += 1
    return hist / hist.sum(1, keepdims=True)


def embed(name: str, images: np.ndarray, **options: object) -> np.ndarray:
    return create_model(name, **options).eval()(as_input(images)).numpy()


@pytest.mark.parametrize(
    ("space", "bins", "parts", "ties"),
    [("hsv", (8, 8, 8), 1, True), ("hsv", (6, 4, 3), 3, False), ("lab", (8, 8, 8), 2, False)],
)
def test_embedding_equals_a_pixel_loop_reference(
    space: str, bins: tuple[int, int, int], parts: int, ties: bool
) -> None:
    images = random_images(3, 12, 7, seed=1, ties=ties)
    out = embed(space, images, bins=bins, parts=parts)
    for image, row in zip(images, out, strict=True):
        expected = np.sqrt(reference_histograms(image, space, bins, parts)) / math.sqrt(parts)
        np.testing.assert_allclose(row, expected.reshape(-1), atol=1e-6)


def test_hsv_bins_agree_with_colorsys_away_from_bin_edges() -> None:
    rgb = random_images(1, 64, 64, seed=2)[0].reshape(-1, 3)
    bins = (8, 8, 8)
    levels = torch.from_numpy(rgb.T.astype(np.int64)).view(1, 3, -1, 1)
    ours = hsv_bins(levels, bins).view(3, -1).T.numpy()
    hsv = np.array([colorsys.rgb_to_hsv(*(c / 255 for c in p)) for p in rgb]) * 8
    clear = np.abs(hsv - np.round(hsv)).min(1) > 1e-9  # colorsys' float rounding decides edges
    assert clear.mean() > 0.95
    np.testing.assert_array_equal(ours[clear], np.minimum(np.floor(hsv[clear]), 7))


def test_lab_levels_stay_within_a_level_of_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    image = random_images(1, 32, 32, seed=3)[0]
    image[0] = np.arange(32)[:, None] * 8  # greys: a = b = 0, on the middle bin edge
    ours = lab_levels(torch.from_numpy(image).permute(2, 0, 1)[None].long())[0]
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB).astype(np.float64)
    theirs = np.stack([lab[..., 0] * 255 / 100, lab[..., 1] + 128, lab[..., 2] + 128], -1)
    assert np.abs(ours.permute(1, 2, 0).numpy() - theirs).max() <= 1.0  # OpenCV approximates
    assert (ours[1:, 0] == 128).all() and not (ours[1:, 1:] == 128).all()


@pytest.mark.parametrize("parts", [1, 3])
def test_cosine_is_the_bhattacharyya_coefficient_and_ranks_alike(parts: int) -> None:
    images = palette_images(6, 24, 10, seed=4)
    out = embed("hsv", images, parts=parts)
    hists = [reference_histograms(image, "hsv", (8, 8, 8), parts) for image in images]
    coefficient = np.array([[np.sqrt(p * q).sum(1).mean() for q in hists] for p in hists])
    np.testing.assert_allclose(out @ out.T, coefficient, atol=1e-6)
    cosine = pairwise_distance(out, out, "cosine")  # what footreid ranks with
    np.testing.assert_allclose(cosine, 1 - coefficient, atol=1e-6)
    bhattacharyya = np.sqrt(np.clip(1 - coefficient, 0, None))  # OpenCV's HISTCMP_BHATTACHARYYA
    assert np.diff(np.sort(bhattacharyya, axis=1), axis=1).min() > 1e-4  # no ties to order
    for a, b in zip(cosine, bhattacharyya, strict=True):
        np.testing.assert_array_equal(np.argsort(a, kind="stable"), np.argsort(b, kind="stable"))


@pytest.mark.parametrize("name", ["hsv", "lab"])
def test_unit_norm_flip_invariant_and_deterministic(name: str) -> None:
    x = as_input(random_images(4, 20, 9, seed=5))
    model = create_model(name, parts=3).eval()
    out = model(x)
    assert out.dtype == torch.float32 and out.shape == (4, model.spec.embed_dim) == (4, 3 * 512)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4))
    assert torch.equal(model(torch.flip(x, dims=[3])), out)
    assert torch.equal(create_model(name, parts=3).eval()(x), out)
    assert torch.equal(model(x[1:2]), out[1:2])  # no dependence on the batch
    noisy = x + (torch.rand_like(x) - 0.5) / 600  # less than half a level: same crop
    assert torch.equal(model(noisy), out)


def test_bf16_autocast_and_train_mode_give_the_same_histogram() -> None:
    x = as_input(random_images(2, 16, 8, seed=6))
    model = create_model("hsv").eval()
    out = model(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(model(x), out)
    train = model.train()(x)
    assert torch.equal(train.embedding, out) and train.logits is None


def test_stripes_describe_top_and_bottom_separately() -> None:
    image = np.zeros((1, 8, 4, 3), dtype=np.uint8)
    image[:, :4] = (200, 0, 0)  # red shirt over blue shorts
    image[:, 4:] = (0, 0, 200)
    swapped = image[:, ::-1].copy()
    one, two = embed("hsv", image, parts=1), embed("hsv", image, parts=2)
    assert np.array_equal(embed("hsv", swapped, parts=1), one)  # one stripe: order lost
    assert not np.array_equal(embed("hsv", swapped, parts=2), two)
    red, blue = (0 * 8 + 7) * 8 + 6, (5 * 8 + 7) * 8 + 6  # hue 0 and 2/3, sat 1, value 200
    np.testing.assert_allclose(one[0, [red, blue]], [math.sqrt(0.5)] * 2, atol=1e-6)
    np.testing.assert_allclose(two[0, [red, 512 + blue]], [math.sqrt(0.5)] * 2, atol=1e-6)
    assert np.count_nonzero(two) == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bins": (8, 8)}, "option bins: expected 3 integers in \\[1, 32\\]"),
        ({"bins": (8, 0, 8)}, "option bins"),
        ({"bins": (8, 33, 8)}, "option bins"),
        ({"bins": (8, 8, True)}, "option bins"),
        ({"parts": 0}, "option parts: expected an integer in \\[1, 8\\]"),
        ({"parts": 9}, "option parts"),
        ({"parts": 2.0}, "option parts"),
        ({"input_size": (2, 64), "parts": 3}, "option input_size: .*H >= parts \\(3\\)"),
        ({"input_size": (128,)}, "option input_size"),
        ({"kernel": "gauss"}, "no option.*kernel.*bins, parts, input_size"),
    ],
)
def test_bad_options_are_refused_by_name(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        create_model("hsv", **options)


def test_bad_inputs_are_refused() -> None:
    model = create_model("lab", parts=3).eval()
    with pytest.raises(ConfigError, match="at least parts=3 rows"):
        model(torch.rand(1, 3, 2, 8))
    with pytest.raises(ConfigError, match="must be RGB"):
        model(torch.rand(1, 4, 16, 8))


def test_options_accept_yaml_lists_and_rebuild() -> None:
    model = create_model("hsv", bins=[4, 4, 2], parts=2, input_size=[64, 32])
    assert model.spec.input_size == (64, 32) and model.spec.embed_dim == 2 * 32
    assert model.spec.mean == (0.0, 0.0, 0.0) and model.spec.std == (1.0, 1.0, 1.0)
    assert model.model_kwargs == {"bins": [4, 4, 2], "parts": 2, "input_size": [64, 32]}
    rebuilt = create_model(model.model_name, **model.model_kwargs)
    x = torch.rand(2, 3, 64, 32)
    assert torch.equal(rebuilt.eval()(x), model.eval()(x))


def test_embed_split_writes_a_features_file(tiny_root: Path, tmp_path: Path) -> None:
    options = EmbedOptions(flip_tta=True, batch_size=32, num_workers=0, precision="bf16")
    model = load_embed_model("hsv", options={"parts": 2})
    features = embed_split(model, tiny_root, "valid", options)
    loaded = FeatureSet.load(features.save(tmp_path / "hsv.npz"))
    assert loaded.features.dtype == np.float32 and loaded.dim == 2 * 512
    np.testing.assert_allclose(np.linalg.norm(loaded.features, axis=1), 1, atol=1e-6)
    meta = loaded.meta
    assert meta["model"] == "hsv" and meta["model_options"] == {"parts": 2}
    assert meta["input_size"] == [128, 64] and meta["pretrained"] == "none"
    assert meta["precision"] == "bf16" and meta["split"] == "valid"
    plain = embed_split(model, tiny_root, "valid", EmbedOptions(flip_tta=False, num_workers=0))
    np.testing.assert_allclose(plain.features, loaded.features, atol=1e-6)  # flip: no change


@pytest.mark.shared
def test_hsv_reaches_the_reference_on_real_football(shared_dir: Path) -> None:
    """Default ``hsv`` on snmot-reid valid >= the README's 43.31 mAP of 8x8x8 HSV."""
    from footreid.evaluate.methods import MethodSpec, evaluate_method

    root = shared_dir / "data" / "snmot-reid"
    if not (root / "reid" / "valid").is_dir():
        pytest.skip(f"{root}/reid/valid is absent")
    options = EmbedOptions(flip_tta=False, batch_size=64, num_workers=1, device="cpu")
    features = embed_split("hsv", root, "valid", options)
    result = evaluate_method(
        MethodSpec(name="hsv", kind="single", members=["hsv"]), {"hsv": features}
    ).result
    assert result.num_queries == 274
    assert result.mAP >= 0.4331, result.mAP  # measured 0.4593 (45.93 mAP, 48.91 Rank-1)
