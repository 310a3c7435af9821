"""OSNet and OSNet-AIN, compatible with torchreid's checkpoints.

Zhou et al., "Omni-Scale Feature Learning for Person Re-Identification" (ICCV 2019) and
"Learning Generalisable Omni-Scale Representations for Person Re-Identification"
(TPAMI 2021). One class; where instance normalisation goes is a parameter (the
architecture facts are in ``docs/protocol.md``, "OSNet"). State-dict keys are
torchreid's, so its published checkpoints load strictly. torchreid names two layouts
differently: plain OSNet keeps its streams as ``conv2a``..``conv2d`` and its transitions
inside the stages (``conv2.2``); OSNet-AIN keeps ``conv2.<t>.layers`` and separate
``pool2``/``pool3``. ``key_layout`` selects one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from footreid.core.errors import ConfigError
from footreid.core.size import ImageSize
from footreid.models.factory import register_model
from footreid.models.heads import make_classifier
from footreid.models.options import ModelOptions
from footreid.models.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec, ReidModel, ReidOutput
from footreid.models.state_dict import load_state_dict_strict, read_state_dict
from footreid.models.weights import NONE, WeightSource, resolve_weights

KeyLayout = Literal["osnet", "osnet_ain"]
Neck = Literal["none", "bnneck"]
NECKS: tuple[str, ...] = ("none", "bnneck")
WIDTHS: dict[str, tuple[int, int, int, int]] = {
    "x1_0": (64, 256, 384, 512),
    "x0_75": (48, 192, 288, 384),
    "x0_5": (32, 128, 192, 256),
    "x0_25": (16, 64, 96, 128),
}
AIN_IN_BLOCKS = ("conv2.0", "conv2.1", "conv3.1", "conv4.0")
"""Blocks of OSNet-AIN whose residual branch ends in instance norm ("IN-in" blocks)."""
FEATURE_DIM = 512
STREAMS = 4

# torchreid's published ImageNet checkpoints (Google Drive ids from its model zoo).
_DRIVE_IDS = {
    "osnet_x1_0": "1LaG1EJpHrxdAxKnSCJ_i0u-nbxSAeiFY",
    "osnet_x0_75": "1uwA9fElHOk3ZogwbeY5GkLI6QPTX70Hq",
    "osnet_x0_5": "16DGLbZukvVYgINws8u8deSaOqjybZ83i",
    "osnet_x0_25": "1rb8UN5ZzPKRc_xvtHlyDh-cSz88YX9hs",
    "osnet_ain_x1_0": "1-CaioD9NaqbHK_kzSMW8VE4_3KcsRjEo",
    "osnet_ain_x0_75": "1apy0hpsMypqstfencdH-jKIUEFOW4xoM",
    "osnet_ain_x0_5": "1KusKvEYyKGDTUBVRxRiz55G31wkihB6l",
    "osnet_ain_x0_25": "1SxQt2AvmEcgWNhaRb2xC4rP6ZwVDP0Wt",
}


def weight_sources(name: str) -> dict[str, WeightSource]:
    """Published weights of an OSNet variant by tag (ImageNet only)."""
    return {
        "imagenet": WeightSource(
            tag="imagenet",
            cache_name=f"{name}_imagenet.pth",
            url=f"https://drive.google.com/uc?export=download&id={_DRIVE_IDS[name]}",
            description=f"torchreid's ImageNet-pretrained {name}",
        )
    }


class ConvNormAct(nn.Module):
    """k x k conv (no bias) + norm (BatchNorm, affine InstanceNorm or none) + optional ReLU."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 1,
        stride: int = 1,
        norm: Literal["bn", "in", "none"] = "bn",
        act: bool = True,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False)
        if norm != "none":  # torchreid's linear 1x1 of IN-in blocks has no ``bn`` key
            self.bn = (
                nn.InstanceNorm2d(c_out, affine=True) if norm == "in" else nn.BatchNorm2d(c_out)
            )
        self.norm = norm
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.norm != "none":
            x = self.bn(x)
        return F.relu(x) if self.act else x


class LiteConv3x3(nn.Module):
    """The "lite 3x3" layer: 1x1 pointwise (linear), 3x3 depthwise, BN, ReLU."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 1, bias=False)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, groups=c_out, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv2(self.conv1(x))))


class LiteStream(nn.Module):
    """``depth`` stacked lite 3x3 layers (OSNet-AIN key layout: ``layers.<i>``)."""

    def __init__(self, channels: int, depth: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*(LiteConv3x3(channels, channels) for _ in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class ChannelGate(nn.Module):
    """Unified aggregation gate: GAP, 1x1 C -> C/16, ReLU, 1x1 -> C, sigmoid; x * gate."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = F.adaptive_avg_pool2d(x, 1)
        gate = torch.sigmoid(self.fc2(F.relu(self.fc1(gate))))
        return x * gate


