"""footreid: football player re-identification for SoccerNet-v3 ReID.

Importing the package is cheap: heavy and optional dependencies (torch, peft,
onnxruntime, SoccerNet, tensorboard, the web framework) load where they are used.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("footreid")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
