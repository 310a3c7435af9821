"""The skeleton of a synthetic player: a pose, posed 3-D joints and their projection.

The body is about 1 unit tall (x lateral, y down, z forward); a pose (running phase,
stride, lean, facing angle) places the joints, which are projected orthographically for
the camera. ``synthetic_figure`` draws the figure around these joints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from footreid.data.synthetic_kits import Person


@dataclass(frozen=True)
class Pose:
    """How a figure stands in one frame.

    ``facing``: radians, 0 = facing the camera (number on the chest visible), pi = back to
    the camera (big back number visible), +-pi/2 = side view. ``phase``: running-cycle
    angle; ``stride``: 0 standing to 1 sprinting; ``lean``: forward lean in radians.
    """

    facing: float
    phase: float
    stride: float
    lean: float

    @property
    def number_visible(self) -> bool:
        """True when the front or back of the shirt faces the camera."""
        return abs(math.cos(self.facing)) > 0.55


@dataclass
class Skeleton:
    """Projected joints (body units, screen x right, y down) and per-joint depth."""

    points: dict[str, tuple[float, float]]
    depth: dict[str, float]
    facing: float
    build: float
    torso: tuple[float, float, float, float]  # centre x at y=0.17, at y=0.5; half widths


def make_skeleton(person: Person, pose: Pose) -> Skeleton:
    """Pose the skeleton of ``person`` and project it for the camera."""
    bw = person.build / person.stature
    cos_f, sin_f = math.cos(pose.facing), math.sin(pose.facing)
    joints: dict[str, tuple[float, float, float]] = {
        "head": (0.0, 0.07, 0.0),
        "neck": (0.0, 0.15, 0.0),
        "chest": (0.0, 0.17, 0.0),
        "pelvis": (0.0, 0.5, 0.0),
    }
    for i, side in enumerate((1.0, -1.0)):
        tag = "lr"[i]
        swing = pose.stride * 0.55 * math.sin(pose.phase + i * math.pi)
        bend = pose.stride * 1.2 * max(0.0, math.sin(pose.phase + i * math.pi - 0.6)) + 0.05
        hip = (side * 0.055 * bw, 0.5, 0.0)
        knee = (hip[0] + side * 0.005, hip[1] + 0.235 * math.cos(swing), 0.235 * math.sin(swing))
        ankle = (
            knee[0] + side * 0.01,
            knee[1] + 0.235 * math.cos(swing - bend),
            knee[2] + 0.235 * math.sin(swing - bend),
        )
        joints.update({f"hip{tag}": hip, f"knee{tag}": knee, f"ankle{tag}": ankle})
        joints[f"toe{tag}"] = (ankle[0], ankle[1] + 0.012, ankle[2] + 0.06)
        arm = -pose.stride * 0.8 * math.sin(pose.phase + i * math.pi)
        elbow_bend = 0.25 + pose.stride * 1.1
        shoulder = (side * 0.118 * bw, 0.19, 0.0)
        elbow = (shoulder[0] + side * 0.03, 0.19 + 0.17 * math.cos(arm), 0.17 * math.sin(arm))
        hand = (
            elbow[0] + side * 0.01,
            elbow[1] + 0.16 * math.cos(arm + elbow_bend),
            elbow[2] + 0.16 * math.sin(arm + elbow_bend),
        )
        joints.update({f"shoulder{tag}": shoulder, f"elbow{tag}": elbow, f"hand{tag}": hand})
    points, depth = {}, {}
    for name, (x, y, z) in joints.items():
        if y < 0.5:  # upper body leans forward around the pelvis
            z += (0.5 - y) * math.sin(pose.lean)
        points[name] = (x * cos_f + z * sin_f, y)
        depth[name] = x * sin_f - z * cos_f
    top_hw = 0.125 * bw * abs(cos_f) + 0.07 * bw * abs(sin_f)
    bot_hw = 0.092 * bw * abs(cos_f) + 0.06 * bw * abs(sin_f)
    torso = (points["chest"][0], points["pelvis"][0], top_hw, bot_hw)
    return Skeleton(points, depth, pose.facing, bw, torso)


def skeleton_extent(sk: Skeleton) -> tuple[float, float, float, float]:
    """(xmin, xmax, ymin, ymax) of the figure in body units, limb thickness included."""
    xs = [p[0] for p in sk.points.values()]
    ys = [p[1] for p in sk.points.values()]
    cx_top, cx_bot, top_hw, bot_hw = sk.torso
    xs += [cx_top - top_hw, cx_top + top_hw, cx_bot - bot_hw, cx_bot + bot_hw]
    pad = 0.035 * sk.build
    return min(xs) - pad, max(xs) + pad, 0.0, max(ys) + 0.02
