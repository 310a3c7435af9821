"""The backends that can run an embedding model: one entry each, the one place they are named.

Every other module asks this table what a backend can do (the devices it runs on, the
float precisions it computes in, whether it calibrates, what it needs installed, what
builds it); no module outside it branches on a backend's name. Adding a backend is one
module with a builder ``(embed_model, plan, calibration) -> Runner`` and one
:func:`register` line below (``docs/architecture.md``, "Adding a backend").

| name | runs | devices | precision |
| --- | --- | --- | --- |
| ``torch`` | PyTorch | CPU, CUDA | ``--precision`` (``auto``: bf16 where native) |
| ``onnx`` | ONNX Runtime | CPU | fp32 (its graph's) |
| ``openvino`` | OpenVINO | CPU | bf16 where the CPU has it natively, else fp32 |
| ``openvino-int8`` | OpenVINO + NNCF INT8 | CPU | int8 (the rest as ``openvino``) |

:data:`AUTO` is no backend but a request: the fastest entry that passed a parity check on
this machine (:mod:`.auto`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from footreid.core.errors import ConfigError
from footreid.embed.backends import onnx_runner, torch_runner
from footreid.embed.openvino import openvino_runner

if TYPE_CHECKING:
    from footreid.embed.backends import Runner
    from footreid.embed.model import EmbedModel
    from footreid.embed.plan import EmbedPlan

AUTO = "auto"
"""The request for the fastest backend that agrees with fp32 PyTorch (:mod:`.auto`)."""

Builder = Callable[["EmbedModel", "EmbedPlan", "Sequence[str | Path] | None"], "Runner"]


@dataclass(frozen=True)
class BackendEntry:
    """What a backend can do and what builds it.

    Attributes:
        name: what ``--backend`` and ``footreid.load(backend=)`` take, and features record.
        build: ``(embed_model, plan, calibration) -> Runner``; imports its packages inside.
        devices: device types it runs on (``"cpu"``, ``"cuda"``).
        precisions: float precisions it computes in; one only (``("fp32",)``): a fixed
            graph that runs at it whatever is asked; else ``auto`` and these are accepted.
        quantized: the precision its weights and activations run at (``"int8"``), what
            features then record; None: its float precision.
        calibrates: needs calibration crops (training crops) to build.
        packages: distributions it imports (versions key ``auto``'s cached decision).
        sources: kinds of model file it runs (``EmbedModel.backend``: ``torch``, ``onnx``).
        speed_rank: order of speed on a CPU at one precision, fastest 0: what the demo
            tries first where it cannot measure.
    """

    name: str
    build: Builder
    devices: tuple[str, ...]
    precisions: tuple[str, ...]
    quantized: str | None = None
    calibrates: bool = False
    packages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ("torch", "onnx")
    speed_rank: int = 0


_ENTRIES: dict[str, BackendEntry] = {}


def register(entry: BackendEntry) -> BackendEntry:
    """Add ``entry`` to the table (a name registered twice is an error)."""
    if entry.name in _ENTRIES or entry.name == AUTO:
        raise ValueError(f"backend '{entry.name}' is registered twice")
    _ENTRIES[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove a backend (tests register fake ones and take them out again)."""
    del _ENTRIES[name]


def backend_names() -> tuple[str, ...]:
    """Registered backends, in the order they were registered."""
    return tuple(_ENTRIES)


def backend_choices() -> tuple[str, ...]:
    """What a backend request may name: every backend, then :data:`AUTO`."""
    return (*_ENTRIES, AUTO)


def get_backend(name: str) -> BackendEntry:
    """The entry of ``name``.

    Raises:
        ConfigError: an unknown name (with the closest ones).
    """
    if name not in _ENTRIES:
        from footreid.core.registry import suggest

        raise ConfigError(f"backend: '{name}' is not a backend; {suggest(name, backend_choices())}")
    return _ENTRIES[name]


def runtime_name(requested: str, source_kind: str) -> str:
    """The backend a request means for a model file of ``source_kind``.

    A backend that cannot run that kind of file gives way to the backend named after the
    kind (``torch`` asked for an ``.onnx`` file runs on ``onnx``); :data:`AUTO` stays.

    Raises:
        ConfigError: an unknown backend name.
    """
    if requested == AUTO:
        return AUTO
    if source_kind in get_backend(requested).sources:
        return requested
    return get_backend(source_kind).name


def wants_calibration(requested: str) -> bool:
    """Whether a request may use calibration crops (a calibrating backend, or auto)."""
    if requested == AUTO:
        return any(e.calibrates for e in _ENTRIES.values())
    return get_backend(requested).calibrates


def candidates(source_kind: str, device_type: str) -> tuple[str, ...]:
    """Backends that run a ``source_kind`` file on ``device_type``, fastest on a CPU first."""
    fit = [e for e in _ENTRIES.values() if source_kind in e.sources and device_type in e.devices]
    return tuple(e.name for e in sorted(fit, key=lambda e: e.speed_rank))


def build_runner(
    embed_model: EmbedModel, plan: EmbedPlan, calibration: Sequence[str | Path] | None = None
) -> Runner:
    """Build the runner of ``plan.backend`` (a registered backend, not :data:`AUTO`).

    Raises:
        ConfigError: ``auto`` (chosen by :mod:`.auto`), or a backend that cannot build.
        MissingDependencyError: the backend's package is not installed (names the extra).
    """
    if plan.backend == AUTO:
        raise ConfigError("build_runner takes a backend; auto is chosen by embed.auto")
    return get_backend(plan.backend).build(embed_model, plan, calibration)


def packages() -> tuple[str, ...]:
    """Every distribution some backend imports, each once."""
    return tuple(dict.fromkeys(p for e in _ENTRIES.values() for p in e.packages))


# The backends, fastest first on a CPU at one precision: an fp32 OpenVINO or ONNX Runtime
# graph runs at ~3x PyTorch's speed on one core (the demo's measurement, serve/upload.py).
register(
    BackendEntry(
        "torch",
        torch_runner,
        devices=("cpu", "cuda"),
        precisions=("fp32", "bf16", "fp16"),
        packages=("torch",),
        sources=("torch",),
        speed_rank=3,
    )
)
register(
    BackendEntry("onnx", onnx_runner, ("cpu",), ("fp32",), packages=("onnxruntime",), speed_rank=1)
)
register(
    BackendEntry("openvino", openvino_runner, ("cpu",), ("fp32", "bf16"), packages=("openvino",))
)
register(
    BackendEntry(
        "openvino-int8",
        openvino_runner,
        devices=("cpu",),
        precisions=("fp32", "bf16"),
        quantized="int8",
        calibrates=True,
        packages=("openvino", "nncf"),
        speed_rank=2,
    )
)
