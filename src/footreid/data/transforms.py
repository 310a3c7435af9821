"""Image transforms built from a model's input size and normalisation (its ModelSpec).

Training: resize, horizontal flip, pad + random crop (a translation of up to ``pad``
pixels), colour jitter, normalise, random erasing (Zhong et al., AAAI 2020) -- the
"bag of tricks" set (Luo et al., CVPR-W 2019) with every parameter in the config.
Every random draw comes from a ``torch.Generator`` passed per image (the loader derives
it from the run seed, the epoch and the position in the epoch), so augmentations are
reproducible whatever the number of workers, and a resumed run redraws the same ones.
Test: resize + normalise (flip TTA is the embedder's job); embedding keeps the resized
crops as uint8 and normalises whole batches (:func:`normalize_batch`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import torch
import torchvision.transforms.v2.functional as F
from PIL import Image

from footreid.core.config import AugmentConfig
from footreid.core.errors import ConfigError
from footreid.core.size import ImageSize


class ImageTransform(Protocol):
    """RGB PIL image (+ optional generator) -> (3, H, W) float32 normalised tensor."""

    def __call__(
        self, image: Image.Image, generator: torch.Generator | None = None
    ) -> torch.Tensor: ...


def _to_uint8_tensor(image: Image.Image, size: ImageSize) -> torch.Tensor:
    """Resize (bilinear, antialiased, on uint8 pixels) to a (3, H, W) uint8 tensor."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    if image.size != (size[1], size[0]):
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return F.pil_to_tensor(image)


def _to_unit_tensor(image: Image.Image, size: ImageSize) -> torch.Tensor:
    """Resize (bilinear, antialiased) and convert to (3, H, W) float32 in [0, 1]."""
    return _to_uint8_tensor(image, size).float().div_(255.0)


def normalize_batch(
    images: torch.Tensor, mean: Sequence[float], std: Sequence[float]
) -> torch.Tensor:
    """Normalise a uint8 batch in one step: what :class:`TestTransform` does per crop.

    Args:
        images: (B, 3, H, W) uint8 RGB pixels (from :meth:`TestTransform.pixels`).
        mean, std: per-channel RGB normalisation of [0, 1] images.

    Returns:
        (B, 3, H, W) float32, ``(x / 255 - mean) / std`` (equal to the per-crop path up to
        float rounding, about 1e-6).
    """
    scale = torch.tensor([1.0 / (255.0 * s) for s in std]).view(1, 3, 1, 1)
    shift = torch.tensor([-m / s for m, s in zip(mean, std, strict=True)]).view(1, 3, 1, 1)
    return torch.addcmul(shift, images.float(), scale)


