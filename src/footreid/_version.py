"""The installed package's version: a leaf module, so any layer can read it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("footreid")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
