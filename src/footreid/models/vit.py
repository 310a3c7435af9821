"""Vision transformers for ReID: DINOv2 (ViT-S/14, ViT-B/14), CLIP ViT-B/16, a tiny ViT.

Backbones are timm's ``VisionTransformer`` built with ``dynamic_img_size`` so any input
whose sides are multiples of the patch size works (position embeddings are resampled
from the pretrained grid on loading and interpolated on the fly for other sizes). The
CLS token goes through a BNNeck head. LoRA (Hu et al., ICLR 2022) via peft on the
attention projections (``qkv`` and ``proj``, optionally the MLP): with LoRA only the
adapters and the head train; :meth:`ViTReid.merge_lora` folds them into the base
weights for inference. DINOv2: Oquab et al. 2023; CLIP: Radford et al. 2021 (the
backbone of the 2023 SoccerNet ReID challenge winner, see ``docs/protocol.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import timm
import torch
from timm.layers import resample_abs_pos_embed
from timm.models import get_pretrained_cfg
from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn
from torch import nn

from footreid.core.errors import ConfigError, MissingDependencyError
from footreid.core.log import get_logger
from footreid.core.size import ImageSize
from footreid.models.factory import register_model
from footreid.models.heads import BNNeckHead, make_classifier
from footreid.models.options import ModelOptions
from footreid.models.spec import (
    CLIP_MEAN,
    CLIP_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    ModelSpec,
    ReidModel,
    ReidOutput,
)
from footreid.models.state_dict import load_state_dict_strict, read_state_dict
from footreid.models.weights import (
    DEFAULT_ALIASES,
    NONE,
    WeightSource,
    is_file_reference,
    resolve_weights,
)

log = get_logger(__name__)

LORA_ATTENTION = r".*blocks\.\d+\.attn\.(qkv|proj)"
LORA_ATTENTION_MLP = r".*blocks\.\d+\.(attn\.(qkv|proj)|mlp\.(fc1|fc2))"
CLIP_QUICKGELU = "vit_base_patch16_clip_quickgelu_224"
SOURCE_HEAD_KEYS = ("head.",)
"""timm checkpoints' classifier/projection head, dropped on loading (num_classes=0)."""


def timm_weight_sources(arch: str) -> dict[str, WeightSource]:
    """Published timm weights of ``arch`` by tag (hub files, cached under their hub id)."""
    sources = {}
    for full in timm.list_pretrained(f"{arch}.*"):
        cfg = get_pretrained_cfg(full)
        if cfg is None or not cfg.hf_hub_id:
            continue
        tag = full.split(".", 1)[1]
        filename = cfg.hf_hub_filename or "model.safetensors"
        sources[tag] = WeightSource(
            tag=tag,
            cache_name=f"{cfg.hf_hub_id}/{filename}",
            hf_hub_id=cfg.hf_hub_id,
            hf_filename=filename,
            description=f"timm {full}",
        )
    return sources