class TestTransform:
    """Resize + normalise: what validation and embedding see.

    Args:
        size: (H, W) pixels.
        mean, std: per-channel RGB normalisation of [0, 1] images.
    """

    __test__ = False  # not a pytest class

    def __init__(self, size: Sequence[int], mean: Sequence[float], std: Sequence[float]) -> None:
        self.size = ImageSize.parse(size, "input size")
        self.mean, self.std = list(map(float, mean)), list(map(float, std))

    def __call__(
        self, image: Image.Image, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """(3, H, W) float32 normalised; ``generator`` is ignored (nothing is random)."""
        return F.normalize(_to_unit_tensor(image, self.size), self.mean, self.std)

    def pixels(self, image: Image.Image) -> torch.Tensor:
        """(3, H, W) uint8, resized: the crop before normalisation, 4x smaller than float32.

        Embedding batches these and normalises whole batches with :func:`normalize_batch`
        (one vectorised step instead of one per crop, and uint8 between processes).
        """
        return _to_uint8_tensor(image, self.size)


def _check_augment(aug: AugmentConfig) -> None:
    for name in ("hflip", "crop", "color_jitter", "erase"):
        value = getattr(aug, name)
        if not 0.0 <= value <= 1.0:
            raise ConfigError(f"augment.{name}: a probability in [0, 1], got {value}")
    for name in ("brightness", "contrast", "saturation"):
        if not 0.0 <= getattr(aug, name) < 1.0:
            raise ConfigError(f"augment.{name}: must be in [0, 1), got {getattr(aug, name)}")
    if not 0.0 <= aug.hue <= 0.5:
        raise ConfigError(f"augment.hue: must be in [0, 0.5], got {aug.hue}")
    if aug.pad < 0:
        raise ConfigError(f"augment.pad: must be >= 0 pixels, got {aug.pad}")
    for name, low in (("erase_area", 0.0), ("erase_ratio", 0.0)):
        pair = getattr(aug, name)
        if len(pair) != 2 or not low < pair[0] <= pair[1]:
            raise ConfigError(
                f"augment.{name}: expected [min, max] with 0 < min <= max, got {pair}"
            )
    if aug.erase_area[1] > 1.0:
        raise ConfigError(
            f"augment.erase_area: the max share of the image is <= 1, got {aug.erase_area}"
        )


class TrainTransform:
    """Resize, flip, pad + crop, colour jitter, normalise, random erasing.

    Args:
        size: (H, W) pixels.
        mean, std: per-channel RGB normalisation of [0, 1] images.
        augment: probabilities and ranges (see :class:`~footreid.core.config.AugmentConfig`).
        seed: seed of the fallback generator used when a call passes none.
    """

    def __init__(
        self,
        size: Sequence[int],
        mean: Sequence[float],
        std: Sequence[float],
        augment: AugmentConfig,
        seed: int = 0,
    ) -> None:
        _check_augment(augment)
        self.size = ImageSize.parse(size, "input size")
        self.mean, self.std = list(map(float, mean)), list(map(float, std))
        self.aug = augment
        self._fallback = torch.Generator().manual_seed(seed)

    def __call__(
        self, image: Image.Image, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """(3, H, W) float32 normalised, augmented with draws from ``generator``."""
        g = self._fallback if generator is None else generator
        aug = self.aug
        x = _to_unit_tensor(image, self.size)
        if aug.hflip and _uniform(g) < aug.hflip:
            x = x.flip(-1)
        if aug.crop and aug.pad and _uniform(g) < aug.crop:
            x = self._translate(x, g)
        if aug.color_jitter and _uniform(g) < aug.color_jitter:
            x = self._jitter(x, g)
        x = F.normalize(x, self.mean, self.std)
        if aug.erase and _uniform(g) < aug.erase:
            x = self._erase(x, g)
        return x

    def _translate(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Pad by ``pad`` pixels per side, crop (H, W) at a random offset."""
        pad = self.aug.pad
        padded = F.pad(x, [pad, pad, pad, pad], fill=0.0, padding_mode=self.aug.pad_mode)
        top, left = _randint(g, 2 * pad + 1), _randint(g, 2 * pad + 1)
        return padded[:, top : top + self.size[0], left : left + self.size[1]]

    def _jitter(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Brightness, contrast, saturation, hue; factors drawn around 1 (hue around 0)."""
        aug = self.aug
        if aug.brightness:
            x = F.adjust_brightness(x, _uniform(g, 1 - aug.brightness, 1 + aug.brightness))
        if aug.contrast:
            x = F.adjust_contrast(x, _uniform(g, 1 - aug.contrast, 1 + aug.contrast))
        if aug.saturation:
            x = F.adjust_saturation(x, _uniform(g, 1 - aug.saturation, 1 + aug.saturation))
        if aug.hue:
            x = F.adjust_hue(x, _uniform(g, -aug.hue, aug.hue))
        return x.clamp_(0.0, 1.0)

    def _erase(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """Replace a random rectangle (area and aspect ratio drawn) by zeros or noise."""
        _, height, width = x.shape
        low, high = (math.log(r) for r in self.aug.erase_ratio)
        for _ in range(10):  # torchvision's RandomErasing tries 10 boxes
            area = _uniform(g, *self.aug.erase_area) * height * width
            ratio = math.exp(_uniform(g, low, high))
            h, w = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
            if 0 < h < height and 0 < w < width:
                top, left = _randint(g, height - h + 1), _randint(g, width - w + 1)
                x = x.clone()
                if self.aug.erase_value == "random":
                    x[:, top : top + h, left : left + w] = torch.randn(
                        (3, h, w), generator=g, dtype=x.dtype
                    )
                else:
                    x[:, top : top + h, left : left + w] = 0.0
                return x
        return x


def _uniform(g: torch.Generator, low: float = 0.0, high: float = 1.0) -> float:
    return low + (high - low) * float(torch.rand((), generator=g))


def _randint(g: torch.Generator, high: int) -> int:
    return int(torch.randint(high, (), generator=g))


def build_train_transform(
    size: Sequence[int],
    mean: Sequence[float],
    std: Sequence[float],
    augment: AugmentConfig | None = None,
    seed: int = 0,
) -> TrainTransform:
    """The training transform for a model's ``spec.input_size``/``mean``/``std``.

    Returns:
        A callable ``(PIL RGB image, torch.Generator | None) -> (3, H, W) float32``.
    """
    return TrainTransform(size, mean, std, augment or AugmentConfig(), seed)


def build_test_transform(
    size: Sequence[int], mean: Sequence[float], std: Sequence[float]
) -> TestTransform:
    """The test transform: resize to ``size`` (H, W) and normalise.

    Returns:
        A callable ``PIL RGB image -> (3, H, W) float32``.
    """
    return TestTransform(size, mean, std)
