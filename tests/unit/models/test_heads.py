"""The BNNeck head and classifiers."""

from __future__ import annotations

import pytest
import torch

from footreid.models.heads import BNNeckHead, make_classifier
from footreid.models.spec import ReidOutput


def test_bnneck_head_outputs_by_mode() -> None:
    head = BNNeckHead(8, num_classes=4, fc_dim=6)
    pooled = torch.randn(5, 8, generator=torch.Generator().manual_seed(0))
    out = head.train()(pooled)
    assert isinstance(out, ReidOutput) and out.feature.shape == (5, 6)
    assert out.logits.shape == (5, 4) and head.embed_dim == 6
    emb = head.eval()(pooled)
    assert isinstance(emb, torch.Tensor) and emb.shape == (5, 6)
    assert BNNeckHead(8, 0).train()(pooled).logits is None


def test_make_classifier() -> None:
    assert make_classifier(8, 0) is None
    layer = make_classifier(8, 3, bias=True)
    assert layer.weight.shape == (3, 8) and torch.equal(layer.bias, torch.zeros(3))
    with pytest.raises(ValueError, match="num_classes must be >= 0"):
        make_classifier(8, -1)
