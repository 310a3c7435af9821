"""Who plays in a synthetic game: team kits, goalkeepers, officials and per-player traits.

A game is built from its own seeded generator, so any worker can rebuild it from
(seed, split, game index) alone. What makes re-identification hard on the real data is
reproduced on purpose: ten outfield players share one kit and differ only in number, skin,
hair, build, boots, sleeves and small accessories; some games have two similar kits; the
camera colour style differs between the live camera and each replay camera.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]

TEAM_COLOURS: dict[str, RGB] = {
    "red": (196, 32, 40), "blue": (30, 70, 180), "navy": (22, 32, 84),
    "sky": (120, 180, 230), "white": (236, 236, 232), "black": (28, 28, 30),
    "yellow": (242, 208, 40), "green": (28, 128, 64), "orange": (238, 118, 30),
    "claret": (118, 26, 52), "purple": (92, 44, 140), "grey": (128, 130, 136),
}  # fmt: skip
KEEPER_COLOURS: tuple[RGB, ...] = (
    (150, 220, 40), (250, 140, 20), (230, 70, 160), (40, 40, 44), (120, 120, 128),
    (250, 230, 40), (30, 200, 210), (120, 60, 170),
)  # fmt: skip
REFEREE_COLOURS: tuple[RGB, ...] = (
    (24, 24, 26), (245, 225, 40), (235, 90, 160), (90, 190, 235), (220, 40, 40), (60, 170, 80),
)  # fmt: skip
SKIN_TONES: tuple[RGB, ...] = (
    (246, 214, 190), (234, 190, 160), (214, 164, 126), (184, 132, 96), (148, 100, 70),
    (112, 74, 50), (84, 56, 40), (62, 42, 32),
)  # fmt: skip
HAIR_COLOURS: tuple[RGB, ...] = (
    (22, 18, 16), (50, 34, 24), (92, 60, 36), (150, 110, 60), (214, 180, 110),
    (160, 70, 36), (120, 120, 120), (236, 226, 200),
)  # fmt: skip
BOOT_COLOURS: tuple[RGB, ...] = (
    (20, 20, 22), (240, 240, 240), (250, 80, 30), (40, 120, 240), (240, 230, 40),
    (220, 30, 120), (40, 200, 160), (200, 170, 60), (140, 40, 200),
)  # fmt: skip
PATTERNS: tuple[str, ...] = ("plain", "stripes", "hoops", "halves", "sleeves")
HAIR_STYLES: tuple[str, ...] = ("bald", "buzz", "short", "long", "bun")
CHAMPIONSHIPS: tuple[str, ...] = (
    "england_epl", "spain_laliga", "italy_serie-a", "germany_bundesliga", "france_ligue-1",
    "europe_uefa-champions-league",
)  # fmt: skip
CLUB_NAMES: tuple[str, ...] = (
    "Redfield", "Blueport", "Northvale", "Ashbury", "Kingsmoor", "Eastwick", "Riverton",
    "Stonegate", "Westhaven", "Millbrook", "Oakridge", "Harbour City", "Fairhaven", "Elmstead",
    "Greywater", "Lakeside", "Brighton Vale", "Ironbridge", "Saint Aurel", "Corvina",
)  # fmt: skip

TEAM_SIZE = 14
"""Outfield players per team in a game's squad (11 starters and 3 substitutes)."""


@dataclass(frozen=True)
class Kit:
    """What every wearer of one kit shares.

    ``pattern`` is one of :data:`PATTERNS`; ``secondary`` is the second shirt colour of
    that pattern (sleeve colour for ``sleeves``); ``number`` the colour of printed numbers.
    """

    shirt: RGB
    secondary: RGB
    pattern: str
    stripe_width: float
    shorts: RGB
    socks: RGB
    sock_band: RGB
    number: RGB


@dataclass(frozen=True)
class Person:
    """One real person of a game, with the traits that identify them across cameras.

    Attributes:
        key: hidden true identity (analysis only), e.g. ``valid:g001:t0:07``.
        role: ``player``, ``goalkeeper``, ``referee`` or ``side_referee``.
        team: 0 or 1 for the teams, 2 for the officials.
        number: jersey number, or None (officials).
        build: width factor (about 0.85-1.2); ``stature``: height factor (0.92-1.08).
        hair_style: one of :data:`HAIR_STYLES`; ``long_sleeves``: sleeves to the wrist.
        socks_down: socks rolled to the ankle (shin visible); ``tape``: band colour on socks.
        gloves, headband: accessory colours or None.
    """

    key: str
    role: str
    team: int
    number: int | None
    kit: Kit
    skin: RGB
    hair: RGB
    hair_style: str
    build: float
    stature: float
    boots: RGB
    long_sleeves: bool
    socks_down: bool
    tape: RGB | None
    gloves: RGB | None
    headband: RGB | None


