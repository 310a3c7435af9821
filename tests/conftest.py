"""Shared fixtures: the ../shared folder (real data and weights) and tiny synthetic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_root() -> Path:
    """``$FOOTREID_SHARED`` or ``../shared`` beside the repository."""
    return Path(os.environ.get("FOOTREID_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder; tests using it skip where it is absent."""
    root = shared_root()
    if not root.is_dir():
        pytest.skip(f"{root} is absent (real data and weights live there)")
    return root


@pytest.fixture(scope="session")
def mot20_root(shared_dir: Path) -> Path:
    """Real pedestrian crops in SoccerNet layout (``<root>/reid/{train,valid}``)."""
    root = shared_dir / "data" / "mot20-reid"
    if not (root / "reid").is_dir():
        pytest.skip(f"{root}/reid is absent")
    return root


@pytest.fixture(scope="session")
def shared_weights(shared_dir: Path) -> Path:
    """Folder of real torchreid checkpoints."""
    root = shared_dir / "weights"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    return root
