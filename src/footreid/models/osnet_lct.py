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
:mod:`footreid.models.openvino_ir` reads the IR; :func:`load_ir_weights` puts its tensors
into the layers in the order the forward pass calls them and checks every shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from footreid.core.errors import ConfigError, WeightsError
from footreid.core.size import ImageSize
from footreid.models.factory import register_model
from footreid.models.heads import make_classifier
from footreid.models.openvino_ir import IRGraph, read_ir
from footreid.models.options import ModelOptions
from footreid.models.spec import IMAGENET_MEAN, IMAGENET_STD, ModelSpec, ReidModel, ReidOutput
from footreid.models.state_dict import load_state_dict_strict, read_state_dict
from footreid.models.weights import NONE, WeightSource, is_file_reference, resolve_weights

EMBED_DIM = 256
STRIDE = 16  # the backbone's total downsampling: the head's depthwise kernel is H/16 x W/16
LCT_EPS = 1e-5


@dataclass(frozen=True)
class OMZModel:
    """One Open Model Zoo model: widths (c0, c1, c2, c3), precision and SHA-256 of its files."""

    widths: tuple[int, int, int, int]
    size: str
    precision: str
    xml_sha256: str
    bin_sha256: str


OMZ_MODELS: dict[str, OMZModel] = {
    "0277": OMZModel(
        (64, 256, 384, 512),
        "x1.0",
        "FP16",
        "82039b1bb986231c50345550e59def94e63579998e9cddbd1a312f293eb87729",
        "6bb69e09d07733cc3896b29081d2627f92db7b9aacd50f1a8c3df491cb10f1b7",
    ),
    "0286": OMZModel(
        (48, 192, 288, 384),
        "x0.75",
        "FP16",
        "cc547e622d8aeabf97938213f68171bf59ac7d01c910ceadfea984aa96e5d1b5",
        "d06beb9e2b2661d42b233f64ef623f3518fc46dc11f6b7dd53cda8962d9d1bd9",
    ),
    "0287": OMZModel(
        (32, 128, 192, 256),
        "x0.5",
        "FP32",
        "09af746c1068a3e89355e1f0226d3d6982dc1cd77634b1f70a40f1f654a94be1",
        "7f53d18d11253455e0e11646b2176cf6509cc7c97cb5376f9b91b4c41e09a06c",
    ),
    "0288": OMZModel(
        (16, 64, 96, 128),
        "x0.25",
        "FP32",
        "30f452b2ed2763f7bf429eea23f8f243ad0e7f3cdd7226db6888f1660efb3424",
        "6496b8d51741703c9e9c7f6474cb96c60de1856d7b4fd77235e48cea146066a5",
    ),
}
OMZ_TAG = "omz"
# Open Model Zoo's model storage (release 2023.0, the IR v11 files its downloader fetches).
OMZ_STORAGE = "https://storage.openvinotoolkit.org/repositories/open_model_zoo/2023.0/models_bin/1"


def ir_sources(number: str) -> tuple[dict[str, WeightSource], dict[str, WeightSource]]:
    """The published ``.xml`` and ``.bin`` of Open Model Zoo model ``number``, by tag."""
    model = OMZ_MODELS[number]
    stem = f"person-reidentification-retail-{number}"
    sources = []
    for suffix, sha in ((".xml", model.xml_sha256), (".bin", model.bin_sha256)):
        source = WeightSource(
            tag=OMZ_TAG,
            cache_name=f"omz/{stem}{suffix}",
            url=f"{OMZ_STORAGE}/{stem}/{model.precision}/{stem}{suffix}",
            sha256=sha,
            description=f"Open Model Zoo's {stem} ({model.precision}, Apache-2.0)",
        )
        sources.append({OMZ_TAG: source})
    return sources[0], sources[1]


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


_KINDS: dict[type[nn.Module], str] = {
    nn.Conv2d: "conv",
    nn.InstanceNorm2d: "affine",
    ChannelAffine: "affine",
    nn.Linear: "linear",
    nn.PReLU: "prelu",
}


def load_ir_weights(model: OSNetLCT, graph: IRGraph) -> None:
    """Load the IR's tensors into ``model``, layer by layer in call order, shapes checked.

    A layer called several times (the shared SE gate) must get equal tensors each time.

    Raises:
        WeightsError: other preprocessing, input size or layer sequence than the model's.
    """
    where = f"{graph.path}"
    _check_contract(model, graph)
    calls = _layer_calls(model)
    if len(calls) != len(graph.layers):
        raise WeightsError(
            f"{where}: {len(graph.layers)} weighted layers, {model.spec.name} calls "
            f"{len(calls)}: not the graph of {model.spec.name}"
        )
    loaded: set[int] = set()
    with torch.no_grad():
        for index, (module, layer) in enumerate(zip(calls, graph.layers, strict=True)):
            params = [p for p in (getattr(module, "weight", None), getattr(module, "bias", None))]
            params = [p for p in params if p is not None]
            shapes = [tuple(p.shape) for p in params]
            if _KINDS[type(module)] != layer.kind or shapes != [t.shape for t in layer.tensors]:
                raise WeightsError(
                    f"{where}: layer {index} ({layer.name}) is a {layer.kind} of shapes "
                    f"{[t.shape for t in layer.tensors]}; {model.spec.name} expects a "
                    f"{_KINDS[type(module)]} of shapes {shapes} there"
                )
            for param, tensor in zip(params, layer.tensors, strict=True):
                value = torch.from_numpy(np.ascontiguousarray(tensor))
                if id(module) in loaded and not torch.equal(param.cpu(), value):
                    raise WeightsError(f"{where}: shared layer {layer.name} differs between uses")
                param.copy_(value)
            loaded.add(id(module))


