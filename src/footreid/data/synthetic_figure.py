"""A football player figure drawn directly at the crop's resolution.

The figure is a light 3-D skeleton (x lateral, y down, z forward; the body is about 1 unit
tall) posed by a running phase and turned by a facing angle, projected orthographically
and drawn with PIL primitives into a *label map* (one small integer per body part). The
label map is then coloured with the person's palette, the kit pattern and a side light.
Drawing at the target size (no big render and downscale) keeps a crop at about a
millisecond.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from footreid.data.synthetic_kits import Person
from footreid.data.synthetic_skeleton import Pose, Skeleton, make_skeleton

# label values of the parts in a label map (0 = not this figure)
SKIN, HAIR, SHIRT, SLEEVE, SHORTS, SOCKS, BAND, BOOTS, NUMBER = 1, 2, 3, 4, 5, 6, 7, 8, 9
GLOVES, HEADBAND, FLAG, FLAG2, STICK, SHIRT2 = 10, 11, 12, 13, 14, 15
NUM_LABELS = 16

# 7-segment digits: segments a b c d e f g
_SEGMENTS = {
    "0": "abcdef", "1": "bc", "2": "abdeg", "3": "abcdg", "4": "bcfg", "5": "acdfg",
    "6": "acdefg", "7": "abc", "8": "abcdefg", "9": "abcdfg",
}  # fmt: skip


class _Painter:
    """Draws body parts of one skeleton into a label map at a given origin and scale."""

    def __init__(self, draw: ImageDraw.ImageDraw, origin: tuple[float, float], scale: float):
        self.draw, self.ox, self.oy, self.s = draw, origin[0], origin[1], scale

    def xy(self, p: tuple[float, float]) -> tuple[float, float]:
        return self.ox + p[0] * self.s, self.oy + p[1] * self.s

    def limb(self, a: tuple[float, float], b: tuple[float, float], width: float, label: int):
        w = max(1.0, width * self.s)
        pa, pb = self.xy(a), self.xy(b)
        self.draw.line([pa, pb], fill=label, width=max(1, round(w)))
        r = w / 2.0
        if r >= 1.0:
            for x, y in (pa, pb):
                self.draw.ellipse([x - r, y - r, x + r, y + r], fill=label)

    def ellipse(self, c: tuple[float, float], rx: float, ry: float, label: int):
        x, y = self.xy(c)
        rx, ry = max(0.6, rx * self.s), max(0.6, ry * self.s)
        self.draw.ellipse([x - rx, y - ry, x + rx, y + ry], fill=label)

    def polygon(self, pts: list[tuple[float, float]], label: int):
        self.draw.polygon([self.xy(p) for p in pts], fill=label)


def _lerp(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t


def _leg(p: _Painter, sk: Skeleton, person: Person, tag: str) -> None:
    pt = sk.points
    hip, knee, ankle, toe = pt[f"hip{tag}"], pt[f"knee{tag}"], pt[f"ankle{tag}"], pt[f"toe{tag}"]
    bw = sk.build
    p.limb(hip, knee, 0.072 * bw, SKIN)
    p.limb(knee, ankle, 0.056 * bw, SKIN)
    sock_top = _lerp(knee, ankle, 0.7 if person.socks_down else 0.12)
    p.limb(sock_top, ankle, 0.06 * bw, SOCKS)
    band_end = _lerp(sock_top, ankle, 0.18)
    p.limb(sock_top, band_end, 0.062 * bw, BAND)
    p.limb(ankle, toe, 0.045 * bw, BOOTS)
    p.limb(hip, _lerp(hip, knee, 0.42), 0.09 * bw, SHORTS)


def _arm(p: _Painter, sk: Skeleton, person: Person, tag: str) -> None:
    pt = sk.points
    shoulder, elbow, hand = pt[f"shoulder{tag}"], pt[f"elbow{tag}"], pt[f"hand{tag}"]
    bw = sk.build
    p.limb(shoulder, elbow, 0.05 * bw, SLEEVE if person.long_sleeves else SKIN)
    p.limb(elbow, hand, 0.043 * bw, SLEEVE if person.long_sleeves else SKIN)
    if not person.long_sleeves:
        p.limb(shoulder, _lerp(shoulder, elbow, 0.55), 0.062 * bw, SLEEVE)
    p.ellipse(hand, 0.026 * bw, 0.028, GLOVES if person.gloves else SKIN)
    if person.role == "side_referee" and tag == "r":
        top = (hand[0], hand[1] - 0.1)
        p.limb(hand, (hand[0], hand[1] + 0.05), 0.012, STICK)
        p.limb(top, hand, 0.012, STICK)
        p.polygon([top, (top[0] + 0.08, top[1]), (top[0] + 0.08, top[1] + 0.06), hand], FLAG)
        p.polygon([top, (top[0] + 0.08, top[1]), (top[0], top[1] + 0.06)], FLAG2)


def _torso(p: _Painter, sk: Skeleton) -> None:
    cx_top, cx_bot, top_hw, bot_hw = sk.torso
    p.polygon(
        [(cx_top - top_hw, 0.17), (cx_top + top_hw, 0.17),
         (cx_bot + bot_hw, 0.51), (cx_bot - bot_hw, 0.51)],
        SHIRT,
    )  # fmt: skip
    p.ellipse((cx_top, 0.185), top_hw, 0.03, SHIRT)
    p.polygon(
        [(cx_bot - bot_hw - 0.008, 0.49), (cx_bot + bot_hw + 0.008, 0.49),
         (cx_bot + bot_hw + 0.012, 0.6), (cx_bot - bot_hw - 0.012, 0.6)],
        SHORTS,
    )  # fmt: skip


def _head(p: _Painter, sk: Skeleton, person: Person) -> None:
    head, neck = sk.points["head"], sk.points["neck"]
    p.limb(neck, (sk.torso[0], 0.18), 0.05, SKIN)
    front = (1.0 + math.cos(sk.facing)) / 2.0  # 1 = face to camera, 0 = back of head
    style = person.hair_style
    if style == "long" and front < 0.5:
        p.polygon([(head[0] - 0.05, 0.07), (head[0] + 0.05, 0.07),
                   (head[0] + 0.045, 0.2), (head[0] - 0.045, 0.2)], HAIR)  # fmt: skip
    hair_pad = {"bald": 0.0, "buzz": 0.004, "short": 0.01, "long": 0.012, "bun": 0.01}[style]
    if style == "bald":
        p.ellipse(head, 0.05, 0.062, SKIN)
    else:
        p.ellipse((head[0], head[1] - hair_pad * 0.8), 0.05 + hair_pad, 0.062 + hair_pad, HAIR)
        if front > 0.2:
            shift = 0.018 * math.sin(sk.facing)
            p.ellipse((head[0] + shift, head[1] + 0.012), 0.048 * (0.55 + 0.45 * front), 0.05, SKIN)
    if style == "bun":
        p.ellipse((head[0] - 0.03 * math.sin(sk.facing), head[1] - 0.06), 0.02, 0.02, HAIR)
    if style == "long" and front >= 0.5:
        for dx in (-0.045, 0.045):
            p.limb((head[0] + dx * front, head[1]), (head[0] + dx * front, 0.17), 0.02, HAIR)
    if person.headband:
        p.limb(
            (head[0] - 0.05, head[1] - 0.025), (head[0] + 0.05, head[1] - 0.025), 0.014, HEADBAND
        )


def _digits(p: _Painter, text: str, centre: tuple[float, float], height: float, squeeze: float):
    """Seven-segment digits centred at ``centre`` (body units), ``squeeze`` = horizontal scale."""
    w, t = 0.55 * height * squeeze, max(0.16 * height, 1.0 / p.s)
    gap = 0.18 * height * squeeze
    total = len(text) * w + (len(text) - 1) * gap
    x0, y0 = centre[0] - total / 2.0, centre[1] - height / 2.0
    tw = t * max(squeeze, 0.5)
    for i, ch in enumerate(text):
        left = x0 + i * (w + gap)
        right, mid, bottom = left + w, y0 + height / 2.0, y0 + height
        boxes = {
            "a": (left, y0, right, y0 + t), "g": (left, mid - t / 2, right, mid + t / 2),
            "d": (left, bottom - t, right, bottom), "f": (left, y0, left + tw, mid),
            "b": (right - tw, y0, right, mid), "e": (left, mid, left + tw, bottom),
            "c": (right - tw, mid, right, bottom),
        }  # fmt: skip
        for seg in _SEGMENTS[ch]:
            a, b, c, d = boxes[seg]
            p.polygon([(a, b), (c, b), (c, d), (a, d)], NUMBER)


def _number(p: _Painter, sk: Skeleton, person: Person) -> None:
    if person.number is None:
        return
    cos_f = math.cos(sk.facing)
    cx_top, cx_bot, _, _ = sk.torso
    if cos_f < -0.3:  # back: the big number
        _digits(
            p, str(person.number), (_lerp((cx_top, 0), (cx_bot, 0), 0.4)[0], 0.31), 0.13, -cos_f
        )
    elif cos_f > 0.3:  # front: a small number on the chest
        x = cx_top + 0.05 * sk.build * cos_f
        _digits(p, str(person.number), (x, 0.245), 0.055, cos_f)


def draw_figure(
    draw: ImageDraw.ImageDraw, sk: Skeleton, person: Person, origin: tuple[float, float], s: float
) -> None:
    """Draw the parts of ``sk`` into a label map, far limbs first.

    Args:
        draw: ImageDraw of an ``L`` image (the label map).
        sk: projected skeleton; ``origin``: pixel position of body point (0, 0);
        s: pixels per body unit.
    """
    p = _Painter(draw, origin, s)
    sides = sorted("lr", key=lambda t: -sk.depth[f"hip{t}"])
    arms = sorted("lr", key=lambda t: -sk.depth[f"elbow{t}"])
    behind = [t for t in arms if sk.depth[f"elbow{t}"] > 0.0]
    for tag in behind:
        _arm(p, sk, person, tag)
    for tag in sides:
        _leg(p, sk, person, tag)
    _torso(p, sk)
    _number(p, sk, person)
    _head(p, sk, person)
    for tag in arms:
        if tag not in behind:
            _arm(p, sk, person, tag)


def _pattern(p: _Painter, sk: Skeleton, person: Person) -> None:
    """Paint the second colour of striped, hooped or halved shirts (label SHIRT2)."""
    kit = person.kit
    cx_top, cx_bot, top_hw, _ = sk.torso
    slope = (cx_bot - cx_top) / 0.33

    def centre(y: float) -> float:
        return cx_top + slope * (y - 0.17)

    y0, y1 = 0.12, 0.56
    if kit.pattern == "stripes":
        width = kit.stripe_width * max(abs(math.cos(sk.facing)), 0.35)
        for k in range(-7, 8, 2):
            a, b = (k - 0.5) * width, (k + 0.5) * width
            quad = [
                (centre(y0) + a, y0),
                (centre(y0) + b, y0),
                (centre(y1) + b, y1),
                (centre(y1) + a, y1),
            ]
            p.polygon(quad, SHIRT2)
    elif kit.pattern == "hoops":
        band = kit.stripe_width * 0.9
        left, right = min(centre(y0), centre(y1)) - 0.3, max(centre(y0), centre(y1)) + 0.3
        y = 0.17 + band
        while y < y1:
            p.polygon([(left, y), (right, y), (right, y + band), (left, y + band)], SHIRT2)
            y += 2 * band
    elif kit.pattern == "halves":
        side = 0.3 if math.cos(sk.facing) >= 0 else -0.3
        p.polygon(
            [(centre(y0), y0), (centre(y0) + side, y0), (centre(y1) + side, y1), (centre(y1), y1)],
            SHIRT2,
        )


def figure_labels(
    person: Person, pose: Pose, size: tuple[int, int], origin: tuple[float, float], s: float
) -> tuple[np.ndarray, Skeleton]:
    """Draw one figure into a label map.

    Args:
        size: (W, H) of the crop in pixels; ``origin``: pixel position of body point
            (0, 0); ``s``: pixels per body unit.

    Returns:
        ((H, W) uint8 label map, 0 where the figure is absent; the projected skeleton).
    """
    sk = make_skeleton(person, pose)
    label_img = Image.new("L", size, 0)
    draw_figure(ImageDraw.Draw(label_img), sk, person, origin, s)
    labels = np.asarray(label_img)
    if person.kit.pattern in ("stripes", "hoops", "halves"):
        pattern_img = Image.new("L", size, 0)
        _pattern(_Painter(ImageDraw.Draw(pattern_img), origin, s), sk, person)
        second = (labels == SHIRT) & (np.asarray(pattern_img) == SHIRT2)
        labels = np.where(second, np.uint8(SHIRT2), labels)
    return labels, sk


def palette(person: Person) -> np.ndarray:
    """(NUM_LABELS, 3) uint8 colours of the parts of ``person`` (row 0 unused)."""
    kit = person.kit
    sleeve = kit.secondary if kit.pattern == "sleeves" else kit.shirt
    colours = {
        SKIN: person.skin, HAIR: person.hair, SHIRT: kit.shirt, SLEEVE: sleeve,
        SHORTS: kit.shorts, SOCKS: kit.socks, BAND: person.tape or kit.sock_band,
        BOOTS: person.boots, NUMBER: kit.number, GLOVES: person.gloves or person.skin,
        HEADBAND: person.headband or person.hair, FLAG: (250, 220, 30), FLAG2: (220, 40, 30),
        STICK: (40, 40, 40), SHIRT2: kit.secondary,
    }  # fmt: skip
    out = np.zeros((NUM_LABELS, 3), dtype=np.uint8)
    for label, rgb in colours.items():
        out[label] = rgb
    return out


def side_light(sk: Skeleton, width: int, origin_x: float, s: float, light: float) -> np.ndarray:
    """(W,) float32 brightness factor per column: one side of the body lit, the other not."""
    cx_top, cx_bot, top_hw, _ = sk.torso
    centre = origin_x + s * (cx_top + cx_bot) / 2.0
    u = (np.arange(width, dtype=np.float32) - centre) / max(top_hw * s, 1.0)
    return 1.0 + 0.22 * light * np.clip(u, -1.5, 1.5)
