"""The registry and ``suggest``, the one "did you mean" of every unknown-name error."""

from __future__ import annotations

import pytest

from footreid.core.errors import RegistryError
from footreid.core.registry import Registry, suggest


def test_suggest_lists_the_closest_names_then_all_in_order() -> None:
    text = suggest("osnet_ain_x1_O", ["resnet50", "osnet_ain_x1_0", "osnet_x1_0"])
    assert text.startswith("did you mean osnet_ain_x1_0")
    assert text.endswith("(known: resnet50, osnet_ain_x1_0, osnet_x1_0)")
    assert suggest("zzz", ["a", "b"]) == "(known: a, b)"
    assert suggest("x", []) == "(known: none)"


def test_registry_refuses_twice_and_suggests() -> None:
    reg: Registry[int] = Registry("thing")
    reg.register("alpha")(1)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("alpha")(2)
    with pytest.raises(RegistryError, match="unknown thing 'alpah'; did you mean alpha"):
        reg.get("alpah")
    assert reg.names() == ["alpha"] and "alpha" in reg and len(reg) == 1
