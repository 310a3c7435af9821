"""footreid: football player re-identification for SoccerNet-v3 ReID.

Importing the package is cheap: heavy and optional dependencies (torch, peft,
onnxruntime, SoccerNet, tensorboard, the web framework) load where they are used.
``footreid.load`` (:mod:`footreid.api`) is imported on first use.
"""

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("footreid")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["Encoder", "__version__", "load"]

_LAZY = {"load", "Encoder"}


def __getattr__(name: str) -> Any:
    """``footreid.load`` and ``footreid.Encoder``, imported (with torch) on first use."""
    if name in _LAZY:
        # by name, not an import statement: modules that read __version__ from here
        # (export, cli) would otherwise appear to import the api layer above them
        return getattr(importlib.import_module("footreid.api"), name)
    raise AttributeError(f"module 'footreid' has no attribute '{name}'")