@dataclass(frozen=True)
class CameraStyle:
    """Colour rendition of one broadcast camera (why instance normalisation helps).

    ``gain`` multiplies R, G, B (white balance and exposure); ``gamma`` bends the tone
    curve; ``saturation`` and ``contrast`` scale around grey.
    """

    gain: tuple[float, float, float]
    gamma: float
    saturation: float
    contrast: float


@dataclass(frozen=True)
class Game:
    """A synthetic match: folder names, squads, officials, its cameras and pitch colour."""

    index: int
    championship: str
    season: str
    name: str
    teams: tuple[tuple[Person, ...], tuple[Person, ...]]
    keepers: tuple[Person, Person]
    officials: tuple[Person, ...]
    main_camera: CameraStyle
    replay_cameras: tuple[CameraStyle, ...]
    similar_kits: bool
    grass: RGB


def jitter(rng: np.random.Generator, rgb: RGB, hue: float, sat: float, val: float) -> RGB:
    """``rgb`` moved at random in HSV by up to (hue, sat, val) (fractions of the range)."""
    h, s, v = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    h = (h + rng.uniform(-hue, hue)) % 1.0
    s = float(np.clip(s + rng.uniform(-sat, sat), 0.0, 1.0))
    v = float(np.clip(v + rng.uniform(-val, val), 0.04, 1.0))
    return tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(h, s, v))  # type: ignore[return-value]


def colour_distance(a: RGB, b: RGB) -> float:
    """Euclidean RGB distance (0-441)."""
    return float(np.linalg.norm(np.subtract(a, b, dtype=np.float64)))


def _far_colour(rng: np.random.Generator, options: tuple[RGB, ...], avoid: list[RGB]) -> RGB:
    """The option farthest from every colour in ``avoid``, among a few random picks."""
    picks = [options[i] for i in rng.permutation(len(options))[:4]]
    best = max(picks, key=lambda c: min(colour_distance(c, a) for a in avoid))
    return jitter(rng, best, 0.02, 0.08, 0.08)


def make_kit(rng: np.random.Generator, shirt: RGB) -> Kit:
    """A team kit around a base shirt colour: pattern, shorts, socks and number colour."""
    names = list(TEAM_COLOURS)
    pattern = PATTERNS[int(rng.choice(len(PATTERNS), p=[0.42, 0.16, 0.12, 0.1, 0.2]))]
    secondary = TEAM_COLOURS[names[int(rng.integers(len(names)))]]
    if colour_distance(secondary, shirt) < 90:
        secondary = (236, 236, 232) if sum(shirt) < 380 else (28, 28, 30)
    shorts = shirt if rng.random() < 0.35 else jitter(rng, secondary, 0.01, 0.05, 0.05)
    socks = shirt if rng.random() < 0.5 else shorts
    light = sum(shirt) > 450 or (pattern != "plain" and sum(secondary) > 450)
    number = (28, 28, 30) if light else (240, 240, 236)
    if rng.random() < 0.25:
        number = jitter(rng, secondary, 0.02, 0.1, 0.1)
    return Kit(
        shirt=shirt,
        secondary=jitter(rng, secondary, 0.01, 0.05, 0.05),
        pattern=pattern,
        stripe_width=float(rng.uniform(0.05, 0.09)),
        shorts=shorts,
        socks=socks,
        sock_band=secondary if rng.random() < 0.5 else socks,
        number=number,
    )


def _plain_kit(rng: np.random.Generator, shirt: RGB) -> Kit:
    """Goalkeeper or official kit: one main colour, dark shorts, plain pattern."""
    shorts = (30, 30, 32) if rng.random() < 0.7 else shirt
    number = (240, 240, 236) if sum(shirt) < 400 else (28, 28, 30)
    return Kit(shirt, shirt, "plain", 0.07, shorts, shirt, shorts, number)


def make_person(
    rng: np.random.Generator, key: str, role: str, team: int, number: int | None, kit: Kit
) -> Person:
    """Draw the identity traits of one person (stable for the whole game)."""
    skin = jitter(rng, SKIN_TONES[int(rng.integers(len(SKIN_TONES)))], 0.01, 0.05, 0.05)
    hair = jitter(rng, HAIR_COLOURS[int(rng.integers(len(HAIR_COLOURS)))], 0.01, 0.05, 0.06)
    style_p = [0.06, 0.26, 0.4, 0.18, 0.1]
    keeper = role == "goalkeeper"
    return Person(
        key=key,
        role=role,
        team=team,
        number=number,
        kit=kit,
        skin=skin,
        hair=hair,
        hair_style=HAIR_STYLES[int(rng.choice(len(HAIR_STYLES), p=style_p))],
        build=float(rng.uniform(0.85, 1.2)),
        stature=float(rng.uniform(0.92, 1.08)),
        boots=jitter(rng, BOOT_COLOURS[int(rng.integers(len(BOOT_COLOURS)))], 0.02, 0.1, 0.1),
        long_sleeves=bool(keeper or rng.random() < 0.2),
        socks_down=bool(role == "player" and rng.random() < 0.15),
        tape=(236, 236, 232) if role == "player" and rng.random() < 0.2 else None,
        gloves=_far_colour(rng, KEEPER_COLOURS, [kit.shirt]) if keeper else None,
        headband=(28, 28, 30) if rng.random() < 0.06 else None,
    )


