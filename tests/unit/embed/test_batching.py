"""Crop loading: the evaluation transform, uint8 batches in order, the worker count."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from footreid.data.transforms import normalize_batch
from footreid.embed.batching import crop_loader, default_num_workers, eval_transform


def write_crops(folder, n: int) -> list:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        h, w = 20 + 3 * i, 10 + i
        path = folder / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_eval_transform_resizes_and_normalises() -> None:
    image = Image.new("RGB", (17, 45), (255, 0, 128))
    x = eval_transform((32, 16), (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))(image)
    assert x.shape == (3, 32, 16) and x.dtype == torch.float32
    np.testing.assert_allclose(x[:, 5, 5].numpy(), [1.0, -1.0, 128 / 127.5 - 1], atol=1e-2)


def test_loader_keeps_order_with_workers(tmp_path) -> None:
    paths = write_crops(tmp_path, 7)
    transform = eval_transform((24, 12), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    serial = torch.cat(list(crop_loader(paths, transform, batch_size=3, num_workers=0)))
    loader = crop_loader(paths, transform, batch_size=3, num_workers=2)
    assert len(loader) == 3 and loader.num_workers == 2
    torch.testing.assert_close(torch.cat(list(loader)), serial)
    assert serial.dtype == torch.uint8 and serial.shape == (7, 3, 24, 12)
    for i, path in enumerate(paths):
        torch.testing.assert_close(serial[i], transform.pixels(Image.open(path).convert("RGB")))


def test_normalised_uint8_batch_equals_the_per_crop_transform(tmp_path) -> None:
    paths = write_crops(tmp_path, 5)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    transform = eval_transform((24, 12), mean, std)
    (batch,) = list(crop_loader(paths, transform, batch_size=5, num_workers=0))
    got = normalize_batch(batch, mean, std)
    want = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths])
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize(("cpus", "device", "workers"), [(1, "cpu", 0), (2, "cpu", 0),
                                                         (8, "cpu", 1), (2, "cuda", 1),
                                                         (16, "cuda", 4)])  # fmt: skip
def test_worker_count_follows_the_usable_cores(monkeypatch, cpus, device, workers) -> None:
    import footreid.embed.batching as batching

    monkeypatch.setattr(batching, "usable_cpus", lambda: cpus)
    assert default_num_workers(device) == workers


def test_worker_count_is_capped_by_batches() -> None:
    loader = crop_loader(["a.png", "b.png"], lambda im: im, batch_size=8, num_workers=4)
    assert loader.num_workers == 1  # one batch needs one worker
