"""What each synthetic action shows: its game, frames, people, poses and SoccerNet labels.

An action is one wide live frame plus 1-4 replay frames from closer cameras, like a
SoccerNet-v3 action. The live frame shows many people; the replays mostly show the few near
the ball. Planning is cheap and seeded per (seed, split, action), so actions can be rendered
in any order or in parallel; labels that count across actions (``bbox_idx``,
``frame_idx``, ``person_uid``) are assigned afterwards in one ordered pass.
"""

from __future__ import annotations

import functools
import math
import string
from dataclasses import dataclass, field

import numpy as np

from footreid.core.registry import Registry
from footreid.data.synthetic_kits import Game, Person, jitter, make_game
from footreid.data.synthetic_render import CropRequest, FrameLook
from footreid.data.synthetic_skeleton import Pose

SPLITS: tuple[str, ...] = ("train", "valid", "test", "challenge")
SPLIT_CODES = {name: code for code, name in enumerate(SPLITS)}
STREAM_GAME, STREAM_ACTION, STREAM_CROP = 0, 1, 2
MIN_NUMBER_HEIGHT = 50
"""Crops shorter than this (pixels) never count as showing the jersey number."""


@dataclass(frozen=True)
class Preset:
    """Size of a synthetic dataset: games and actions per split."""

    name: str
    games: dict[str, int]
    actions: dict[str, int]
    description: str


PRESETS: Registry[Preset] = Registry("synthetic preset")
PRESETS.register("tiny")(
    Preset(
        "tiny",
        {"train": 2, "valid": 1, "test": 1, "challenge": 1},
        {"train": 12, "valid": 8, "test": 8, "challenge": 4},
        "tests: ~800 crops in about a second",
    )
)
PRESETS.register("small")(
    Preset(
        "small",
        {"train": 6, "valid": 3, "test": 3, "challenge": 2},
        {"train": 100, "valid": 50, "test": 50, "challenge": 25},
        "quickstart: ~6,000 crops",
    )
)
PRESETS.register("default")(
    Preset(
        "default",
        {"train": 40, "valid": 12, "test": 12, "challenge": 8},
        {"train": 1000, "valid": 400, "test": 400, "challenge": 200},
        "experiments: ~55,000 crops",
    )
)


@dataclass
class PlannedCrop:
    """One crop of an action: how to render it and its SoccerNet labels (set later)."""

    request: CropRequest
    participant: int
    frame: int
    number_visible: bool
    role: str = ""
    bbox_idx: int = -1
    person_uid: str = ""
    frame_idx: int = -1
    clazz: str = ""
    id: str = ""
    uai: str = ""


@dataclass
class ActionPlan:
    """An action: its game, the people it shows and its crops in list order."""

    split: str
    action_idx: int
    game: Game
    participants: list[Person]
    clazz: list[str]
    num_frames: int
    crops: list[PlannedCrop] = field(default_factory=list)

    @property
    def folder(self) -> str:
        """``<championship>/<season>/<game>/<action_idx>`` as in SoccerNet."""
        g = self.game
        return f"{g.championship}/{g.season}/{g.name}/{self.action_idx}"


def rng_for(seed: int, split: str, stream: int, *index: int) -> np.random.Generator:
    """A generator seeded from (seed, split, stream, index...): reproducible in any order."""
    return np.random.default_rng([seed, SPLIT_CODES[split], stream, *index])


@functools.lru_cache(maxsize=64)
def _game(seed: int, split: str, index: int) -> Game:
    return make_game(rng_for(seed, split, STREAM_GAME, index), split, index)


