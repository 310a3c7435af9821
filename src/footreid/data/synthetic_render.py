"""One synthetic broadcast crop: pitch background, the player, an occluder, the camera.

The nuisances of the real crops are applied in the order a broadcast chain would apply
them: a mown pitch with lines and advertising boards; the player (and maybe a team-mate or
opponent partly in front or behind); a stadium shadow; the camera's colour style
(white balance, gamma, saturation, contrast); resampling softness; motion blur; sensor
noise; lossy compression.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from footreid.data.synthetic_figure import figure_labels, palette, side_light
from footreid.data.synthetic_kits import RGB, CameraStyle, Person
from footreid.data.synthetic_skeleton import Pose, make_skeleton, skeleton_extent

MIN_WIDTH = 12
"""Narrowest crop written, in pixels."""


@dataclass(frozen=True)
class FrameLook:
    """What every crop of one frame shares: its camera and how the pitch looks.

    ``blur``: motion-blur length in pixels per 100 px of crop height; ``quality``: JPEG
    quality of the broadcast stream (0 = lossless); ``noise``: sensor noise sigma (0-255
    scale); ``soften``: downscale factor of the resampling blur (1 = none);
    ``stripe_angle``/``stripe_period``: mowing pattern direction (radians) and period
    (in player heights); ``light``: side-light strength in [-1, 1].
    """

    camera: CameraStyle
    grass: RGB
    stripe_angle: float
    stripe_period: float
    blur: float
    blur_angle: float
    quality: int
    noise: float
    soften: float
    light: float
    boards: float


@dataclass(frozen=True)
class CropRequest:
    """Everything needed to render one crop; ``seed`` (a SeedSequence entropy) drives the
    per-crop details: margins, background, occluder placement, noise."""

    person: Person
    pose: Pose
    height: int
    look: FrameLook
    occluder: Person | None
    occluder_pose: Pose | None
    seed: tuple[int, ...]


def _background(rng: np.random.Generator, h: int, w: int, look: FrameLook, s: float) -> Image.Image:
    """Grass with mowing stripes, maybe a pitch line and advertising boards (RGB, uint8)."""
    base = np.asarray(look.grass, dtype=np.float32) * rng.uniform(0.92, 1.08)
    dark = tuple(int(c) for c in np.clip(base * 0.93, 0, 255))
    light = tuple(int(c) for c in np.clip(base * 1.07, 0, 255))
    img = Image.new("RGB", (w, h), dark)
    draw = ImageDraw.Draw(img)
    n = (math.cos(look.stripe_angle), math.sin(look.stripe_angle))
    t = (-n[1] * 2 * (w + h), n[0] * 2 * (w + h))
    period = look.stripe_period * s
    corners = [x * n[0] + y * n[1] for x in (0, w) for y in (0, h)]
    c = min(corners) - rng.uniform(0, 2 * period)
    while c < max(corners):
        a, b = (c * n[0], c * n[1]), ((c + period) * n[0], (c + period) * n[1])
        quad = [(a[0] - t[0], a[1] - t[1]), (a[0] + t[0], a[1] + t[1])]
        quad += [(b[0] + t[0], b[1] + t[1]), (b[0] - t[0], b[1] - t[1])]
        draw.polygon(quad, fill=light)
        c += 2 * period
    if rng.random() < 0.35:
        angle = rng.uniform(0, math.pi)
        cx, cy = rng.uniform(0, w), rng.uniform(h * 0.3, h)
        dx, dy = math.cos(angle) * 2 * (w + h), math.sin(angle) * 2 * (w + h)
        width = max(1, round(rng.uniform(0.012, 0.022) * s))
        draw.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=(222, 226, 220), width=width)
    if rng.random() < look.boards:
        _boards(rng, img, draw, s)
    return img


def _boards(
    rng: np.random.Generator, img: Image.Image, draw: ImageDraw.ImageDraw, s: float
) -> None:
    """Advertising boards across the top and a strip of crowd above them, in place."""
    w, h = img.size
    bottom = int(h * rng.uniform(0.1, 0.4))
    top = max(0, bottom - max(2, int(0.18 * s)))
    x = -rng.uniform(0, 0.5) * s
    while x < w:
        panel = max(4.0, rng.uniform(0.6, 2.0) * s)
        colour = tuple(int(v) for v in rng.integers(20, 250, size=3))
        draw.rectangle([x, top, x + panel, bottom], fill=colour)
        ink = tuple(255 - v for v in colour)
        mid, text_h, step = (top + bottom) / 2, max(1.0, (bottom - top) / 6), max(3.0, 0.12 * s)
        tx = x + 0.1 * panel
        while tx < x + 0.9 * panel:
            draw.rectangle([tx, mid - text_h, tx + 0.6 * step, mid + text_h], fill=ink)
            tx += step
        x += panel
    if top > 0:
        crowd = rng.integers(10, 170, size=(max(1, top // 3), max(1, w // 3), 3), dtype=np.uint8)
        img.paste(Image.fromarray(crowd).resize((w, top), Image.NEAREST), (0, 0))


@functools.lru_cache(maxsize=256)
def _camera_lut(style: CameraStyle) -> list[int]:
    """Gain, gamma and contrast of a camera as a 768-entry lookup table for ``Image.point``."""
    v = np.arange(256, dtype=np.float64)[:, None] / 255.0
    x = v**style.gamma * np.asarray(style.gain)[None, :]
    x = 0.5 + (x - 0.5) * style.contrast
    return np.clip(np.round(x * 255.0), 0, 255).astype(np.uint8).T.ravel().tolist()


def _motion_blur(img: np.ndarray, length: float, angle: float) -> np.ndarray:
    """Average of shifted copies along a direction (a camera pan or a fast player)."""
    steps = int(round(length))
    if steps < 2:
        return img
    pad = steps
    padded = np.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    h, w, _ = img.shape
    acc = np.zeros_like(img)
    for k in range(steps):
        t = k - (steps - 1) / 2.0
        dx, dy = int(round(t * math.cos(angle))), int(round(t * math.sin(angle)))
        acc += padded[pad + dy : pad + dy + h, pad + dx : pad + dx + w]
    acc *= 1.0 / steps
    return acc


def _lighting(rng: np.random.Generator, mask: np.ndarray, column_light: np.ndarray) -> np.ndarray:
    """(H, W) float32 light: side light on the player, grass blotches, maybe a shadow."""
    h, w = mask.shape
    light = 1.0 + mask * (column_light[None, :] - 1.0)
    blotch = rng.normal(1.0, 0.05, size=(2, 3)).astype(np.float32)
    light *= np.asarray(Image.fromarray(blotch, mode="F").resize((w, h), Image.BILINEAR))
    if rng.random() < 0.12:  # the shadow of a stand on a sunny day
        angle = rng.uniform(0, 2 * math.pi)
        xs = (np.arange(w, dtype=np.float32) - rng.uniform(0, w)) * math.cos(angle)
        ys = (np.arange(h, dtype=np.float32) - rng.uniform(0, h)) * math.sin(angle)
        light *= np.where(xs[None, :] + ys[:, None] > 0, np.float32(rng.uniform(0.5, 0.72)), 1)
    return light


def _finish(
    rng: np.random.Generator, img: np.ndarray, light: np.ndarray, look: FrameLook
) -> np.ndarray:
    """Light, camera, motion blur, noise, softness and compression; returns uint8 (H, W, 3)."""
    h, w, _ = img.shape
    x = img.astype(np.float32) * light[..., None]
    np.clip(x, 0.0, 255.0, out=x)
    pil = Image.fromarray(x.astype(np.uint8)).point(_camera_lut(look.camera))
    if look.camera.saturation != 1.0:  # blend with grey; a factor > 1 extrapolates
        pil = Image.blend(pil.convert("L").convert("RGB"), pil, look.camera.saturation)
    x = np.asarray(pil, dtype=np.float32)
    x = _motion_blur(
        x, look.blur * h / 100.0 * rng.uniform(0.5, 1.5), look.blur_angle + rng.normal(0, 0.15)
    )
    if look.noise > 0:  # uniform noise with standard deviation ``look.noise``
        x = x + (rng.random((h, w, 1), dtype=np.float32) - 0.5) * np.float32(look.noise * 3.464)
        np.clip(x, 0.0, 255.0, out=x)
    pil = Image.fromarray(x.astype(np.uint8))
    soften = look.soften * rng.uniform(0.85, 1.2)
    if soften > 1.1:
        small = (max(4, round(w / soften)), max(4, round(h / soften)))
        pil = pil.resize(small, Image.BILINEAR).resize((w, h), Image.BILINEAR)
    else:
        pil = pil.filter(ImageFilter.GaussianBlur(radius=0.6))
    if look.quality > 0:
        buffer = io.BytesIO()
        pil.save(
            buffer, format="JPEG", quality=int(np.clip(look.quality + rng.integers(-8, 9), 15, 95))
        )
        pil = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return np.asarray(pil)


def render_crop(req: CropRequest) -> np.ndarray:
    """Render one crop.

    Returns:
        (H, W, 3) uint8 RGB with H = ``req.height`` and W decided by the pose (the
        person's bounding box plus small annotation margins), at least :data:`MIN_WIDTH`.
    """
    rng = np.random.default_rng(list(req.seed))
    h = req.height
    xmin, xmax, ymin, ymax = skeleton_extent(make_skeleton(req.person, req.pose))
    m_top, m_bottom = rng.uniform(0.0, 0.05, size=2)
    s = h * (1.0 - m_top - m_bottom) / (ymax - ymin)
    m_side = rng.uniform(0.0, 0.06, size=2) * h
    w = max(MIN_WIDTH, int(round((xmax - xmin) * s + m_side.sum())))
    origin = (m_side[0] - xmin * s, m_top * h - ymin * s)
    img = np.array(_background(rng, h, w, req.look, s))
    layers = []
    if req.occluder is not None and req.occluder_pose is not None:
        o_s = s * rng.uniform(0.8, 1.2)
        dx = (1.0 if rng.random() < 0.5 else -1.0) * rng.uniform(0.14, 0.3) * s
        o_origin = (origin[0] + dx, origin[1] + rng.normal(0, 0.05) * s)
        o_labels, _ = figure_labels(req.occluder, req.occluder_pose, (w, h), o_origin, o_s)
        layers.append((o_labels, req.occluder))
    labels, sk = figure_labels(req.person, req.pose, (w, h), origin, s)
    layers.insert(1 if layers and rng.random() < 0.55 else 0, (labels, req.person))
    for layer_labels, person in layers:
        mask = layer_labels > 0
        np.copyto(img, palette(person)[layer_labels], where=mask[..., None])
    light = _lighting(rng, labels > 0, side_light(sk, w, origin[0], s, req.look.light))
    return _finish(rng, img, light, req.look)
