"""Train/test transforms: sizes, normalisation, each augmentation, seeded draws."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from footreid.core.config import AugmentConfig
from footreid.core.errors import ConfigError
from footreid.data.transforms import build_test_transform, build_train_transform

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
OFF = {"hflip": 0.0, "crop": 0.0, "color_jitter": 0.0, "erase": 0.0}


def image(w: int = 20, h: int = 40) -> Image.Image:
    """Left half black, right half white (so flips and shifts are visible)."""
    pixels = torch.zeros(h, w, 3, dtype=torch.uint8)
    pixels[:, w // 2 :] = 255
    return Image.fromarray(pixels.numpy())


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_test_transform_resizes_and_normalises() -> None:
    x = build_test_transform((32, 16), MEAN, STD)(image())
    assert x.shape == (3, 32, 16) and x.dtype == torch.float32
    assert x[:, :, 0].eq(-2.0).all() and x[:, :, -1].eq(2.0).all()  # (0 - .5)/.25, (1 - .5)/.25


def test_grayscale_input_is_converted() -> None:
    x = build_test_transform((8, 4), MEAN, STD)(image().convert("L"))
    assert x.shape == (3, 8, 4)


def test_no_augmentation_equals_the_test_transform() -> None:
    train = build_train_transform((32, 16), MEAN, STD, AugmentConfig(**OFF))
    assert torch.equal(train(image(), gen()), build_test_transform((32, 16), MEAN, STD)(image()))


def test_flip_mirrors_the_image() -> None:
    flip = build_train_transform((32, 16), MEAN, STD, AugmentConfig(**{**OFF, "hflip": 1.0}))
    x = flip(image(), gen())
    assert x[:, :, 0].eq(2.0).all() and x[:, :, -1].eq(-2.0).all()


def test_pad_and_crop_translates_within_pad() -> None:
    aug = AugmentConfig(**{**OFF, "crop": 1.0, "pad": 4})
    crop = build_train_transform((32, 16), MEAN, STD, aug)
    outs = [crop(image(), gen(s)) for s in range(8)]
    assert all(o.shape == (3, 32, 16) for o in outs)
    assert len({o.sum().item() for o in outs}) > 1  # different shifts
    reference = build_test_transform((32, 16), MEAN, STD)(image())
    assert any(not torch.equal(o, reference) for o in outs)


def test_erasing_changes_a_rectangle_only() -> None:
    aug = AugmentConfig(**{**OFF, "erase": 1.0, "erase_area": [0.1, 0.1], "erase_ratio": [1, 1]})
    x = build_train_transform((40, 40), MEAN, STD, aug)(image(40, 40), gen())
    reference = build_test_transform((40, 40), MEAN, STD)(image(40, 40))
    changed = (x != reference).any(0)
    rows, cols = changed.nonzero(as_tuple=True)
    assert changed.sum() <= 13 * 13 and changed.any()
    box = changed[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    assert x[:, changed].eq(0).all() and box.float().mean() > 0.4


def test_color_jitter_keeps_range_and_changes_values() -> None:
    aug = AugmentConfig(**{**OFF, "color_jitter": 1.0, "brightness": 0.5, "hue": 0.1})
    photo = Image.fromarray((torch.rand(40, 20, 3, generator=gen()) * 255).byte().numpy())
    x = build_train_transform((40, 20), (0, 0, 0), (1, 1, 1), aug)(photo, gen(1))
    plain = build_test_transform((40, 20), (0, 0, 0), (1, 1, 1))(photo)
    assert x.min() >= 0 and x.max() <= 1 and not torch.allclose(x, plain, atol=1e-3)


def test_same_generator_seed_same_augmentation() -> None:
    t = build_train_transform((32, 16), MEAN, STD, AugmentConfig(color_jitter=0.5))
    a, b = t(image(), gen(7)), t(image(), gen(7))
    assert torch.equal(a, b)
    assert any(not torch.equal(a, t(image(), gen(s))) for s in range(8, 14))


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("hflip", 1.5, "augment.hflip"),
        ("brightness", 1.0, "augment.brightness"),
        ("hue", 0.6, "augment.hue"),
        ("pad", -1, "augment.pad"),
        ("erase_area", [0.5, 0.1], "augment.erase_area"),
        ("erase_area", [0.1, 1.5], "augment.erase_area"),
        ("erase_ratio", [0.0, 1.0], "augment.erase_ratio"),
    ],
)
def test_bad_augment_values_name_the_field(field: str, value: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_train_transform((32, 16), MEAN, STD, AugmentConfig(**{field: value}))


def test_bad_size_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[H, W\]"):
        build_test_transform((32,), MEAN, STD)