def make_camera(rng: np.random.Generator, strength: float) -> CameraStyle:
    """A camera colour style; ``strength`` 0 is neutral, 1 a strongly tinted camera."""
    gain = tuple(float(g) for g in np.exp(rng.normal(0.0, 0.055 * strength, size=3)))
    exposure = float(np.exp(rng.normal(0.0, 0.085 * strength)))
    return CameraStyle(
        gain=tuple(g * exposure for g in gain),  # type: ignore[arg-type]
        gamma=float(np.exp(rng.normal(0.0, 0.09 * strength))),
        saturation=float(np.clip(rng.normal(1.0, 0.12 * strength), 0.6, 1.4)),
        contrast=float(np.clip(rng.normal(1.0, 0.07 * strength), 0.8, 1.2)),
    )


def _team_shirts(rng: np.random.Generator, similar: bool) -> tuple[RGB, RGB]:
    """Base shirt colours of both teams; ``similar`` makes them close (hue and value)."""
    names = list(TEAM_COLOURS)
    first = jitter(rng, TEAM_COLOURS[names[int(rng.integers(len(names)))]], 0.02, 0.1, 0.1)
    if similar:
        return first, jitter(rng, first, 0.05, 0.2, 0.22)
    while True:
        second = jitter(rng, TEAM_COLOURS[names[int(rng.integers(len(names)))]], 0.02, 0.1, 0.1)
        if colour_distance(first, second) > 120:
            return first, second


def make_game(rng: np.random.Generator, split: str, index: int) -> Game:
    """A whole game: two squads, two goalkeepers, three officials, four to six cameras."""
    similar = bool(rng.random() < 0.3)
    kits, keeper_kits, ref_kit = _game_kits(rng, similar)
    gid = f"{split}:g{index:03d}"
    teams = []
    for t in range(2):
        numbers = sorted(int(n) for n in rng.choice(np.arange(2, 40), TEAM_SIZE, replace=False))
        teams.append(
            tuple(make_person(rng, f"{gid}:t{t}:{n:02d}", "player", t, n, kits[t]) for n in numbers)
        )
    keepers = tuple(
        make_person(rng, f"{gid}:t{t}:gk", "goalkeeper", t, n, keeper_kits[t])
        for t, n in enumerate(rng.choice([1, 1, 1, 13, 16, 25, 31], 2))
    )
    roles = ("referee", "side_referee", "side_referee")
    officials = tuple(
        make_person(rng, f"{gid}:ref{i}", role, 2, None, ref_kit) for i, role in enumerate(roles)
    )
    season, name = _fixture(rng)
    return Game(
        index=index,
        championship=CHAMPIONSHIPS[int(rng.integers(len(CHAMPIONSHIPS)))],
        season=season,
        name=name,
        teams=(teams[0], teams[1]),
        keepers=(keepers[0], keepers[1]),
        officials=officials,
        main_camera=make_camera(rng, 0.5),
        replay_cameras=tuple(make_camera(rng, 1.0) for _ in range(int(rng.integers(4, 7)))),
        similar_kits=similar,
        grass=jitter(rng, (62, 132, 52), 0.03, 0.12, 0.12),
    )


def _game_kits(rng: np.random.Generator, similar: bool) -> tuple[tuple[Kit, Kit], list[Kit], Kit]:
    """The two teams' kits, the goalkeepers' kits and the officials' kit, all distinct."""
    shirts = _team_shirts(rng, similar)
    kits = (make_kit(rng, shirts[0]), make_kit(rng, shirts[1]))
    keeper_kits = [
        _plain_kit(rng, _far_colour(rng, KEEPER_COLOURS, [kits[0].shirt, kits[1].shirt]))
        for _ in range(2)
    ]
    taken = [kits[0].shirt, kits[1].shirt, keeper_kits[0].shirt, keeper_kits[1].shirt]
    return kits, keeper_kits, _plain_kit(rng, _far_colour(rng, REFEREE_COLOURS, taken))


def _fixture(rng: np.random.Generator) -> tuple[str, str]:
    """Season and SoccerNet-style game folder name (date, kick-off, clubs, score)."""
    clubs = rng.choice(len(CLUB_NAMES), 2, replace=False)
    year = 2014 + int(rng.integers(0, 6))
    month, day, hour = int(rng.integers(1, 13)), int(rng.integers(1, 29)), int(rng.integers(13, 22))
    goals = rng.integers(0, 4, size=2)
    season = f"{year}-{year + 1}" if month >= 8 else f"{year - 1}-{year}"
    name = (
        f"{year}-{month:02d}-{day:02d} - {hour}-00 {CLUB_NAMES[clubs[0]]} {goals[0]} - "
        f"{goals[1]} {CLUB_NAMES[clubs[1]]}"
    )
    return season, name
