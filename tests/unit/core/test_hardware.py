"""The one resolver of device and precision, and the native-bf16 detection behind ``auto``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import footreid.core.hardware as hardware
from footreid.core.errors import ConfigError
from footreid.core.hardware import (
    autocast,
    cpu_flags,
    cpu_has_native_bf16,
    cpu_model,
    resolve_device,
    resolve_precision,
)


def test_resolve_precision() -> None:
    """``auto`` is bf16 exactly where the CPU computes bf16 natively (changed from
    training's former fp32-on-every-CPU, now the one rule of training and inference)."""
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision("fp32", cpu) == "fp32"
    assert resolve_precision("bf16", cpu) == "bf16"
    with pytest.raises(ConfigError, match="CUDA"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ConfigError, match="choose"):
        resolve_precision("fp8", cpu)
    with pytest.raises(ConfigError, match="train.precision"):
        resolve_precision("fp8", cpu, "train.precision")


@pytest.mark.parametrize(("native", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_follows_the_cpu_flags(
    monkeypatch: pytest.MonkeyPatch, native: bool, expected: str
) -> None:
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: native)
    assert resolve_precision("auto", torch.device("cpu")) == expected


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16\n")
    assert cpu_flags(info) == {"fpu", "sse", "avx512f", "avx512_bf16"}
    assert cpu_flags(tmp_path / "absent") is None
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx512f", "avx2"}))
    assert not cpu_has_native_bf16()  # AVX-512 alone emulates bf16
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16", "amx_tile"}))
    assert cpu_has_native_bf16()


def test_cpu_model_is_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu\n")
    assert cpu_model(info) == "AMD EPYC 9R14"
    info.write_text("processor\t: 0\nflags\t\t: fpu\n")  # no model line (e.g. ARM)
    assert cpu_model(info) and cpu_model(info) != "AMD EPYC 9R14"
    assert cpu_model(tmp_path / "absent")


def test_resolve_device() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto") == torch.device("cpu")
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda:0")
    with pytest.raises(ConfigError, match="train.device"):
        resolve_device("tpu-ish", field="train.device")


def test_autocast_is_a_no_op_for_fp32_and_bf16_otherwise() -> None:
    x = torch.ones(2, 2)
    with autocast(torch.device("cpu"), "fp32"):
        assert (x @ x).dtype == torch.float32
    with autocast(torch.device("cpu"), "bf16"):
        assert (x @ x).dtype == torch.bfloat16