class OSBlock(nn.Module):
    """Omni-scale residual block; with ``instance_norm`` an "IN-in" block (OSNet-AIN).

    1x1 reduce to out/4, four streams of 1..4 lite 3x3 layers sharing one gate, gated
    sum, 1x1 expand (BN, or no BN + instance norm for IN-in), residual, ReLU.
    """

    def __init__(self, c_in: int, c_out: int, instance_norm: bool, key_layout: KeyLayout) -> None:
        super().__init__()
        mid = c_out // 4
        self.key_layout = key_layout
        self.conv1 = ConvNormAct(c_in, mid)
        if key_layout == "osnet_ain":
            self.conv2 = nn.ModuleList(LiteStream(mid, depth) for depth in range(1, STREAMS + 1))
        else:
            self.conv2a = LiteConv3x3(mid, mid)
            for depth, letter in zip(range(2, STREAMS + 1), "bcd", strict=True):
                layers = nn.Sequential(*(LiteConv3x3(mid, mid) for _ in range(depth)))
                self.add_module(f"conv2{letter}", layers)
        self.gate = ChannelGate(mid)
        self.conv3 = ConvNormAct(mid, c_out, norm="none" if instance_norm else "bn", act=False)
        self.downsample = ConvNormAct(c_in, c_out, act=False) if c_in != c_out else None
        if instance_norm:  # registered after downsample: torchreid's key order
            self.IN = nn.InstanceNorm2d(c_out, affine=True)
        self.instance_norm = instance_norm

    def streams(self) -> list[nn.Module]:
        """The four streams, shortest first."""
        if self.key_layout == "osnet_ain":
            return list(self.conv2)
        return [self.conv2a, self.conv2b, self.conv2c, self.conv2d]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.conv1(x)
        mixed: torch.Tensor | int = 0
        for stream in self.streams():
            mixed = mixed + self.gate(stream(reduced))
        out = self.conv3(mixed)
        if self.instance_norm:
            out = self.IN(out)
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


def _transition(channels: int) -> nn.Sequential:
    """1x1 conv + BN + ReLU, then 2x2 average pooling (between stages)."""
    return nn.Sequential(ConvNormAct(channels, channels), nn.AvgPool2d(2, stride=2))


