"""Checkpoints that torchreid and BoxMOT load as they are: OSNet and OSNet-AIN.

footreid's OSNet keeps torchreid's architecture and state-dict keys, so a trained model
is written as torchreid writes its own (``{"state_dict": ...}``), under the file name
BoxMOT reads the architecture from (``<arch>_<tag>.pt``, e.g. ``osnet_x0_25_msmt17.pt``).
The file also carries ``model_name`` and ``img_size`` [H, W], which BoxMOT (>= 25) reads
before the file name, so a model trained at another size than 256x128 is fed at its own
size; torchreid ignores them (give ``height``/``width`` to its transforms). Plain values
and tensors only, so ``torch.load(weights_only=True)`` (torchreid's loader) reads it.

What torchreid cannot represent is refused, never approximated:

* an OSNet with ``neck: bnneck``: its embedding is a BatchNorm of torchreid's
  Linear-BN-ReLU feature, a per-channel shift of non-negative values (signed features);
  no torchreid OSNet computes it, and the shift cannot be folded before the ReLU;
* ResNet-50 (``resnet50``, ``resnet50_fc512``): footreid's embedding is the BNNeck output
  (signed), torchreid's/BoxMOT's ResNets end in average pooling or Linear-BN-ReLU
  (non-negative), and their ``resnet50`` has last stride 2 where footreid's default is 1;
* ViTs and colour histograms: no torchreid architecture.

Those go to trackers as ONNX (``footreid export-onnx``; BoxMOT runs ``.onnx`` ReID files).
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from footreid._version import __version__
from footreid.core.errors import ConfigError, WeightsError
from footreid.core.io import atomic_path, sha256_file
from footreid.core.log import get_logger
from footreid.core.size import ImageSize

log = get_logger(__name__)

TORCHREID_ARCHITECTURES: tuple[str, ...] = tuple(
    f"{family}_{width}"
    for family in ("osnet", "osnet_ain")
    for width in ("x1_0", "x0_75", "x0_5", "x0_25")
)
"""footreid names torchreid 0.2.5 and BoxMOT 25 build under the same name and keys."""
PEER_NAMES: tuple[str, ...] = (
    *TORCHREID_ARCHITECTURES,
    "osnet_ibn_x1_0",
    "resnet",
    "resnext",
    "mlfn",
    "hacnn",
    "mobilenet",
    "lmbn",
    "clip",
    "vit",
)
"""Model names (or prefixes) BoxMOT matches in file names: a tag must contain none."""
SIZE_WORDS = ("veri", "vehicleid")
"""Words that make BoxMOT feed 256x256 crops when a file records no img_size."""
TAG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class TorchreidExport:
    """A written torchreid/BoxMOT checkpoint.

    Attributes:
        path: the ``<arch>_<tag>.pt`` file.
        architecture: the torchreid/BoxMOT model name.
        input_size: (H, W) the model was trained at (``img_size`` in the file).
        max_abs_diff: largest |torchreid - footreid| over L2-normalised embeddings of a
            seeded batch, measured by loading the file with torchreid's own
            ``load_pretrained_weights``; None when torchreid is not installed.
    """

    path: Path
    architecture: str
    input_size: ImageSize
    max_abs_diff: float | None


def check_exportable(model: torch.nn.Module, source: str) -> str:
    """The torchreid name of ``model``, or a WeightsError saying why there is none."""
    name = str(model.model_name or model.spec.name)
    neck = dict(model.model_kwargs).get("neck", "none")
    if name in TORCHREID_ARCHITECTURES and neck == "none":
        return name
    onnx = "export it with `footreid export-onnx` instead (BoxMOT runs .onnx ReID files)"
    if name in TORCHREID_ARCHITECTURES:
        why = (
            "was trained with neck: bnneck; its embedding is a BatchNorm after torchreid's "
            "Linear-BN-ReLU head (signed features), which no torchreid OSNet computes and "
            "which cannot be folded into the layers before the ReLU"
        )
        fix = f"{onnx}, or train with model.options.neck: none"
    elif name.startswith("resnet50"):
        why = (
            "is a ResNet-50 whose embedding is its BNNeck output (signed features); "
            "torchreid's and BoxMOT's ResNets end in pooling or Linear-BN-ReLU "
            "(non-negative), so none of them computes it"
        )
        fix = onnx
    elif name.startswith("omz_reid_"):
        why = (
            "is an OSNet-LCT (Open Model Zoo): its Linear Context Transform gates, "
            "instance-normalised input and global depthwise head exist in no torchreid "
            "architecture"
        )
        fix = onnx
    else:
        why = "has no torchreid architecture"
        fix = onnx
    raise WeightsError(f"{source}: {name} {why}; {fix}")


def torchreid_file_name(architecture: str, tag: str) -> str:
    """``<arch>_<tag>.pt``, the name BoxMOT reads the architecture from.

    Raises:
        ConfigError: a tag that is not lower-case letters, digits and hyphens, or that
            holds a model name or a word that changes BoxMOT's crop size.
    """
    if not TAG.match(tag):
        raise ConfigError(f"tag '{tag}': use lower-case letters, digits and '-' (e.g. snmot)")
    clash = [w for w in (*PEER_NAMES, *SIZE_WORDS) if w in tag]
    if clash:
        raise ConfigError(
            f"tag '{tag}' contains '{clash[0]}', which BoxMOT reads from file names "
            "(architecture or crop size); choose another tag"
        )
    return f"{architecture}_{tag}.pt"


def default_tag(info: dict[str, Any]) -> str:
    """A tag from the training data folder's name ("snmot-reid" -> "snmot-reid")."""
    root = ((info.get("config") or {}).get("data") or {}).get("root") or "footreid"
    tag = re.sub(r"[^a-z0-9-]+", "-", Path(str(root)).name.lower()).strip("-")
    try:
        torchreid_file_name("osnet_x1_0", tag)
    except ConfigError:
        return "footreid"
    return tag or "footreid"


