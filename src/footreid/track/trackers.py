"""BoxMOT's trackers by name, with defaults for 25 fps broadcast football.

Each entry builds a fresh tracker; appearance trackers get footreid's embedder as their
ReID model (``appearance=None`` turns their embeddings off: motion only). The defaults
are BoxMOT's own except the frame rate, which BoxMOT assumes to be 30: broadcast
football is 25 fps (SoccerNet's ``seqinfo.ini``), and the frame rate scales how long
a lost track is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from footreid.core.errors import ConfigError, MissingDependencyError
from footreid.core.registry import Registry

TRACKERS: Registry[TrackerEntry] = Registry("tracker")


@dataclass(frozen=True)
class TrackerEntry:
    """How to build one BoxMOT tracker.

    Attributes:
        class_name: the class exported by ``boxmot``.
        uses_appearance: the tracker takes a ReID model (BoT-SORT, StrongSORT, DeepOCSORT).
        needs_appearance: it cannot run without one (StrongSORT).
        options: keyword arguments given for a ``fps`` frame rate.
    """

    class_name: str
    uses_appearance: bool
    needs_appearance: bool
    options: Callable[[float], dict[str, Any]]


def _register(name: str, entry: TrackerEntry) -> None:
    TRACKERS.register(name)(entry)


_register("botsort", TrackerEntry("BotSort", True, False, lambda fps: {"frame_rate": round(fps)}))
_register("strongsort", TrackerEntry("StrongSort", True, True, lambda fps: {}))
_register("deepocsort", TrackerEntry("DeepOcSort", True, False, lambda fps: {}))
_register("ocsort", TrackerEntry("OcSort", False, False, lambda fps: {}))
_register(
    "bytetrack", TrackerEntry("ByteTrack", False, False, lambda fps: {"frame_rate": round(fps)})
)


def build_tracker(name: str, fps: float, appearance: Any | None) -> Any:
    """A new BoxMOT tracker ``name`` for a ``fps`` video, using ``appearance`` if it can.

    Raises:
        RegistryError: an unknown tracker name (with the known ones).
        ConfigError: StrongSORT without an appearance model.
    """
    try:
        import boxmot
    except ImportError:
        raise MissingDependencyError("boxmot", "track") from None

    entry = TRACKERS.get(name)
    options = entry.options(fps)
    if entry.needs_appearance and appearance is None:
        raise ConfigError(f"tracker '{name}' needs a ReID model; give --reid (not 'none')")
    if entry.uses_appearance:
        if appearance is None:
            options["use_embeddings"] = False
        else:
            options["reid_model"] = appearance
    return getattr(boxmot, entry.class_name)(**options)