class OSNet(ReidModel):
    """OSNet backbone + 512-d FC feature + classifier, torchreid key names.

    Args:
        name: registered name, for the spec.
        widths: (c0, c1, c2, c3) channel widths (see ``WIDTHS``).
        num_classes: identity classes (0: no classifier).
        in_blocks: names (``conv2.0``...``conv4.1``) of the blocks that are IN-in blocks.
        stem_in: instance norm instead of BN in the 7x7 stem.
        key_layout: torchreid's ``osnet`` or ``osnet_ain`` state-dict layout.
        input_size: (H, W) default input size recorded in the spec.
        neck: ``none`` (torchreid's head) or ``bnneck`` (Luo et al. 2019: a BatchNorm1d
            with a frozen bias after the FC feature; metric losses see the feature, the
            classifier and inference the normalised vector). The BNNeck's keys are new
            to torchreid's checkpoints, so they may be absent from pretrained files.

    In eval mode returns the (N, 512) FC feature v (torchreid's inference output), or
    ``bnneck(v)``; in train mode ``ReidOutput(embedding, feature=v, logits)``.
    """

    classifier_path = "classifier"

    def __init__(
        self,
        name: str,
        widths: tuple[int, int, int, int],
        num_classes: int = 0,
        in_blocks: tuple[str, ...] = (),
        stem_in: bool = False,
        key_layout: KeyLayout = "osnet",
        input_size: tuple[int, int] = (256, 128),
        neck: Neck = "none",
    ) -> None:
        super().__init__()
        if neck not in NECKS:
            raise ConfigError(f"OSNet neck must be one of {', '.join(NECKS)}, got '{neck}'")
        c0, c1, c2, c3 = widths
        self.conv1 = ConvNormAct(3, c0, 7, stride=2, norm="in" if stem_in else "bn")
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        stages = {"conv2": (c0, c1), "conv3": (c1, c2), "conv4": (c2, c3)}
        for stage, (c_in, c_out) in stages.items():
            blocks = [
                OSBlock(c_in if i == 0 else c_out, c_out, f"{stage}.{i}" in in_blocks, key_layout)
                for i in range(2)
            ]
            has_transition = stage != "conv4"
            if has_transition and key_layout == "osnet":
                blocks.append(_transition(c_out))
            self.add_module(stage, nn.Sequential(*blocks))
            if has_transition and key_layout == "osnet_ain":
                self.add_module(f"pool{stage[-1]}", _transition(c_out))
        self.key_layout = key_layout
        self.conv5 = ConvNormAct(c3, c3)
        self.fc = nn.Sequential(nn.Linear(c3, FEATURE_DIM), nn.BatchNorm1d(FEATURE_DIM), nn.ReLU())
        self.bnneck = _bnneck(FEATURE_DIM) if neck == "bnneck" else None
        self.classifier = self._make_classifier(num_classes)
        self._init_weights()
        self.spec = ModelSpec(
            name=name,
            input_size=tuple(input_size),
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            embed_dim=FEATURE_DIM,
            classifier_keys=("classifier.",) if neck == "none" else ("classifier.", "bnneck."),
        )

    def _make_classifier(self, num_classes: int) -> nn.Linear | None:
        # BoT's BNNeck classifier has no bias (it would undo the centred embedding)
        return make_classifier(FEATURE_DIM, num_classes, bias=self.bnneck is None, std=0.01)

    def _init_weights(self) -> None:
        """torchreid's initialisation: Kaiming (fan-out) convs, unit norms, N(0, 0.01) FC."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d | nn.InstanceNorm2d) and m.affine:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images -> (N, c3, H/16, W/16) feature maps."""
        x = self.maxpool(self.conv1(x))
        x = self.conv2(x)
        if self.key_layout == "osnet_ain":
            x = self.pool2(x)
        x = self.conv3(x)
        if self.key_layout == "osnet_ain":
            x = self.pool3(x)
        return self.conv5(self.conv4(x))

    def forward(self, x: torch.Tensor) -> ReidOutput | torch.Tensor:
        """(N, 3, H, W) -> ReidOutput (train) or (N, 512) embedding (eval)."""
        v = self.fc(torch.flatten(F.adaptive_avg_pool2d(self.forward_features(x), 1), 1))
        embedding = v if self.bnneck is None else self.bnneck(v)
        if not self.training:
            return embedding
        logits = None if self.classifier is None else self.classifier(embedding)
        return ReidOutput(embedding=embedding, feature=v, logits=logits)


def _bnneck(dim: int) -> nn.BatchNorm1d:
    """BatchNorm1d with unit scale and a zero bias that stays frozen (BoT)."""
    bn = nn.BatchNorm1d(dim)
    bn.bias.requires_grad_(False)
    return bn


@dataclass(frozen=True)
class OSNetOptions(ModelOptions):
    """Options of every OSNet and OSNet-AIN width.

    Attributes:
        input_size: (H, W) default input size recorded in the spec.
        neck: ``none`` (torchreid's head) or ``bnneck`` (see :class:`OSNet`).
    """

    input_size: ImageSize = ImageSize(256, 128)
    neck: Neck = "none"


def _build(name: str, width: str, num_classes: int, pretrained: str, opts: OSNetOptions) -> OSNet:
    ain = name.startswith("osnet_ain_")
    model = OSNet(
        name,
        WIDTHS[width],
        num_classes=num_classes,
        in_blocks=AIN_IN_BLOCKS if ain else (),
        stem_in=ain,
        key_layout="osnet_ain" if ain else "osnet",
        input_size=opts.input_size,
        neck=opts.neck,
    )
    if pretrained != NONE:
        path = resolve_weights(name, pretrained, weight_sources(name), "imagenet")
        load_state_dict_strict(model, read_state_dict(path), model.spec.classifier_keys, str(path))
    return model


def _register(name: str, width: str) -> None:
    """Register one variant (all widths share :class:`OSNetOptions`)."""

    def builder(num_classes: int, pretrained: str, options: OSNetOptions) -> OSNet:
        return _build(name, width, num_classes, pretrained, options)

    family = "OSNet-AIN" if name.startswith("osnet_ain_") else "OSNet"
    builder.__name__ = name
    builder.__doc__ = f"{family} {width.replace('_', '.')} (torchreid-compatible)."
    register_model(name, OSNetOptions)(builder)


for _width in WIDTHS:
    _register(f"osnet_{_width}", _width)
    _register(f"osnet_ain_{_width}", _width)
