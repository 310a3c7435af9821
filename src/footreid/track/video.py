"""Frames of a sequence: a MOT-layout folder (``img1/``) or a video file (OpenCV).

Only the selected frames are read, in order and as one consecutive stream: with
``--frames 1-125,176-250`` the tracker sees frame 176 right after 125, as a broadcast
that cut away and back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from footreid.core.errors import DataError, MissingDependencyError
from footreid.track.mot import SeqInfo, read_seqinfo

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".mpg", ".mpeg", ".ts")


@dataclass(frozen=True)
class FrameSource:
    """Where the frames are (a MOT folder or a video file) and what they are."""

    path: Path
    info: SeqInfo

    @property
    def is_video(self) -> bool:
        return self.path.is_file()


def _cv2():
    try:
        import cv2
    except ImportError:
        raise MissingDependencyError("opencv-python", "track") from None
    return cv2


def _video_info(path: Path) -> SeqInfo:
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise DataError(path, f"not a video ({', '.join(VIDEO_SUFFIXES)}) nor a MOT folder")
    cv2 = _cv2()
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise DataError(path, "OpenCV cannot open this video")
        return SeqInfo(
            name=path.stem,
            length=int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
            fps=float(cap.get(cv2.CAP_PROP_FPS)) or 25.0,
            width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
    finally:
        cap.release()


def open_frames(source: str | Path) -> FrameSource:
    """A MOT sequence folder (its ``seqinfo.ini``) or a video file (its header).

    Raises:
        DataError: no such path, a folder without ``seqinfo.ini``, or a video OpenCV
            cannot open.
    """
    path = Path(source)
    if path.is_file():
        return FrameSource(path, _video_info(path))
    if not path.is_dir():
        raise DataError(path, "no such MOT sequence folder or video file")
    return FrameSource(path, read_seqinfo(path))


def _folder_frames(source: FrameSource, frames: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    cv2 = _cv2()
    folder = source.path / source.info.im_dir
    for number in frames:
        path = folder / f"{number:06d}{source.info.im_ext}"
        image = cv2.imread(str(path))
        if image is None:
            raise DataError(path, f"missing or not an image (frame {number})")
        yield number, image


def _video_frames(source: FrameSource, frames: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    cv2 = _cv2()
    cap = cv2.VideoCapture(str(source.path))
    wanted = iter(frames)
    target, number = next(wanted, None), 0
    try:
        while target is not None:
            ok, image = cap.read()
            number += 1  # MOT numbers frames from 1
            if not ok:
                raise DataError(
                    source.path, f"the video ends at frame {number - 1}, before {target}"
                )
            if number == target:
                yield number, image
                target = next(wanted, None)
    finally:
        cap.release()


def read_frames(source: FrameSource, frames: Sequence[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(frame number, BGR image) for each of ``frames`` (ascending, 1-based)."""
    if source.is_video:
        return _video_frames(source, frames)
    return _folder_frames(source, frames)


def thumbnail(image: np.ndarray) -> np.ndarray:
    """A 160x90 float32 copy of a frame, for cheap frame-to-frame change measures."""
    cv2 = _cv2()
    return cv2.resize(image, (160, 90), interpolation=cv2.INTER_AREA).astype(np.float32)