def _check_contract(model: OSNetLCT, graph: IRGraph) -> None:
    pre, spec = graph.preprocessing, model.spec
    mean = np.array(spec.mean) * 255.0
    std = np.array(spec.std) * 255.0
    same_norm = np.allclose(pre.mean, mean, rtol=1e-3) and np.allclose(pre.std, std, rtol=1e-3)
    if not (pre.bgr_input and same_norm):
        raise WeightsError(
            f"{graph.path}: the graph normalises its input with mean {pre.mean}, std "
            f"{pre.std} (BGR input: {pre.bgr_input}); {spec.name} expects BGR input "
            f"with ImageNet mean/std x 255"
        )
    size = tuple(graph.input_shape[2:])
    if size != tuple(spec.input_size):
        raise WeightsError(
            f"{graph.path}: input {size[0]}x{size[1]}, {spec.name} is built for "
            f"{spec.input_size.height}x{spec.input_size.width}; build it at the graph's size"
        )


def _layer_calls(model: OSNetLCT) -> list[nn.Module]:
    """The weighted layers of ``model`` in the order one forward pass calls them."""
    calls: list[nn.Module] = []
    handles = [
        m.register_forward_hook(lambda mod, *_: calls.append(mod))
        for m in model.modules()
        if type(m) in _KINDS and m is not model.classifier
    ]
    was_training = model.training
    try:
        model.eval()
        device = next(model.parameters()).device
        height, width = model.spec.input_size
        with torch.no_grad():
            model(torch.zeros(1, 3, height, width, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return calls


@dataclass(frozen=True)
class OSNetLCTOptions(ModelOptions):
    """Options of the Open Model Zoo models.

    Attributes:
        input_size: (H, W), multiples of 16; the published weights are for 256x128.
    """

    input_size: ImageSize = ImageSize(256, 128)

    def check(self) -> None:
        if self.input_size.height % STRIDE or self.input_size.width % STRIDE:
            raise ConfigError(f"option input_size: sides must be multiples of {STRIDE}")


def _build(
    name: str, number: str, num_classes: int, pretrained: str, opts: OSNetLCTOptions
) -> OSNetLCT:
    model = OSNetLCT(name, OMZ_MODELS[number].widths, num_classes, opts.input_size)
    if pretrained == NONE:
        return model
    xml_sources, bin_sources = ir_sources(number)
    path = resolve_weights(name, pretrained, xml_sources, OMZ_TAG)
    if path.suffix.lower() != ".xml":  # a state dict of this architecture (fine-tuned)
        load_state_dict_strict(model, read_state_dict(path), model.spec.classifier_keys, str(path))
        return model
    if not is_file_reference(pretrained):  # a tag: its .bin is cached beside the .xml
        resolve_weights(name, pretrained, bin_sources, OMZ_TAG)
    load_ir_weights(model, read_ir(path))
    return model


def model_name_of_ir(xml_path: str | Path) -> str:
    """The registry name of an Open Model Zoo IR file, from its published file name.

    Raises:
        WeightsError: a file name that is none of the published models.
    """
    match = re.fullmatch(r"person-reidentification-retail-(\d{4})", Path(xml_path).stem)
    if match is None or match.group(1) not in OMZ_MODELS:
        known = ", ".join(f"person-reidentification-retail-{n}.xml" for n in OMZ_MODELS)
        raise WeightsError(
            f"{xml_path}: not an Open Model Zoo ReID model footreid knows by its file name "
            f"({known}); build the registry model with --pretrained {xml_path} instead"
        )
    return f"omz_reid_{match.group(1)}"


def _register(number: str) -> None:
    name = f"omz_reid_{number}"
    model = OMZ_MODELS[number]

    def builder(num_classes: int, pretrained: str, options: OSNetLCTOptions) -> OSNetLCT:
        return _build(name, number, num_classes, pretrained, options)

    builder.__name__ = name
    builder.__doc__ = (
        f"OSNet-LCT {model.size}: Open Model Zoo person-reidentification-retail-{number} "
        f"(weights 'omz': its OpenVINO IR, {model.precision})."
    )
    register_model(name, OSNetLCTOptions)(builder)


for _number in OMZ_MODELS:
    _register(_number)
