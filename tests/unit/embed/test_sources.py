"""Model sources: checkpoints at their trained size, registry models at their spec size."""

from __future__ import annotations

import logging

import pytest

from footreid.core.errors import ConfigError
from footreid.core.io import sha256_file
from footreid.embed.sources import load_embed_model

TINY_SIZE = (64, 32)  # the size tiny_checkpoint records (conftest)


def test_checkpoint_uses_its_trained_size(tiny_checkpoint) -> None:
    loaded = load_embed_model(tiny_checkpoint)
    assert loaded.input_size == TINY_SIZE  # not the ModelSpec default (256, 128)
    assert loaded.name == "osnet_x0_25" and loaded.is_cnn
    assert loaded.checkpoint_sha256 == sha256_file(tiny_checkpoint)
    assert not loaded.model.training
    meta = loaded.meta()
    assert meta["input_size"] == list(TINY_SIZE) and meta["checkpoint"] == str(tiny_checkpoint)


def test_registry_model_logs_its_spec_size(caplog) -> None:
    with caplog.at_level(logging.INFO, logger="footreid"):
        loaded = load_embed_model("osnet_x0_25")
    assert loaded.input_size == (256, 128)
    assert loaded.checkpoint_sha256 is None and loaded.pretrained == "none"
    assert "ModelSpec input size 256x128" in caplog.text


def test_size_override_is_logged(tiny_checkpoint, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="footreid"):
        loaded = load_embed_model(tiny_checkpoint, input_size=(96, 48))
    assert loaded.input_size == (96, 48)
    assert "although osnet_x0_25 is set for 64x32" in caplog.text


def test_bad_sources_name_the_fix(tiny_checkpoint, tmp_path) -> None:
    with pytest.raises(ConfigError, match="did you mean osnet_x0_25"):
        load_embed_model("osnet_x0_2")
    with pytest.raises(ConfigError, match="drop --pretrained"):
        load_embed_model(tiny_checkpoint, pretrained="imagenet")
    with pytest.raises(ConfigError, match="input size"):
        load_embed_model(tiny_checkpoint, input_size=(0, 32))


def test_registry_options_reach_the_model_and_the_meta(tiny_checkpoint) -> None:
    loaded = load_embed_model("hsv", options={"parts": 2, "bins": (4, 4, 4)})
    assert loaded.model.spec.embed_dim == 2 * 64 and loaded.input_size == (128, 64)
    assert loaded.mean == (0.0, 0.0, 0.0) and loaded.std == (1.0, 1.0, 1.0)
    assert loaded.meta()["model_options"] == {"bins": [4, 4, 4], "parts": 2}
    assert load_embed_model("osnet_x0_25").meta()["model_options"] == {}
    with pytest.raises(ConfigError, match="no option.*lora"):
        load_embed_model("hsv", options={"lora": True})
    with pytest.raises(ConfigError, match=r"records its model options\): drop the options parts"):
        load_embed_model(tiny_checkpoint, options={"parts": 2})
