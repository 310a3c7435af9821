"""ResNet-50 with the ReID "bag of tricks": last stride 1, BNNeck, optional 512-d FC.

He et al., "Deep Residual Learning" (CVPR 2016); Luo et al., "Bag of Tricks and a
Strong Baseline for Deep Person Re-identification" (CVPR-W 2019): a stride-1 last
stage doubles the final feature map (16x8 at 256x128) for +~1 mAP, and the BNNeck
reconciles the triplet and softmax losses. The backbone is torchvision's, so its
ImageNet checkpoints load strictly under ``backbone.`` (only their ``fc.*`` is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import resnet50 as tv_resnet50

from footreid.core.errors import ConfigError
from footreid.core.size import ImageSize
from footreid.models.factory import register_model
from footreid.models.heads import BNNeckHead, make_classifier
from footreid.models.options import ModelOptions
from footreid.models.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec, ReidModel, ReidOutput
from footreid.models.state_dict import load_state_dict_strict, read_state_dict
from footreid.models.weights import NONE, WeightSource, resolve_weights

FEATURE_DIM = 2048
WEIGHTS: dict[str, WeightSource] = {
    "imagenet": WeightSource(
        tag="imagenet",
        cache_name="torchvision/resnet50-0676ba61.pth",
        url="https://download.pytorch.org/models/resnet50-0676ba61.pth",
        description="torchvision IMAGENET1K_V1 ResNet-50 (the weights torchreid and BoT use)",
    ),
    "imagenet1k_v2": WeightSource(
        tag="imagenet1k_v2",
        cache_name="torchvision/resnet50-11ad3fa6.pth",
        url="https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
        description="torchvision IMAGENET1K_V2 ResNet-50 (newer training recipe)",
    ),
}
SOURCE_HEAD_KEYS = ("fc.",)
"""The ImageNet classifier of torchvision checkpoints, dropped on loading."""


class ResNetReid(ReidModel):
    """torchvision ResNet-50 trunk, global average pooling, BNNeck head.

    Args:
        name: registered name, for the spec.
        num_classes: identity classes (0: no classifier).
        fc_dim: > 0 adds a Linear(2048, fc_dim) before the BNNeck (``resnet50_fc512``).
        last_stride: stride of the last stage (1 as in BoT, 2 as in ImageNet ResNet).
        input_size: (H, W) default input size recorded in the spec.

    State-dict keys: ``backbone.*`` (torchvision names, no ``fc``) and ``head.*``.
    """

    classifier_path = "head.classifier"

    def __init__(
        self,
        name: str,
        num_classes: int = 0,
        fc_dim: int = 0,
        last_stride: int = 1,
        input_size: tuple[int, int] = (256, 128),
    ) -> None:
        super().__init__()
        if last_stride not in (1, 2):
            raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
        self.backbone = tv_resnet50(weights=None)
        del self.backbone.fc, self.backbone.avgpool
        first = self.backbone.layer4[0]
        first.conv2.stride = (last_stride, last_stride)
        first.downsample[0].stride = (last_stride, last_stride)
        self.head = BNNeckHead(FEATURE_DIM, num_classes, fc_dim)
        self.spec = ModelSpec(
            name=name,
            input_size=tuple(input_size),
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            embed_dim=self.head.embed_dim,
            classifier_keys=("head.classifier.",),
        )

    def _make_classifier(self, num_classes: int) -> nn.Linear | None:
        return make_classifier(self.head.embed_dim, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images -> (N, 2048, H/16, W/16) maps (H/32 with last stride 2)."""
        b = self.backbone
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        return b.layer4(b.layer3(b.layer2(b.layer1(x))))

    def forward(self, x: torch.Tensor) -> ReidOutput | torch.Tensor:
        """(N, 3, H, W) -> ReidOutput (train) or (N, D) post-BNNeck embedding (eval)."""
        pooled = torch.flatten(F.adaptive_avg_pool2d(self.forward_features(x), 1), 1)
        return self.head(pooled)


@dataclass(frozen=True)
class ResNetOptions(ModelOptions):
    """Options of the ResNet-50 variants.

    Attributes:
        last_stride: stride of the last stage (1 as in BoT, 2 as in ImageNet ResNet).
        input_size: (H, W) default input size recorded in the spec.
    """

    last_stride: int = 1
    input_size: ImageSize = ImageSize(256, 128)

    def check(self) -> None:
        if self.last_stride not in (1, 2):
            raise ConfigError(f"option last_stride: 1 or 2, got {self.last_stride}")


def _build(
    name: str, num_classes: int, pretrained: str, fc_dim: int, opts: ResNetOptions
) -> ResNetReid:
    model = ResNetReid(name, num_classes, fc_dim, opts.last_stride, opts.input_size)
    if pretrained != NONE:
        path = resolve_weights(name, pretrained, WEIGHTS, "imagenet")
        load_state_dict_strict(model.backbone, read_state_dict(path), SOURCE_HEAD_KEYS, str(path))
    return model


@register_model("resnet50", ResNetOptions)
def resnet50(num_classes: int, pretrained: str, options: ResNetOptions) -> ResNetReid:
    """ResNet-50, last stride 1, BNNeck (BoT baseline)."""
    return _build("resnet50", num_classes, pretrained, 0, options)


@register_model("resnet50_fc512", ResNetOptions)
def resnet50_fc512(num_classes: int, pretrained: str, options: ResNetOptions) -> ResNetReid:
    """ResNet-50, last stride 1, 512-d FC + BNNeck (torchreid's resnet50_fc512)."""
    return _build("resnet50_fc512", num_classes, pretrained, 512, options)