def game_of(seed: int, split: str, action_idx: int, preset: Preset) -> Game:
    """The game an action belongs to (actions of one game are contiguous, as in SoccerNet)."""
    return _game(seed, split, action_idx * preset.games[split] // preset.actions[split])


def _participants(
    rng: np.random.Generator, game: Game, left: int
) -> tuple[list[Person], list[str]]:
    """People in the live frame (a wide shot) with their SoccerNet classes."""
    n_players = int(rng.integers(8, 17))
    first = int(rng.binomial(n_players, 0.5))
    people: list[Person] = []
    for team, count in ((0, first), (1, n_players - first)):
        squad = game.teams[team]
        weights = np.array([1.0] * 11 + [0.15] * (len(squad) - 11))
        picks = rng.choice(
            len(squad), min(count, len(squad)), replace=False, p=weights / weights.sum()
        )
        people += [squad[i] for i in sorted(picks)]
    if rng.random() < 0.35:
        people.append(game.keepers[int(rng.integers(2))])
    if rng.random() < 0.55:
        people.append(game.officials[0])
    if rng.random() < 0.2:
        people.append(game.officials[1 + int(rng.integers(2))])
    classes = []
    for p in people:
        side = "left" if p.team == left else "right"
        if p.role == "player":
            classes.append(f"Player_team_{side}")
        elif p.role == "goalkeeper":
            classes.append(f"Goalkeeper_team_{side}")
        else:
            classes.append("Main_referee" if p.role == "referee" else "Side_referee")
    return people, classes


def _look(rng: np.random.Generator, game: Game, live: bool) -> FrameLook:
    """Camera and pitch appearance of one frame (live = the main wide camera)."""
    camera = (
        game.main_camera
        if live
        else game.replay_cameras[int(rng.integers(len(game.replay_cameras)))]
    )
    return FrameLook(
        camera=camera,
        grass=jitter(rng, game.grass, 0.01, 0.04, 0.04),
        stripe_angle=float(rng.uniform(0, math.pi)),
        stripe_period=float(rng.uniform(1.5, 4.0)),
        blur=float(rng.uniform(0.0, 1.2) if live else rng.uniform(0.0, 2.5)),
        blur_angle=float(rng.normal(0.0, 0.3)),
        quality=0 if rng.random() < 0.1 else int(rng.integers(35, 90)),
        noise=float(rng.uniform(1.0, 4.0)),
        soften=float(rng.uniform(1.0, 2.2) if live else rng.uniform(1.0, 1.5)),
        light=float(rng.uniform(-1.0, 1.0)),
        boards=0.2 if live else 0.35,
    )


def _frames(rng: np.random.Generator, n_live: int, n_game: int) -> list[list[int]]:
    """Participant indices of each frame: all in the live frame, focus players in replays.

    Indices >= ``n_live`` are extra people seen only in replays (filled by the caller).
    """
    frames = [list(range(n_live))]
    focus = set(rng.choice(n_live, min(n_live, int(rng.integers(3, 10))), replace=False).tolist())
    n_replays = int(rng.choice([1, 2, 3, 4], p=[0.25, 0.3, 0.25, 0.2]))
    extra = n_live
    for _ in range(n_replays):
        shown = [i for i in range(n_live) if rng.random() < (0.7 if i in focus else 0.08)]
        if rng.random() < 0.4 and extra < n_game:
            shown.append(extra)
            extra += 1
        if not shown:
            shown = [int(rng.choice(sorted(focus)))]
        frames.append(shown)
    return frames


def plan_action(seed: int, split: str, action_idx: int, preset: Preset) -> ActionPlan:
    """Draw one action: people, frames, poses, sizes, cameras and occluders."""
    game = game_of(seed, split, action_idx, preset)
    rng = rng_for(seed, split, STREAM_ACTION, action_idx)
    left = int(rng.integers(2))
    people, classes = _participants(rng, game, left)
    keys = {p.key for p in people}
    pool = [p for p in (*game.teams[0], *game.teams[1]) if p.key not in keys]
    frames = _frames(rng, len(people), len(people) + len(pool))
    for extra in rng.permutation(len(pool))[: max(max(f) for f in frames) + 1 - len(people)]:
        extra_person = pool[int(extra)]
        people.append(extra_person)
        side = "left" if extra_person.team == left else "right"
        classes.append(f"Player_team_{side}")
    plan = ActionPlan(split, action_idx, game, people, classes, len(frames))
    effort = rng.uniform(0.0, 1.0, size=len(people))
    for frame, shown in enumerate(frames):
        look = _look(rng, game, live=frame == 0)
        zoom = rng.lognormal(math.log(72.0), 0.25) if frame == 0 else rng.uniform(110.0, 220.0)
        for i in rng.permutation(shown):
            person = people[int(i)]
            pose = _pose(rng, person, float(effort[i]))
            height = int(np.clip(zoom * rng.lognormal(0.0, 0.2) * person.stature, 40, 300))
            occluder, o_pose = None, None
            if len(shown) > 1 and rng.random() < 0.25:
                other = people[int(rng.choice([j for j in shown if j != i]))]
                occluder, o_pose = other, _pose(rng, other, float(rng.uniform()))
            k = len(plan.crops)
            request = CropRequest(
                person, pose, height, look, occluder, o_pose,
                seed=(seed, SPLIT_CODES[split], STREAM_CROP, action_idx, k),
            )  # fmt: skip
            visible = pose.number_visible and height >= MIN_NUMBER_HEIGHT
            plan.crops.append(PlannedCrop(request, int(i), frame, visible))
    return plan


def _pose(rng: np.random.Generator, person: Person, effort: float) -> Pose:
    """A pose for one frame; ``effort`` (0-1) is how hard this person runs in the action."""
    stride = float(np.clip(effort + rng.normal(0.0, 0.15), 0.0, 1.0))
    if person.role in ("referee", "side_referee"):
        stride *= 0.6
    return Pose(
        facing=float(rng.uniform(-math.pi, math.pi)),
        phase=float(rng.uniform(0.0, 2 * math.pi)),
        stride=stride,
        lean=float(rng.uniform(0.0, 0.25) * stride),
    )


def _letters(n: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa, ... (SoccerNet's ids of players without a visible number)."""
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = string.ascii_lowercase[r] + out
    return out


def assign_labels(plans: list[ActionPlan], first_uid: int) -> int:
    """Fill the SoccerNet labels of every crop of one split, in list order.

    ``bbox_idx`` counts per list (train, or query and gallery), ``frame_idx`` per split,
    ``person_uid`` over the whole dataset (a new one for every person of every action).

    Args:
        plans: the split's actions in ``action_idx`` order.
        first_uid: first free ``person_uid``.

    Returns:
        The next free ``person_uid``.
    """
    counters = {"train": 0, "query": 0, "gallery": 0}
    frame_base, uid = 0, first_uid
    for plan in plans:
        seen: dict[int, set[int]] = {}
        number: dict[int, bool] = {}
        for crop in plan.crops:
            seen.setdefault(crop.participant, set()).add(crop.frame)
            number[crop.participant] = number.get(crop.participant, False) or crop.number_visible
        uids, ids, letter = {}, {}, 0
        for p in seen:  # first appearance order (crops are in frame order)
            uids[p] = str(uid)
            uid += 1
            if len(seen[p]) == 1:
                ids[p] = "None"
            elif number[p] and plan.participants[p].number is not None:
                ids[p] = str(plan.participants[p].number)
            else:
                ids[p], letter = _letters(letter), letter + 1
        for k, crop in enumerate(plan.crops):
            if plan.split == "train":
                crop.role = "train"
            else:
                matched = crop.frame == 0 and len(seen[crop.participant]) > 1
                crop.role = "query" if matched else "gallery"
            crop.person_uid, crop.id = uids[crop.participant], ids[crop.participant]
            crop.clazz = plan.clazz[crop.participant]
            crop.frame_idx = frame_base + crop.frame
            crop.uai = f"syn{SPLIT_CODES[plan.split]}a{plan.action_idx:05d}f{crop.frame}_{k:03d}"
        for role in ("train", "query", "gallery"):  # list order: role, then crop order
            for crop in plan.crops:
                if crop.role == role:
                    crop.bbox_idx = counters[role]
                    counters[role] += 1
        frame_base += plan.num_frames
    return uid
