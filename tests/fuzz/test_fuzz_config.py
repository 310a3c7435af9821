"""Fuzz the run config readers: YAML recipes (with ``base:``) and ``--set`` overrides.

A recipe is a mutated real recipe (schema keys, misspelt keys, values of any type), a
random YAML document or raw bytes; an override is ``KEY=VALUE`` with a schema path (or
not) and a YAML-ish value. Either the config resolves, and its saved YAML resolves to the
same config, or a ConfigError names the file (or the ``--set`` text).
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzzing import any_json, fuzz, parse_or_refuse
from hypothesis import given
from hypothesis import strategies as st

from footreid.core.config import RunConfig, load_config, save_config
from footreid.core.schema import to_dict


def _paths(tp: Any, prefix: str = "") -> list[str]:
    """Every dotted key of the schema (list items as index 0)."""
    out = []
    hints = typing.get_type_hints(tp)
    for f in dataclasses.fields(tp):
        here = f"{prefix}{f.name}"
        out.append(here)
        inner = hints[f.name]
        if typing.get_origin(inner) is list and dataclasses.is_dataclass(typing.get_args(inner)[0]):
            out += _paths(typing.get_args(inner)[0], f"{here}.0.")
        elif dataclasses.is_dataclass(inner):
            out += _paths(inner, f"{here}.")
    return out


KEYS = _paths(RunConfig) + [
    "loss.ce.weight", "model.options.a.b", "model.options.l.0.x", "model.options.l.1",
    "stages.3.lr", "stages.².lr", "stages.0.input_size.0", "optim..name", "loss.ce.weight.x",
]  # fmt: skip
LAUGHS = (
    "{a: &a [1, 1, 1, 1, 1, 1, 1, 1], "
    + ", ".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 8)}]" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    + "}"
)
"""Eight levels of eight aliases: 16 million values from one line, if expanded."""
VALUES = st.one_of(
    any_json(),
    st.sampled_from(
        ["", "[", "{a: 1", "!!python/object:os.system", "&a [*a]", "1e400", "0x1F", "0o17",
         "２", "2001-12-14", "[[[[[[[[[[]]]]]]]]]]", "~", "yes", "'", "- a\n- b", "\x00", "\t",
         "&a [*a]", "{a: &a [*a]}", "{l: [1, {m: 2}]}", LAUGHS, "[" * 3000]
    ),
    st.text(max_size=10),
)  # fmt: skip


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz_config")


def _override_text(key: str, value: Any) -> str:
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True)
    return f"{key}={text.strip()}"


PLAUSIBLE = st.one_of(
    st.integers(0, 64), st.floats(0, 1), st.booleans(),
    st.sampled_from(["sgd", "pk", "cosine", "fp32", "cpu", "[0.1, 0.2]", "[64, 32]", "{}"]),
)  # fmt: skip
OVERRIDES = st.one_of(
    st.builds(_override_text, st.sampled_from(KEYS), PLAUSIBLE),
    st.builds(_override_text, st.sampled_from(KEYS), PLAUSIBLE),
    st.builds(_override_text, st.sampled_from(KEYS), VALUES),
    st.builds(_override_text, st.text(max_size=10), VALUES),
    st.text(max_size=20),
)


def _round_trip(config: RunConfig, folder: Path) -> None:
    """The resolved config, saved as a run saves it, reads back the same."""
    path = save_config(config, folder / "resolved.yaml")
    again = parse_or_refuse("config YAML (round trip)", lambda: load_config(path), str(path))
    assert again is not None and to_dict(again) == to_dict(config)


@fuzz(600)
@given(st.lists(OVERRIDES, min_size=1, max_size=2))
def test_set_overrides_resolve_or_are_refused_naming_the_option(folder: Path, texts: list[str]):
    names = "--set "  # the message names the override at fault (its text follows)
    config = parse_or_refuse("--set value", lambda: load_config(None, texts), names)
    if config is not None:
        _round_trip(config, folder)


@st.composite
def recipes(draw: st.DrawFn) -> dict[str, Any]:
    """A nested mapping over schema keys (and others) holding odd values."""
    recipe: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(KEYS + ["nmae", "base"]), max_size=6)):
        parts, node = key.split("."), recipe
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = draw(VALUES)
    return recipe


def _yaml(doc: Any) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True).encode()


RECIPE_FILES = st.one_of(
    recipes().map(_yaml),
    any_json().map(_yaml),
    st.text(max_size=40).map(str.encode),
    st.binary(max_size=40),
    st.sampled_from(
        [
            b"a: &a [*a, *a]\nb: *a",
            b"- " * 2000,
            b"{" * 2000,
            b"\xff\xfe",
            b'base: "\\0"',
            b"model: {options: &o {x: *o}}",
            f"model: {{options: {LAUGHS}}}".encode(),
        ]
    ),  # fmt: skip
)


@fuzz(600)
@given(RECIPE_FILES, st.sampled_from([None, b"", b"base: x.yaml", b"train: {seed: 3}", b"[1]"]))
def test_recipes_resolve_or_are_refused_naming_the_file(folder: Path, data: bytes, base):
    path = folder / "recipe.yaml"
    if base is not None:
        (folder / "base.yaml").write_bytes(base)
        data = _yaml({"base": "base.yaml"}) + data if data.startswith(b"{") is False else data
    path.write_bytes(data)
    # the error names the recipe, or its base when the fault is there
    config = parse_or_refuse("config YAML", lambda: load_config(path), f"{folder}/")
    if config is not None:
        _round_trip(config, folder)
