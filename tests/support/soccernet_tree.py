"""A tiny labelled SoccerNet-layout tree (train, valid, flat challenge) for the data tests."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

GAME_A = ("champ", "2020-2021", "2020-10-01 - A 1 - 0 B")
GAME_B = ("champ", "2020-2021", "2020-11-02 - C 2 - 2 D")
# (bbox_idx, action_idx, person_uid, game, action folder). Game B numbers its action
# folders from 0 again, as real per-game folders may: only the one-to-one match counts.
TRAIN = [
    (0, 0, "10", GAME_A, "0"),
    (1, 0, "11", GAME_A, "0"),
    (2, 0, "10", GAME_A, "0"),
    (3, 1, "12", GAME_A, "1"),
    (4, 1, "13", GAME_A, "1"),
    (5, 2, "14", GAME_B, "0"),
    (6, 2, "15", GAME_B, "0"),
    (7, 3, "16", GAME_B, "1"),
    (8, 3, "17", GAME_B, "1"),
    (10, 3, "16", GAME_B, "1"),
]
QUERY = [(0, 0, "100"), (1, 0, "101"), (2, 1, "102")]
GALLERY = [(0, 0, "100"), (1, 0, "101"), (2, 0, "199"), (3, 1, "102")]
TRAIN_A0 = ("train", *GAME_A, "0")


def name(
    bbox: int, action: int, uid: str, h: int = 8, w: int = 4, clazz: str = "Main_referee"
) -> str:
    return f"{bbox}-{action}-{uid}-{bbox}-{clazz}-7-uai{bbox}-{h}x{w}.png"


def put(path: Path, h: int = 8, w: int = 4) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (w, h), (30, 160, 40)).save(path)
    return path


def build(root: Path) -> Path:
    """A tiny labelled tree (train, valid) plus a flat challenge split; returns ``root``."""
    reid = root / "reid"
    for bbox, action, uid, game, folder in TRAIN:
        put(reid.joinpath("train", *game, folder, name(bbox, action, uid)))
    for role, rows in (("query", QUERY), ("gallery", GALLERY)):
        for bbox, action, uid in rows:
            path = reid.joinpath("valid", role, *GAME_A, str(action), name(bbox, action, uid, 20))
            put(path, 20, 4)
    for role, rows in (("query", [(0, 0), (1, 1)]), ("gallery", [(0, 0), (1, 0), (2, 1)])):
        for bbox, action in rows:
            put(reid / "challenge" / role / f"{bbox}-{action}-8x4.png")
    return root
