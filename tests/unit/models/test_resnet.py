"""ResNet-50: last stride, BNNeck (pre/post-BN), FC-512 head, torchvision weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torchvision.models import resnet50 as tv_resnet50

from footreid.core.errors import WeightsError
from footreid.models import create_model

X = torch.randn(2, 3, 64, 32, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(("last_stride", "grid"), [(1, (4, 2)), (2, (2, 1))])
def test_last_stride_sets_the_feature_map_size(last_stride: int, grid: tuple[int, int]) -> None:
    model = create_model("resnet50", last_stride=last_stride).eval()
    with torch.no_grad():
        assert model.forward_features(X).shape == (2, 2048, *grid)


def test_bnneck_splits_feature_and_embedding() -> None:
    model = create_model("resnet50_fc512", num_classes=5)
    out = model.train()(X)
    assert out.feature.shape == out.embedding.shape == (2, 512)
    assert not torch.allclose(out.feature, out.embedding)
    # train-mode BN: the embedding is the batch-normalised feature
    mean, var = out.feature.mean(0), out.feature.var(0, unbiased=False)
    expected = (out.feature - mean) / torch.sqrt(var + 1e-5)
    torch.testing.assert_close(out.embedding, expected, rtol=1e-4, atol=1e-4)
    assert not model.head.bnneck.bias.requires_grad
    assert model.head.classifier.bias is None and model.spec.embed_dim == 512
    assert create_model("resnet50").spec.embed_dim == 2048


@pytest.mark.slow
def test_torchvision_imagenet_checkpoint_loads_strictly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path))
    reference = tv_resnet50(weights=None)  # same format as the published ImageNet file
    cached = tmp_path / "weights" / "torchvision" / "resnet50-0676ba61.pth"
    cached.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), cached)
    model = create_model("resnet50_fc512", num_classes=3, pretrained="imagenet")
    assert torch.equal(model.backbone.layer4[2].conv3.weight, reference.layer4[2].conv3.weight)
    broken = reference.state_dict()
    del broken["layer3.0.bn1.running_var"]
    torch.save(broken, cached)
    with pytest.raises(WeightsError, match="missing .backbone|missing .layer3.0.bn1.running_var"):
        create_model("resnet50", pretrained="imagenet")
