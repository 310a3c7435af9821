"""MOT files: ``seqinfo.ini``, SoccerNet's ``gameinfo.ini``, gt / tracks rows, frame ranges.

A MOT text file holds one box per line, ``frame,id,x,y,w,h,conf,-1,-1,-1``: frames
count from 1, boxes are (left, top, width, height) in pixels. In ``gt.txt`` a ``conf``
of 0 marks a box to ignore (MOTChallenge's "zero marked"); in tracker output it is the
tracker's confidence. Rows are held as one numpy structured array of ``MOT_DTYPE``.
"""

from __future__ import annotations

import configparser
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from footreid.core.errors import ConfigError, DataError
from footreid.core.io import atomic_write_text

MOT_DTYPE = np.dtype(
    [
        ("frame", np.int64),
        ("track_id", np.int64),
        ("x", np.float64),
        ("y", np.float64),
        ("w", np.float64),
        ("h", np.float64),
        ("conf", np.float64),
    ]
)
# roles of gameinfo.ini that are not people (SoccerNet names: player, goalkeeper(s),
# referee, other, ball); anything else counts as a person
NON_PERSON_ROLES = ("ball",)
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class SeqInfo:
    """The ``[Sequence]`` section of a MOT ``seqinfo.ini``.

    Attributes:
        name: sequence name.
        length: number of frames (numbered 1..length).
        fps: frames per second.
        width, height: frame size in pixels.
        im_dir, im_ext: image folder (relative to the sequence) and file suffix.
    """

    name: str
    length: int
    fps: float
    width: int
    height: int
    im_dir: str = "img1"
    im_ext: str = ".jpg"


@dataclass(frozen=True)
class TrackInfo:
    """One ``trackletID_N`` line of SoccerNet's ``gameinfo.ini``.

    ``"player team left;4"`` reads role ``player``, team ``left``, label ``4`` (the
    jersey); ``"referee;main"`` reads role ``referee``, no team, label ``main``.
    """

    track_id: int
    role: str
    team: str | None
    label: str

    @property
    def is_person(self) -> bool:
        return self.role not in NON_PERSON_ROLES


def _read_ini(path: Path) -> configparser.ConfigParser:
    if not path.is_file():
        raise DataError(path, "missing (a MOT sequence folder needs it)")
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a readable .ini file ({exc})") from None
    if not parser.has_section("Sequence"):
        raise DataError(path, "no [Sequence] section")
    return parser


def read_seqinfo(seq_dir: str | Path) -> SeqInfo:
    """Read ``seq_dir/seqinfo.ini``.

    Raises:
        DataError: the file is missing, or lacks / garbles seqLength, imWidth or imHeight.
    """
    path = Path(seq_dir) / "seqinfo.ini"
    seq = _read_ini(path)["Sequence"]
    try:
        info = SeqInfo(
            name=seq.get("name", Path(seq_dir).name),
            length=int(seq["seqLength"]),
            fps=float(seq.get("frameRate", "25")),
            width=int(seq["imWidth"]),
            height=int(seq["imHeight"]),
            im_dir=seq.get("imDir", "img1"),
            im_ext=seq.get("imExt", ".jpg"),
        )
    except KeyError as exc:
        raise DataError(path, f"[Sequence] lacks {exc.args[0]}") from None
    except ValueError as exc:
        raise DataError(path, f"[Sequence] has a value that is not a number ({exc})") from None
    if info.length < 1 or info.fps <= 0:
        raise DataError(path, f"seqLength {info.length} and frameRate {info.fps} must be > 0")
    return info


def _track_info(path: Path, key: str, value: str) -> TrackInfo:
    try:
        track_id = int(key.split("_", 1)[1])
    except (IndexError, ValueError):
        raise DataError(path, f"{key}: expected trackletID_<integer>") from None
    kind, sep, label = value.partition(";")
    words = kind.strip().lower().split()
    if not sep or not words:
        raise DataError(path, f"{key}={value!r}: expected '<role>[ team <side>];<label>'")
    team = words[words.index("team") + 1] if "team" in words[:-1] else None
    return TrackInfo(track_id, words[0], team, label.strip())


def read_gameinfo(seq_dir: str | Path) -> dict[int, TrackInfo]:
    """Read the role, team and label of every track id in ``seq_dir/gameinfo.ini``.

    Returns:
        {track id: TrackInfo}; ids are those of ``gt/gt.txt``.

    Raises:
        DataError: the file is missing or a ``trackletID_N`` line is malformed.
    """
    path = Path(seq_dir) / "gameinfo.ini"
    seq = _read_ini(path)["Sequence"]
    tracks = {}
    for key, value in seq.items():
        if key.lower().startswith("trackletid_"):
            info = _track_info(path, key, value)
            tracks[info.track_id] = info
    if not tracks:
        raise DataError(path, "no trackletID_N lines (role and team of each track id)")
    return tracks


def person_ids(gameinfo: dict[int, TrackInfo]) -> set[int]:
    """The track ids of people (every role but the ball)."""
    return {track_id for track_id, info in gameinfo.items() if info.is_person}


