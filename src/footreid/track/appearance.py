"""footreid's embedder as BoxMOT's ReID backend, and the crop quality the linker weighs by.

BoxMOT's appearance trackers call ``reid_model.get_features(boxes, image)`` once per
frame with every detection of the frame; :class:`FootreidAppearance` answers with
footreid's own embedder (one batch per frame, no file export) and keeps the frame's
features, so the linker reuses them instead of embedding the same crops again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from footreid.api import Encoder


def crop_boxes(image: np.ndarray, boxes: np.ndarray) -> list[np.ndarray]:
    """The crops of ``boxes`` (x1, y1, x2, y2, pixels) clipped to the image; >= 1 px each."""
    height, width = image.shape[:2]
    crops = []
    for x1, y1, x2, y2 in np.asarray(boxes, dtype=np.float64)[:, :4]:
        left = int(np.clip(np.floor(x1), 0, width - 1))
        top = int(np.clip(np.floor(y1), 0, height - 1))
        right = int(np.clip(np.ceil(x2), left + 1, width))
        bottom = int(np.clip(np.ceil(y2), top + 1, height))
        crops.append(image[top:bottom, left:right])
    return crops


@dataclass
class FootreidAppearance:
    """One or more footreid encoders seen by BoxMOT as a ReID model.

    Several encoders form an equal-weight ensemble: each one's unit vectors are
    concatenated and scaled by 1/sqrt(n), so a dot product is the mean of the members'
    cosine similarities (what ``footreid ensemble --mode mean`` ranks by).
    """

    encoders: Sequence[Encoder]
    last_features: np.ndarray = field(init=False, repr=False)
    _last_key: tuple[int, bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.encoders:
            raise ValueError("FootreidAppearance needs at least one encoder")
        self.last_features = np.zeros((0, self.embed_dim), dtype=np.float32)

    @property
    def embed_dim(self) -> int:
        """Width of the (concatenated) embeddings."""
        return sum(enc.embed_dim for enc in self.encoders)

    def get_features(self, boxes: np.ndarray, image: np.ndarray) -> np.ndarray:
        """(N, D) unit vectors for the boxes (x1, y1, x2, y2, ...) of a BGR frame.

        The same boxes of the same image again (the linker's call, then the tracker's)
        return the kept features without embedding twice.
        """
        key = (id(image), np.ascontiguousarray(boxes, dtype=np.float32)[:, :4].tobytes())
        if key == self._last_key:
            return self.last_features
        self._last_key = key
        if len(boxes) == 0:
            self.last_features = np.zeros((0, self.embed_dim), dtype=np.float32)
            return self.last_features
        crops = crop_boxes(image, boxes)
        parts = [enc.embed(crops, bgr=True) for enc in self.encoders]
        features = np.concatenate(parts, axis=1) / np.sqrt(len(parts))
        self.last_features = np.ascontiguousarray(features, dtype=np.float32)
        return self.last_features


def box_coverage(boxes: np.ndarray) -> np.ndarray:
    """(N, N): the share of box i's area that box j covers (x1, y1, x2, y2); 0 on the diagonal."""
    b = np.asarray(boxes, dtype=np.float64)[:, :4]
    left = np.maximum(b[:, None, 0], b[None, :, 0])
    top = np.maximum(b[:, None, 1], b[None, :, 1])
    right = np.minimum(b[:, None, 2], b[None, :, 2])
    bottom = np.minimum(b[:, None, 3], b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-9)
    coverage = inter / area[:, None]
    np.fill_diagonal(coverage, 0.0)
    return coverage


def crop_quality(boxes: np.ndarray) -> np.ndarray:
    """Per box, the share of it that no other single box of the frame covers, in [0, 1].

    Crowded crops, where another player stands in the box, are where football ReID
    fails most (README, snmot valid top-1 errors), so tracklet embeddings weigh them down.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.clip(1.0 - box_coverage(boxes).max(axis=1), 0.0, 1.0).astype(np.float32)
