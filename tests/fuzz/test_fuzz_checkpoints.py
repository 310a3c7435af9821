"""Fuzz checkpoint and model-folder loading: damaged files and hand-edited entries.

A training checkpoint (a tiny OSNet) is saved with one contract entry replaced by an odd
value or deleted, a weight renamed, reshaped or replaced, or its bytes cut or changed;
it is read the three ways footreid reads checkpoints (``load_checkpoint`` to resume,
``load_trained`` to embed or export, ``trained_input_size``). A model folder gets the
same treatment through its ``config.json`` and ``model.safetensors``.
"""

from __future__ import annotations

import io
import json
import shutil
from typing import Any

import pytest
import torch
from fuzzing import any_json, fuzz, parse_or_refuse
from hypothesis import given
from hypothesis import strategies as st
from tiny_checkpoint import write_tiny_checkpoint

from footreid.export.folder import CONFIG_FILE, WEIGHTS_FILE, export_model_folder, load_model_folder
from footreid.models import load_trained
from footreid.models.factory import trained_input_size
from footreid.train.checkpoint import load_checkpoint, save_checkpoint

ODD = st.one_of(
    any_json(),
    st.sampled_from([-1, 0, 2**63, 10**30, [64], [64, 32, 3], [0, 32], "64x32", "osnet_x9", True]),
    st.builds(torch.zeros, st.integers(0, 3)),
)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("fuzz_checkpoints")
    path = write_tiny_checkpoint(folder / "source.pt")
    export_model_folder(path, folder / "model")
    return {
        "folder": folder,
        "payload": torch.load(path, weights_only=True),
        "bytes": path.read_bytes(),
        "config": json.loads((folder / "model" / CONFIG_FILE).read_text()),
        "weights": (folder / "model" / WEIGHTS_FILE).read_bytes(),
    }


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` cut short, or with a few bytes changed."""
    if draw(st.booleans()):
        return data[: draw(st.integers(0, len(data) - 1))]
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


@st.composite
def edits(draw: st.DrawFn, keys: list[str]) -> list[tuple[str, str, Any]]:
    """Entry edits: (key, "set" | "delete", value)."""
    chosen = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
    return [(k, draw(st.sampled_from(["set", "set", "delete"])), draw(ODD)) for k in chosen]


def _edit_weights(payload: dict[str, Any], how: str, value: Any) -> None:
    if not isinstance(payload.get("model"), dict):
        return
    weights = dict(payload["model"])
    key = sorted(weights)[len(weights) // 2]
    if how == "delete":
        del weights[key]
    elif isinstance(value, torch.Tensor):
        weights[key] = value  # another shape
    else:
        weights[f"{key}.renamed" if value else key] = weights.pop(key) if value else value
    payload["model"] = weights


def _checkpoint_bytes(source: dict[str, Any], changes: list[tuple[str, str, Any]]) -> bytes:
    payload = dict(source["payload"])
    for key, how, value in changes:
        if key == "model.weights":
            _edit_weights(payload, how, value)
        elif how == "delete":
            payload.pop(key, None)
        else:
            payload[key] = value
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


ENTRY_KEYS = [
    "model_name", "model_kwargs", "num_classes", "input_size", "model", "model.weights",
    "config", "format", "version", "model_spec",
]  # fmt: skip


@fuzz(120)
@given(st.data())
def test_checkpoints_load_right_or_are_refused_naming_the_file(source, data) -> None:
    path = source["folder"] / "fuzzed.pt"
    if data.draw(st.booleans()):
        path.write_bytes(_checkpoint_bytes(source, data.draw(edits(ENTRY_KEYS))))
    else:
        path.write_bytes(data.draw(st.one_of(damaged(source["bytes"]), st.binary(max_size=64))))
    name = str(path)
    parse_or_refuse("checkpoint (resume)", lambda: load_checkpoint(path), name)
    size = parse_or_refuse("checkpoint (input size)", lambda: trained_input_size(path), name)
    loaded = parse_or_refuse("checkpoint (load_trained)", lambda: load_trained(path), name)
    if loaded is not None:
        model, info = loaded
        assert list(model.spec.input_size) == info["input_size"] == list(size)


@fuzz(30)
@given(st.integers(0, 10**6), any_json())
def test_written_checkpoints_read_back_the_same(source, epoch: int, metrics: Any) -> None:
    payload = dict(source["payload"], epoch=epoch, metrics=metrics)
    path = save_checkpoint(payload, source["folder"] / "written.pt")
    read = parse_or_refuse("checkpoint (round trip)", lambda: load_checkpoint(path), str(path))
    assert read is not None and read.keys() == payload.keys()
    assert (read["epoch"], read["metrics"]) == (epoch, metrics)
    assert all(torch.equal(read["model"][k], v) for k, v in payload["model"].items())


FOLDER_KEYS = [
    "format", "format_version", "architecture", "options", "input_size", "mean", "std",
    "embed_dim", "precision",
]  # fmt: skip


@fuzz(150)
@given(st.data())
def test_model_folders_load_right_or_are_refused_naming_the_folder(source, data) -> None:
    folder = source["folder"] / "fuzzed_model"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    config = json.loads(json.dumps(source["config"]))
    for key, how, value in data.draw(edits(FOLDER_KEYS)):
        if how == "delete":
            config.pop(key, None)
        elif not isinstance(value, torch.Tensor):
            config[key] = value
    text = json.dumps(config).encode()
    weights = source["weights"]
    match data.draw(st.sampled_from(["config", "config", "weights", "text"])):
        case "weights":
            text, weights = json.dumps(source["config"]).encode(), data.draw(damaged(weights))
        case "text":
            text = data.draw(st.one_of(damaged(text), st.binary(max_size=30)))
    (folder / CONFIG_FILE).write_bytes(text)
    (folder / WEIGHTS_FILE).write_bytes(weights)
    loaded = parse_or_refuse("model folder", lambda: load_model_folder(folder), str(folder))
    if loaded is not None:
        assert list(loaded.input_size) == list(json.loads(text)["input_size"])
