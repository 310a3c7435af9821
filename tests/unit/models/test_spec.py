"""ModelSpec, ReidOutput and the ReidModel base."""

from __future__ import annotations

import json

import torch

from footreid.models import ModelSpec, ReidOutput, create_model


def test_spec_to_dict_is_json_ready() -> None:
    spec = create_model("osnet_x0_25", input_size=(384, 192)).spec
    data = json.loads(json.dumps(spec.to_dict()))
    assert data["input_size"] == [384, 192] and data["embed_dim"] == 512
    assert data["classifier_keys"] == ["classifier."] and data["patch_size"] is None
    assert isinstance(spec, ModelSpec)


def test_reid_output_is_a_named_tuple() -> None:
    out = ReidOutput(torch.zeros(1, 2), torch.ones(1, 2), None)
    embedding, feature, logits = out
    assert logits is None and torch.equal(feature, out.feature)


def test_param_counts_separate_the_classifier() -> None:
    model = create_model("osnet_x0_25", num_classes=10)
    counts = model.param_counts()
    assert counts["classifier"] == 512 * 10 + 10
    assert counts["total"] == 201_864 + counts["classifier"] == counts["trainable"]
