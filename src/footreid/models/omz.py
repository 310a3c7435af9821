"""Open Model Zoo's person ReID models as registry entries: ``omz_reid_0277`` ... ``0288``.

Each is an :class:`~footreid.models.osnet_lct.OSNetLCT` of one width whose published
weights (tag ``omz``) are Open Model Zoo's OpenVINO IR, checked by SHA-256. The IR's
tensors go into the layers in the order one forward pass calls them
(:func:`load_ir_weights`), each shape checked, so a graph of another model or a changed
architecture fails loudly instead of loading half its weights.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from footreid.core.errors import ConfigError, WeightsError
from footreid.core.size import ImageSize
from footreid.models.factory import register_model
from footreid.models.openvino_ir import IRGraph, read_ir
from footreid.models.options import ModelOptions
from footreid.models.osnet_lct import STRIDE, ChannelAffine, OSNetLCT
from footreid.models.state_dict import load_state_dict_strict, read_state_dict
from footreid.models.weights import NONE, WeightSource, is_file_reference, resolve_weights


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