def _parse_line(path: Path, number: int, line: str) -> tuple[float, ...]:
    fields = line.replace(",", " ").split()
    if len(fields) < 6:
        raise DataError(path, f"line {number}: {len(fields)} fields, expected frame,id,x,y,w,h,...")
    try:
        values = [float(v) for v in fields[:7]]
    except ValueError:
        raise DataError(path, f"line {number}: not numbers: {line.strip()!r}") from None
    frame, track_id, _, _, w, h = values[:6]
    if not all(math.isfinite(v) for v in values):
        raise DataError(path, f"line {number}: not finite: {line.strip()!r}")
    if frame != int(frame) or track_id != int(track_id) or frame < 1:
        raise DataError(path, f"line {number}: frame (>= 1) and id must be integers")
    if w < 0 or h < 0:
        raise DataError(path, f"line {number}: negative box width or height")
    return (*values[:6], values[6] if len(values) > 6 else 1.0)


def read_mot_rows(path: str | Path, unique_ids: bool = True) -> np.ndarray:
    """Read a MOT text file (gt, tracker output or detections; comma- or space-separated).

    ``unique_ids=False`` for detection files, whose id column is -1 on every row.

    Returns:
        (N,) structured array of ``MOT_DTYPE`` (frame, track_id, x, y, w, h, conf) in
        file order; ``conf`` is 1 where the file has only 6 columns. An empty file gives
        an empty array.

    Raises:
        DataError: the file is missing, a line is malformed, or one id appears twice
            in one frame.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "missing (expected a MOT text file frame,id,x,y,w,h,conf,...)")
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [(i, line) for i, line in enumerate(handle, 1) if line.strip()]
    rows = np.array([_parse_line(path, i, line) for i, line in lines], dtype=np.float64)
    rows = rows_from_columns(rows.reshape(-1, 7))
    return check_unique_ids(path, rows) if unique_ids else rows


def rows_from_columns(columns: np.ndarray) -> np.ndarray:
    """(N, 7) numbers (frame, id, x, y, w, h, conf) -> (N,) rows of ``MOT_DTYPE``."""
    columns = np.asarray(columns, dtype=np.float64).reshape(-1, 7)
    rows = np.empty(len(columns), dtype=MOT_DTYPE)
    for j, name in enumerate(MOT_DTYPE.names or ()):
        rows[name] = columns[:, j]
    return rows


def as_rows(rows: np.ndarray) -> np.ndarray:
    """Rows of ``MOT_DTYPE`` as they are, or (N, 7) numbers in its column order converted."""
    rows = np.asarray(rows)
    if rows.dtype == MOT_DTYPE:
        return rows
    if rows.dtype.names is None and rows.ndim == 2 and rows.shape[1] == 7:
        return rows_from_columns(rows)
    raise TypeError(f"expected rows of MOT_DTYPE or (N, 7) numbers, got {rows.dtype} {rows.shape}")


def check_unique_ids(path: str | Path, rows: np.ndarray) -> np.ndarray:
    """``rows`` unchanged when no id appears twice in one frame; else DataError on ``path``."""
    keys = np.stack([rows["frame"], rows["track_id"]], axis=1)
    unique, counts = np.unique(keys, axis=0, return_counts=True)
    if (counts > 1).any():
        frame, track_id = unique[np.argmax(counts > 1)].tolist()
        raise DataError(path, f"id {track_id} appears more than once in frame {frame}")
    return rows


def write_mot_rows(path: str | Path, rows: np.ndarray) -> None:
    """Write rows as a MOT text file, sorted by frame then id, atomically.

    ``rows``: ``MOT_DTYPE`` rows or (N, 7) numbers (:func:`as_rows`).

    Numbers are written in full (Python's shortest repr), so reading the file back gives
    the same rows and the same scores; the last three columns are ``-1``.
    """
    rows = as_rows(rows)
    order = np.lexsort((rows["track_id"], rows["frame"]))
    lines = [
        f"{r['frame']},{r['track_id']},"
        + ",".join(repr(float(r[k])) for k in ("x", "y", "w", "h", "conf"))
        + ",-1,-1,-1\n"
        for r in rows[order]
    ]
    atomic_write_text(path, "".join(lines))


def select_frames(rows: np.ndarray, frames: Iterable[int]) -> np.ndarray:
    """The rows whose frame is one of ``frames``."""
    return rows[np.isin(rows["frame"], np.fromiter(frames, dtype=np.int64))]


def parse_frame_ranges(text: str, length: int | None = None) -> list[int]:
    """``"1-125,176-250"`` -> the sorted unique frame numbers (single frames ``"7"`` too).

    Args:
        text: comma-separated ``FIRST-LAST`` ranges (inclusive, 1-based) or numbers.
        length: the sequence length, when known: frames beyond it are refused.

    Raises:
        ConfigError: empty text, a part that is not a range, a range that ends before it
            starts, frame 0, or a frame beyond ``length``.
    """
    frames: set[int] = set()
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise ConfigError(
                f"frame ranges {text!r}: {part.strip()!r} is not FIRST-LAST or a frame number "
                "(e.g. 1-125,176-250,301-375)"
            )
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ConfigError(
                f"frame ranges {text!r}: {part.strip()!r} must have 1 <= FIRST <= LAST"
            )
        frames.update(range(first, last + 1))
    if length is not None and max(frames) > length:
        raise ConfigError(
            f"frame ranges {text!r}: frame {max(frames)} is beyond the {length} frames"
        )
    return sorted(frames)
