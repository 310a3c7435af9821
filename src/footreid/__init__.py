"""footreid: football player re-identification for SoccerNet-v3 ReID.

Importing the package is cheap: heavy and optional dependencies (torch, peft,
onnxruntime, SoccerNet, tensorboard, the web framework) load where they are used.
``footreid.load`` (:mod:`footreid.api`) is imported on first use.
"""

from typing import Any

from footreid._version import __version__

__all__ = ["Encoder", "__version__", "load"]

_LAZY = {"load", "Encoder"}


def __getattr__(name: str) -> Any:
    """``footreid.load`` and ``footreid.Encoder``, imported (with torch) on first use."""
    if name in _LAZY:
        from footreid import api  # torch and the model stack load here, not on import

        return getattr(api, name)
    raise AttributeError(f"module 'footreid' has no attribute '{name}'")