def _payload(model: torch.nn.Module, arch: str, size: ImageSize, checkpoint: Path) -> dict:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return {
        "state_dict": state,
        "model_name": arch,
        "img_size": size.to_list(),
        "mean": [float(v) for v in model.spec.mean],
        "std": [float(v) for v in model.spec.std],
        "embed_dim": int(model.spec.embed_dim),
        "footreid": {
            "version": __version__,
            "source": checkpoint.name,
            "source_sha256": sha256_file(checkpoint),
        },
    }


def torchreid_parity(
    path: Path, arch: str, model: torch.nn.Module, images: torch.Tensor
) -> float | None:
    """Largest |torchreid - footreid| on L2-normalised embeddings (None without torchreid).

    torchreid builds ``arch`` by name and loads ``path`` with its own
    ``load_pretrained_weights`` (which prints; silenced here).
    """
    try:
        with warnings.catch_warnings():  # torchreid warns at import about its Cython ranks
            warnings.simplefilter("ignore")
            from torchreid.reid.models import build_model
            from torchreid.reid.utils.torchtools import load_pretrained_weights
    except ImportError:
        return None
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = build_model(arch, num_classes=1, pretrained=False)
        load_pretrained_weights(theirs, str(path))
    with torch.inference_mode():
        a = torch.nn.functional.normalize(theirs.eval()(images), dim=1)
        b = torch.nn.functional.normalize(model.eval()(images), dim=1)
    return float((a - b).abs().max())


def export_torchreid(
    checkpoint: str | Path,
    out: str | Path,
    tag: str | None = None,
    tolerance: float = 1e-4,
) -> TorchreidExport:
    """Write a training checkpoint as a torchreid/BoxMOT checkpoint.

    Args:
        checkpoint: a ``footreid train`` checkpoint of an OSNet or OSNet-AIN (neck none).
        out: a folder (the file is named ``<arch>_<tag>.pt`` in it) or a ``.pt`` file
            whose name starts with the architecture (BoxMOT's convention).
        tag: what the model was trained on, for the file name; default from the
            training data folder's name.
        tolerance: largest accepted |torchreid - footreid| of normalised embeddings.

    Raises:
        WeightsError: an architecture torchreid cannot represent (the message says why
            and what to use instead), or a file torchreid computes differently.
        ConfigError: a bad tag or an out file name without the architecture.
    """
    from footreid.models import load_trained

    checkpoint, out = Path(checkpoint), Path(out)
    model, info = load_trained(checkpoint, map_location="cpu")
    arch = check_exportable(model, str(checkpoint))
    model.reset_classifier(0)  # torchreid sizes its classifier by the user's classes
    size = model.spec.input_size  # an ImageSize: the checkpoint reader checked it
    path = (
        out
        if out.suffix in (".pt", ".pth")
        else out / torchreid_file_name(arch, tag or default_tag(info))
    )
    if not path.name.startswith(f"{arch}_"):
        raise ConfigError(
            f"{path.name}: BoxMOT reads the architecture from the file name; name it "
            f"{torchreid_file_name(arch, tag or 'football')}"
        )
    images = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(0))
    buffer = io.BytesIO()  # serialised first: the file is then written by Python, whose
    torch.save(_payload(model, arch, size, checkpoint), buffer)  # disk errors are OSError
    with atomic_path(path, size=buffer.tell()) as tmp:
        tmp.write_bytes(buffer.getvalue())
        diff = torchreid_parity(tmp, arch, model, images)
        if diff is not None and diff > tolerance:
            raise WeightsError(
                f"{path}: torchreid computes embeddings {diff:.1e} away from footreid's "
                f"(> {tolerance:.0e}); not written"
            )
    log.info("wrote %s (%s at %s) for torchreid and BoxMOT", path, arch, size)
    return TorchreidExport(path, arch, size, diff)
