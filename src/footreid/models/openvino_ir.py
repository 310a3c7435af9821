"""Read the trainable tensors of an OpenVINO IR (``.xml`` graph + ``.bin`` weights).

OpenVINO's own reader parses the graph (``openvino.Core().read_model``), so this module
only walks its ops in execution order and groups the float constants by the layer they
belong to; :mod:`footreid.models.osnet_lct` loads them into an ``nn.Module`` whose layers
are called in the same order. How the IR's ops map onto modules:

* ``Convolution`` / ``GroupConvolution`` (+ an ``Add`` of a constant) -> ``conv``:
  weight, bias (batch norm is folded into both by the Model Optimizer);
* ``Multiply`` by a constant followed by ``Add`` of a constant -> ``affine`` (the affine
  part of an instance norm after ``MVN``, of an LCT gate, or a folded ``BatchNorm1d``);
* ``MatMul`` (+ ``Add``) -> ``linear``; ``PRelu`` -> ``prelu`` (its slope);
* the input's ``Gather`` (BGR -> RGB), ``Subtract`` (mean) and ``Multiply`` (1/std) ->
  :class:`IRPreprocessing`, checked against the model's ModelSpec instead of loaded.

Shape plumbing (``Reshape``, ``ShapeOf``, ``Concat``) and parameter-free ops (``MVN``,
``ReLU``, ``Sigmoid``, pooling) carry no tensors: the module implements them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from footreid.core.errors import WeightsError

LayerKind = Literal["conv", "affine", "linear", "prelu"]
_CONV_OPS = ("Convolution", "GroupConvolution")


@dataclass(frozen=True)
class IRLayer:
    """One layer's tensors, float32, in the shapes PyTorch's layers use.

    Attributes:
        kind: ``conv`` (weight (O, I/groups, kh, kw), bias (O,) or absent), ``affine``
            (scale (C,), shift (C,)), ``linear`` (weight (out, in), bias (out,)) or
            ``prelu`` (slope (1,) or (C,)).
        name: the IR op's friendly name, for messages.
        tensors: the tensors, in the order above.
    """

    kind: LayerKind
    name: str
    tensors: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class IRPreprocessing:
    """What the graph does to its input before the first layer.

    Attributes:
        bgr_input: the graph reverses the channels of its input (it expects BGR).
        mean: per-channel mean subtracted, RGB order, on the 0-255 scale.
        std: per-channel standard deviation divided by, RGB order, 0-255 scale.
    """

    bgr_input: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass(frozen=True)
class IRGraph:
    """The tensors of an IR in execution order, and its input contract."""

    path: Path
    input_shape: tuple[int, ...]
    preprocessing: IRPreprocessing
    layers: tuple[IRLayer, ...]


def read_ir(xml_path: str | Path) -> IRGraph:
    """Read the layers of the IR ``xml_path`` (its ``.bin`` beside it) in execution order.

    Raises:
        WeightsError: missing files, a graph OpenVINO cannot read, or an op holding
            float constants that this reader does not know (it never skips weights).
    """
    xml_path = Path(xml_path)
    bin_path = xml_path.with_suffix(".bin")
    for path in (xml_path, bin_path):
        if not path.is_file():
            raise WeightsError(
                f"OpenVINO IR file {path} does not exist; an IR is a .xml graph with its "
                ".bin weights beside it under the same name"
            )
    try:
        import openvino as ov
    except ImportError as exc:
        raise WeightsError(
            f"reading {xml_path} needs OpenVINO: pip install 'footreid[openvino]'"
        ) from exc
    try:
        model = ov.Core().read_model(str(xml_path), str(bin_path))
    except Exception as exc:  # OpenVINO raises RuntimeError subclasses with long texts
        raise WeightsError(
            f"{xml_path}: OpenVINO cannot read it as an IR ({str(exc).splitlines()[0][:200]})"
        ) from exc
    return _walk(model, xml_path)


def _walk(model: Any, xml_path: Path) -> IRGraph:
    ops = list(model.get_ordered_ops())
    parameters = [op for op in ops if op.get_type_name() == "Parameter"]
    if len(parameters) != 1:
        raise WeightsError(f"{xml_path}: expected one input, found {len(parameters)}")
    input_shape = tuple(int(d) for d in parameters[0].get_output_shape(0))
    consumed: set[str] = set()  # ops already taken as part of a layer (bias Adds)
    layers: list[IRLayer] = []
    pre: dict[str, Any] = {"bgr_input": False}
    for op in ops:
        kind = op.get_type_name()
        name = op.get_friendly_name()
        if name in consumed or kind in ("Constant", "Convert"):
            continue
        if kind in _CONV_OPS:
            layers.append(_conv_layer(op, consumed))
        elif kind == "MatMul":
            layers.append(_linear_layer(op, consumed, xml_path))
        elif kind == "PRelu":
            layers.append(IRLayer("prelu", name, (_const_input(op, 1).reshape(-1),)))
        elif kind == "Multiply" and _has_const_input(op):
            if not layers and "scale" not in pre:  # the graph's own 1/std scaling
                pre["scale"] = _const_input(op, _const_index(op)).reshape(-1)
                continue
            layers.append(_affine_layer(op, consumed, xml_path))
        elif kind == "Subtract" and not layers:
            pre["mean"] = _const_input(op, 1).reshape(-1)
        elif kind == "Gather" and not layers and _gathers_channels(op):
            pre["bgr_input"] = _const_input(op, 1).tolist() == [2, 1, 0]
        elif kind == "Add" and _has_const_input(op) and _const_input(op, 1).size > 1:
            raise WeightsError(f"{xml_path}: op {name} adds a constant outside a known layer")
    return IRGraph(xml_path, input_shape, _preprocessing(pre, xml_path), tuple(layers))


def _conv_layer(op: Any, consumed: set[str]) -> IRLayer:
    weight = _const_input(op, 1)
    if op.get_type_name() == "GroupConvolution":  # (G, O/G, I/G, kh, kw) -> (O, I/G, kh, kw)
        weight = weight.reshape(-1, *weight.shape[2:])
    bias = _bias_after(op, consumed)
    tensors = (weight,) if bias is None else (weight, bias)
    return IRLayer("conv", op.get_friendly_name(), tensors)


def _linear_layer(op: Any, consumed: set[str], xml_path: Path) -> IRLayer:
    attrs = op.get_attributes()
    weight = _const_input(op, 1)
    if attrs.get("transpose_a"):
        raise WeightsError(f"{xml_path}: MatMul {op.get_friendly_name()} transposes its input")
    if not attrs.get("transpose_b"):
        weight = weight.T
    bias = _bias_after(op, consumed)
    if bias is None:
        raise WeightsError(f"{xml_path}: MatMul {op.get_friendly_name()} has no bias Add")
    return IRLayer("linear", op.get_friendly_name(), (np.ascontiguousarray(weight), bias))


def _affine_layer(op: Any, consumed: set[str], xml_path: Path) -> IRLayer:
    scale = _const_input(op, _const_index(op)).reshape(-1)
    shift = _bias_after(op, consumed)
    if shift is None:
        raise WeightsError(
            f"{xml_path}: op {op.get_friendly_name()} multiplies by a constant without the "
            "Add of an affine layer"
        )
    return IRLayer("affine", op.get_friendly_name(), (scale, shift))


def _bias_after(op: Any, consumed: set[str]) -> np.ndarray | None:
    """The constant added right after ``op`` (its only consumer), or None."""
    targets = list(op.output(0).get_target_inputs())
    if len(targets) != 1:
        return None
    add = targets[0].get_node()
    if add.get_type_name() != "Add" or not _has_const_input(add):
        return None
    consumed.add(add.get_friendly_name())
    return _const_input(add, _const_index(add)).reshape(-1)


def _preprocessing(pre: dict[str, Any], xml_path: Path) -> IRPreprocessing:
    if "mean" not in pre or "scale" not in pre:
        raise WeightsError(
            f"{xml_path}: the graph does not normalise its input itself (no mean Subtract "
            "and scale Multiply before its first layer); this reader expects Open Model "
            "Zoo's ReID graphs"
        )
    mean = tuple(float(v) for v in pre["mean"])
    std = tuple(float(1.0 / v) for v in pre["scale"])
    return IRPreprocessing(bool(pre["bgr_input"]), mean, std)  # type: ignore[arg-type]


def _gathers_channels(op: Any) -> bool:
    return op.get_input_size() == 3 and _const_input(op, 2).tolist() == [1]


def _const_index(op: Any) -> int:
    return next(i for i in range(op.get_input_size()) if _const_node(op, i) is not None)


def _has_const_input(op: Any) -> bool:
    return any(_const_node(op, i) is not None for i in range(op.get_input_size()))


def _const_node(op: Any, index: int) -> Any | None:
    """The Constant feeding input ``index`` of ``op`` (through a Convert), or None."""
    node = op.input_value(index).get_node()
    while node.get_type_name() == "Convert":  # fp16 weights are stored as f16 + Convert
        node = node.input_value(0).get_node()
    return node if node.get_type_name() == "Constant" else None


def _const_input(op: Any, index: int) -> np.ndarray:
    node = _const_node(op, index)
    if node is None:
        raise WeightsError(f"op {op.get_friendly_name()}: input {index} is not a constant")
    data = np.array(node.get_data())
    return data.astype(np.float32) if data.dtype.kind == "f" else data
