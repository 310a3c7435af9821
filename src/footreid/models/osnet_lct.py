"""OSNet-LCT: Open Model Zoo's person ReID backbones as trainable PyTorch models.

Intel's ``person-reidentification-retail-0277/0286/0287/0288`` (Apache-2.0) are OSNet
x1.0/x0.75/x0.5/x0.25-sized networks (Zhou et al., ICCV 2019) with three changes: the
second block of each stage gates its streams with Linear Context Transform blocks
(Ruan et al., "Linear Context Transform Block", AAAI 2020: global average, normalised
within channel groups, a per-channel affine, sigmoid) instead of OSNet's shared channel
gate; the input and the stem are instance-normalised; the head is a global depthwise
convolution over the whole 16x8 map, FC to 256, a batch-norm affine and PReLU. They are
published only as OpenVINO IR with batch norm folded into the convolutions, so the
convolutions here carry biases and there is no BatchNorm to refit: fine-tuning trains the
folded weights and biases directly (the graph's ``affine`` layers stay plain scale/shift).
:mod:`footreid.models.openvino_ir` reads the IR; :func:`footreid.models.omz.load_ir_weights`
puts its tensors into the layers in the order the forward pass calls them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from footreid.core.errors import ConfigError
from footreid.models.heads import make_classifier
from footreid.models.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec, ReidModel, ReidOutput

EMBED_DIM = 256
STRIDE = 16  # the backbone's total downsampling: the head's depthwise kernel is H/16 x W/16
LCT_EPS = 1e-5


class ChannelAffine(nn.Module):
    """Per-channel ``x * weight + bias`` over dim 1 (a folded norm's affine part)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x * self.weight.view(shape) + self.bias.view(shape)


class LCTGate(nn.Module):
    """Linear Context Transform: x * sigmoid(affine(group-normalised global average))."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.groups = 16 if channels % 16 == 0 else 8  # as the published graphs group them
        self.affine = ChannelAffine(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = x.mean((2, 3)).reshape(-1, self.groups, self.channels // self.groups)
        mean = context.mean(-1, keepdim=True)
        var = context.var(-1, unbiased=False, keepdim=True)
        context = ((context - mean) / torch.sqrt(var + LCT_EPS)).reshape(-1, self.channels)
        return x * torch.sigmoid(self.affine(context))[:, :, None, None]


class SEGate(nn.Module):
    """OSNet's unified aggregation gate: GAP, 1x1 C -> C/16, ReLU, 1x1 -> C, sigmoid."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, max(channels // 16, 1), 1)
        self.fc2 = nn.Conv2d(max(channels // 16, 1), channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1))))
        return x * torch.sigmoid(gate)


class LiteConv(nn.Module):
    """1x1 pointwise (linear), 3x3 depthwise with the folded BN as its bias, ReLU."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 1, bias=False)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)))


class OSBlockLCT(nn.Module):
    """An omni-scale block: 1x1 reduce, streams of 1-4 lite layers, gated sum, 1x1 expand.

    ``lct``: each stream has its own LCT gate; otherwise one shared SE gate (OSNet's).
    """

    def __init__(self, c_in: int, c_out: int, lct: bool) -> None:
        super().__init__()
        mid = c_out // 4
        self.conv1 = nn.Conv2d(c_in, mid, 1)
        self.streams = nn.ModuleList(
            nn.Sequential(*(LiteConv(mid) for _ in range(depth))) for depth in (1, 2, 3, 4)
        )
        self.gate = None if lct else SEGate(mid)
        self.gates = nn.ModuleList(LCTGate(mid) for _ in range(4)) if lct else None
        self.conv3 = nn.Conv2d(mid, c_out, 1)
        self.downsample = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = F.relu(self.conv1(x))
        gates = self.gates if self.gate is None else [self.gate] * len(self.streams)
        mixed = sum(gate(stream(reduced)) for stream, gate in zip(self.streams, gates, strict=True))
        out = self.conv3(mixed)
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class OSNetLCT(ReidModel):
    """OSNet-LCT backbone, global depthwise head, 256-d embedding, optional classifier.

    Args:
        name: registered name, for the spec.
        widths: (c0, c1, c2, c3) channel widths.
        num_classes: identity classes (0: no classifier).
        input_size: (H, W), multiples of 16; the head's depthwise kernel covers the
            whole (H/16, W/16) map, so the model runs at this size only.

    Eval mode returns the (N, 256) embedding (the IR's ``reid_embedding``); train mode
    ``ReidOutput(embedding, feature=embedding, logits)``.
    """

    def __init__(
        self,
        name: str,
        widths: tuple[int, int, int, int],
        num_classes: int = 0,
        input_size: tuple[int, int] = (256, 128),
    ) -> None:
        super().__init__()
        c0, c1, c2, c3 = widths
        height, width = input_size
        self.input_norm = nn.InstanceNorm2d(3, affine=True)
        self.conv1 = nn.Conv2d(3, c0, 7, stride=2, padding=3, bias=False)
        self.conv1_norm = nn.InstanceNorm2d(c0, affine=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv2 = nn.Sequential(OSBlockLCT(c0, c1, False), OSBlockLCT(c1, c1, True))
        self.pool2 = nn.Sequential(nn.Conv2d(c1, c1, 1), nn.ReLU(), nn.AvgPool2d(2, 2))
        self.conv3 = nn.Sequential(OSBlockLCT(c1, c2, False), OSBlockLCT(c2, c2, True))
        self.pool3 = nn.Sequential(nn.Conv2d(c2, c2, 1), nn.ReLU(), nn.AvgPool2d(2, 2))
        self.conv4 = nn.Sequential(OSBlockLCT(c2, c3, False), OSBlockLCT(c3, c3, True))
        self.conv5 = nn.Conv2d(c3, c3, 1)
        self.map_size = (height // STRIDE, width // STRIDE)
        self.global_dw = nn.Conv2d(c3, c3, self.map_size, groups=c3)
        self.fc = nn.Linear(c3, EMBED_DIM)
        self.fc_norm = ChannelAffine(EMBED_DIM)
        self.act = nn.PReLU(1)
        self.classifier = self._make_classifier(num_classes)
        self._init_weights()
        self.spec = ModelSpec(
            name=name,
            input_size=tuple(input_size),
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            embed_dim=EMBED_DIM,
            classifier_keys=("classifier.",),
        )

    def _make_classifier(self, num_classes: int) -> nn.Linear | None:
        return make_classifier(EMBED_DIM, num_classes, bias=False, std=0.001)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images -> (N, c3, H/16, W/16) feature maps."""
        x = self.maxpool(F.relu(self.conv1_norm(self.conv1(self.input_norm(x)))))
        x = self.pool3(self.conv3(self.pool2(self.conv2(x))))
        return F.relu(self.conv5(self.conv4(x)))

    def forward(self, x: torch.Tensor) -> ReidOutput | torch.Tensor:
        """(N, 3, H, W) -> ReidOutput (train) or (N, 256) embedding (eval)."""
        features = self.forward_features(x)
        if tuple(features.shape[2:]) != self.map_size:
            raise ConfigError(
                f"{self.spec.name} takes {self.spec.input_size.height}x"
                f"{self.spec.input_size.width} inputs (its head pools a fixed "
                f"{self.map_size[0]}x{self.map_size[1]} map), got {x.shape[2]}x{x.shape[3]}"
            )
        pooled = torch.flatten(self.global_dw(features), 1)
        embedding = self.act(self.fc_norm(self.fc(pooled)))
        if not self.training:
            return embedding
        logits = None if self.classifier is None else self.classifier(embedding)
        return ReidOutput(embedding=embedding, feature=embedding, logits=logits)