class ViTReid(ReidModel):
    """timm ViT trunk, CLS token, BNNeck head; optional LoRA adapters.

    Args:
        name: registered name, for the spec.
        backbone: a timm VisionTransformer built with ``num_classes=0`` and
            ``dynamic_img_size=True`` (its forward returns the (N, C) CLS token).
        num_classes: identity classes (0: no classifier).
        input_size: (H, W), multiples of the patch size.
        mean, std: input normalisation of the pretrained weights.
        fc_dim: > 0 adds a Linear(C, fc_dim) before the BNNeck.

    State-dict keys: ``backbone.*`` (timm names; ``backbone.base_model.model.*`` with
    LoRA) and ``head.*``.
    """

    classifier_path = "head.classifier"

    def __init__(
        self,
        name: str,
        backbone: VisionTransformer,
        num_classes: int,
        input_size: tuple[int, int],
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        fc_dim: int = 0,
    ) -> None:
        super().__init__()
        self.backbone: nn.Module = backbone
        self.head = BNNeckHead(backbone.num_features, num_classes, fc_dim)
        patch = backbone.patch_embed.patch_size[0]
        self.spec = ModelSpec(
            name=name,
            input_size=tuple(input_size),
            mean=mean,
            std=std,
            embed_dim=self.head.embed_dim,
            classifier_keys=("head.classifier.",),
            patch_size=patch,
        )

    def _make_classifier(self, num_classes: int) -> nn.Linear | None:
        return make_classifier(self.head.embed_dim, num_classes)

    @property
    def has_lora(self) -> bool:
        """True while LoRA adapters are attached (not merged)."""
        return hasattr(self.backbone, "merge_and_unload")

    def add_lora(
        self, r: int = 16, alpha: int = 16, dropout: float = 0.1, mlp: bool = False
    ) -> None:
        """Attach LoRA adapters to every block's ``attn.qkv``/``attn.proj`` (and MLP).

        Freezes the backbone: afterwards only the adapters and the head are trainable.
        """
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as exc:
            raise MissingDependencyError("peft", "lora") from exc
        config = LoraConfig(
            r=r,
            lora_alpha=alpha,
            lora_dropout=dropout,
            target_modules=LORA_ATTENTION_MLP if mlp else LORA_ATTENTION,
            bias="none",
        )
        self.backbone = get_peft_model(self.backbone, config)

    def merge_lora(self) -> ReidModel:
        """Fold the LoRA adapters into the base weights (same outputs, plain timm ViT).

        Updates ``model_kwargs`` so the merged model rebuilds without LoRA.
        """
        if not self.has_lora:
            raise ConfigError(f"model '{self.spec.name}' has no LoRA adapters to merge")
        self.backbone = self.backbone.merge_and_unload()
        self.model_kwargs = {**self.model_kwargs, "lora": False}
        return self

    def fix_input_size(self, input_size: tuple[int, int]) -> None:
        """Resample the position embeddings to ``input_size``'s patch grid once, in place.

        Inference at that size then skips timm's per-call bicubic resampling (which the
        ONNX exporter cannot express); other sizes still work, resampled from the new grid.
        """
        patch = int(self.spec.patch_size or 1)
        size = ImageSize.parse(input_size, f"input_size of '{self.spec.name}'", multiple_of=patch)
        vit = self.backbone.get_base_model() if self.has_lora else self.backbone
        grid = (size[0] // patch, size[1] // patch)
        old = tuple(int(g) for g in vit.patch_embed.grid_size)
        if old == grid:
            return
        prefix = 0 if vit.no_embed_class else vit.num_prefix_tokens
        with torch.no_grad():
            pos = resample_abs_pos_embed(vit.pos_embed, grid, old, num_prefix_tokens=prefix)
        vit.pos_embed = nn.Parameter(pos, requires_grad=vit.pos_embed.requires_grad)
        vit.patch_embed.img_size, vit.patch_embed.grid_size = size, grid
        vit.patch_embed.num_patches = grid[0] * grid[1]

    def forward(self, x: torch.Tensor) -> ReidOutput | torch.Tensor:
        """(N, 3, H, W) -> ReidOutput (train) or (N, D) post-BNNeck embedding (eval)."""
        patch = self.spec.patch_size or 1
        if x.shape[-2] % patch or x.shape[-1] % patch:
            size = ImageSize(int(x.shape[-2]), int(x.shape[-1]))
            raise ConfigError(
                f"input {size} of '{self.spec.name}' must be a multiple of its patch size "
                f"{patch} (e.g. {size.rounded_to(patch)})"
            )
        return self.head(self.backbone(x))


@dataclass(frozen=True)
class ViTOptions(ModelOptions):
    """Options of the ViT families (DINOv2 defaults: 252x126, patch 14).

    Attributes:
        input_size: (H, W), multiples of the patch size; the position grid is built for it.
        lora: attach LoRA adapters (the backbone is then frozen).
        lora_r, lora_alpha, lora_dropout: the adapters' rank, scale and dropout.
        lora_mlp: adapters on the MLP too, not only on attention.
        fc_dim: > 0 adds a Linear(C, fc_dim) before the BNNeck.
        drop_path_rate: stochastic depth of the blocks.
    """

    PATCH = 14

    input_size: ImageSize = ImageSize(252, 126)
    lora: bool = True
    lora_r: int = 16
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_mlp: bool = False
    fc_dim: int = 0
    drop_path_rate: float = 0.0


@dataclass(frozen=True)
class ClipOptions(ViTOptions):
    """CLIP ViT-B/16 options: 256x128, patch 16, and ``quick_gelu``.

    ``quick_gelu``: OpenAI's CLIP was trained with QuickGELU (timm's ``_quickgelu``
    variant); set False for weights trained with GELU (laion2b, datacompxl, ...).
    """

    PATCH = 16

    input_size: ImageSize = ImageSize(256, 128)
    quick_gelu: bool = True


@dataclass(frozen=True)
class TinyViTOptions(ViTOptions):
    """The tiny CPU ViT's options: 112x56, patch 14."""

    input_size: ImageSize = ImageSize(112, 56)


def _build(
    name: str,
    arch: str,
    backbone: VisionTransformer,
    num_classes: int,
    pretrained: str,
    norm: tuple[tuple[float, float, float], tuple[float, float, float]],
    opts: ViTOptions,
    default_tag: str | None,
) -> ViTReid:
    """Load pretrained weights into ``backbone`` (before LoRA), wrap it, add LoRA."""
    if pretrained != NONE:
        sources = timm_weight_sources(arch) if default_tag else {}
        path = resolve_weights(name, pretrained, sources, default_tag)
        state = checkpoint_filter_fn(read_state_dict(path), backbone)
        load_state_dict_strict(backbone, state, SOURCE_HEAD_KEYS, str(path))
    model = ViTReid(name, backbone, num_classes, opts.input_size, *norm, fc_dim=opts.fc_dim)
    if opts.lora:
        model.add_lora(opts.lora_r, opts.lora_alpha, opts.lora_dropout, opts.lora_mlp)
    counts = model.param_counts()
    log.debug("%s: %d trainable of %d parameters", name, counts["trainable"], counts["total"])
    return model


def _timm_vit(arch: str, opts: ViTOptions) -> VisionTransformer:
    return timm.create_model(
        arch,
        pretrained=False,
        num_classes=0,
        img_size=tuple(opts.input_size),
        dynamic_img_size=True,
        drop_path_rate=opts.drop_path_rate,
    )


def _dinov2(name: str, num_classes: int, pretrained: str, opts: ViTOptions) -> ViTReid:
    backbone = _timm_vit(name, opts)
    norm = (IMAGENET_MEAN, IMAGENET_STD)
    return _build(name, name, backbone, num_classes, pretrained, norm, opts, "lvd142m")


@register_model("vit_small_patch14_dinov2", ViTOptions)
def vit_small_patch14_dinov2(num_classes: int, pretrained: str, options: ViTOptions) -> ViTReid:
    """DINOv2 ViT-S/14, CLS + BNNeck; LoRA r=16 on attention by default."""
    return _dinov2("vit_small_patch14_dinov2", num_classes, pretrained, options)


@register_model("vit_base_patch14_dinov2", ViTOptions)
def vit_base_patch14_dinov2(num_classes: int, pretrained: str, options: ViTOptions) -> ViTReid:
    """DINOv2 ViT-B/14, CLS + BNNeck; LoRA r=16 on attention by default."""
    return _dinov2("vit_base_patch14_dinov2", num_classes, pretrained, options)


@register_model("vit_base_patch16_clip_224", ClipOptions)
def vit_base_patch16_clip_224(num_classes: int, pretrained: str, options: ClipOptions) -> ViTReid:
    """CLIP ViT-B/16 image tower, CLS + BNNeck; LoRA r=16 by default; weights openai."""
    name, quick = "vit_base_patch16_clip_224", options.quick_gelu
    arch, other = (CLIP_QUICKGELU, name) if quick else (name, CLIP_QUICKGELU)
    tag = "openai" if pretrained in (NONE, *DEFAULT_ALIASES) else pretrained
    published, elsewhere = timm_weight_sources(arch), timm_weight_sources(other)
    if not is_file_reference(tag) and tag not in published and tag in elsewhere:
        raise ConfigError(
            f"weights '{tag}' of {name} were trained with quick_gelu={not quick}; "
            f"pass quick_gelu={not quick}"
        )
    backbone = _timm_vit(arch, options)
    norm = (CLIP_MEAN, CLIP_STD)
    return _build(name, arch, backbone, num_classes, pretrained, norm, options, "openai")


@register_model("vit_tiny_lora", TinyViTOptions)
def vit_tiny_lora(num_classes: int, pretrained: str, options: TinyViTOptions) -> ViTReid:
    """A tiny DINOv2-style ViT (patch 14, width 192, depth 4; 2.0 M) for CPU runs.

    No published weights: ``pretrained`` must be ``none`` or a file of this architecture.
    """
    backbone = VisionTransformer(
        img_size=tuple(options.input_size),
        patch_size=14,
        embed_dim=192,
        depth=4,
        num_heads=3,
        num_classes=0,
        dynamic_img_size=True,
        drop_path_rate=options.drop_path_rate,
    )
    norm = (IMAGENET_MEAN, IMAGENET_STD)
    return _build(
        "vit_tiny_lora", "vit_tiny_lora", backbone, num_classes, pretrained, norm, options, None
    )
