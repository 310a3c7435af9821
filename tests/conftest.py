"""Shared fixtures: the ../shared folder (real data and weights) and tiny synthetic data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# Property tests (tests/fuzz and the unit tests that use hypothesis). "ci", the default:
# the same examples on every run (derandomised, no example database), so CI is
# reproducible and its time is bounded; no per-example deadline on shared CI cores.
# "explore": new random examples each run, ten times as many in tests/fuzz
# (FOOTREID_HYPOTHESIS_PROFILE=explore pytest tests/fuzz).
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("FOOTREID_HYPOTHESIS_PROFILE", "ci"))


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


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated synthetic ``tiny`` dataset (seed 0) in SoccerNet-v3 ReID layout.

    About 800 crops: ``reid/train``, ``reid/{valid,test}/{query,gallery}`` with
    ``bbox_info.json``, ``reid/challenge``; plus ``challenge_bbox_info.json``,
    ``hidden_identities.json`` and ``synth_summary.json`` at the root. Treat as read-only.
    """
    from footreid.data.synthetic import generate

    return generate(tmp_path_factory.mktemp("synthetic-tiny"), preset="tiny", seed=0)


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny OSNet x0.25 training checkpoint (``tests/support/tiny_checkpoint.py``,
    seed 0, trained "at" its tiny input size). Treat as read-only."""
    from tiny_checkpoint import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("trained") / "best.pt")


@pytest.fixture()
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine offline: every socket connection fails as a failed DNS lookup does."""
    import socket

    def refuse(address: tuple, timeout: float | None = None) -> None:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "create_connection", refuse)
