"""ViTs: LoRA placement and trainable set, merging, dynamic input sizes, weight loading."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from timm.models.vision_transformer import VisionTransformer

from footreid.core.errors import ConfigError, MissingDependencyError
from footreid.models import create_model


def tiny(**kw: object) -> torch.nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return create_model("vit_tiny_lora", **kw)


def batch(h: int = 28, w: int = 14, n: int = 2) -> torch.Tensor:
    return torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(1))


def test_lora_on_attention_only_lora_and_head_train() -> None:
    model = tiny(num_classes=4)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    adapted = {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in trainable if "lora_" in n}
    assert adapted == {"qkv", "proj"}
    assert not any("patch_embed" in n for n in trainable)  # patch_embed.proj is no target
    lora_a = dict(model.named_parameters())[
        "backbone.base_model.model.blocks.0.attn.qkv.lora_A.default.weight"
    ]
    assert lora_a.shape == (16, 192)
    counts = model.param_counts()
    assert counts["trainable"] == sum(
        p.numel() for n, p in model.named_parameters() if n in trainable
    )
    assert counts["trainable"] < 0.1 * counts["total"]


def test_lora_on_the_mlp_too_and_full_finetuning() -> None:
    with_mlp = tiny(lora_mlp=True, lora_r=4)
    adapted = {
        n.split(".lora_")[0].rsplit(".", 1)[-1]
        for n, p in with_mlp.named_parameters()
        if p.requires_grad and "lora_" in n
    }
    assert adapted == {"qkv", "proj", "fc1", "fc2"}
    full = tiny(lora=False)
    assert not full.has_lora
    assert full.param_counts()["trainable"] == full.param_counts()["total"] - full.head.embed_dim


def test_merge_lora_keeps_outputs_and_rebuilds_without_lora() -> None:
    model = tiny(num_classes=3)
    with torch.no_grad():  # LoRA B starts at zero: make the adapters do something
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05, generator=torch.Generator().manual_seed(p.numel()))
    x = batch()
    model.eval()
    with torch.no_grad():
        before = model(x)
        model.merge_lora()
        after = model(x)
    assert not model.has_lora and isinstance(model.backbone, VisionTransformer)
    assert not torch.allclose(before, tiny(num_classes=3).eval()(x))  # adapters mattered
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)
    assert model.model_kwargs["lora"] is False
    rebuilt = create_model("vit_tiny_lora", num_classes=3, **model.model_kwargs)
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    with pytest.raises(ConfigError, match="no LoRA adapters"):
        model.merge_lora()


def test_any_multiple_of_the_patch_size_works() -> None:
    model = tiny().eval()
    with torch.no_grad():
        for h, w in ((28, 14), (112, 56), (140, 84)):
            assert model(batch(h, w)).shape == (2, 192)
    with pytest.raises(ConfigError, match="multiple of its patch size 14"):
        model(batch(30, 14))
    with pytest.raises(ConfigError, match="multiples of the patch size 14"):
        create_model("vit_small_patch14_dinov2", input_size=(256, 128))


def test_pretrained_file_with_another_grid_is_resampled(tmp_path: Path) -> None:
    """A checkpoint trained at 224x224 loads into a 112x56 model (pos-embed resampled)."""
    source = VisionTransformer(
        img_size=224, patch_size=14, embed_dim=192, depth=4, num_heads=3, num_classes=1000
    )
    path = tmp_path / "vit_tiny_224.pth"
    torch.save(source.state_dict(), path)
    model = tiny(num_classes=2, pretrained=str(path), lora=False)
    assert model.backbone.pos_embed.shape == (1, 1 + 8 * 4, 192)
    assert torch.equal(model.backbone.blocks[3].attn.qkv.weight, source.blocks[3].attn.qkv.weight)
    assert torch.equal(model.backbone.cls_token, source.cls_token)
    lora_model = tiny(pretrained=str(path))  # weights load before the adapters are added
    base = lora_model.backbone.base_model.model.blocks[0].attn.qkv.base_layer.weight
    assert torch.equal(base, source.blocks[0].attn.qkv.weight)


def test_clip_quick_gelu_must_match_the_weights() -> None:
    """laion2b weights were trained with GELU; timm publishes them for the GELU variant only."""
    with pytest.raises(ConfigError, match="quick_gelu=False"):
        create_model("vit_base_patch16_clip_224", pretrained="laion2b")


def test_clip_and_dinov2_declare_their_normalisation() -> None:
    with torch.device("meta"):
        clip = create_model("vit_base_patch16_clip_224")
        dino = create_model("vit_small_patch14_dinov2")
    assert clip.spec.mean[0] == pytest.approx(0.4815, abs=1e-4) and clip.spec.patch_size == 16
    assert dino.spec.mean == (0.485, 0.456, 0.406) and dino.spec.patch_size == 14
    assert clip.spec.embed_dim == 768 and dino.spec.embed_dim == 384


def test_missing_peft_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "peft", None)
    with pytest.raises(MissingDependencyError, match=r"footreid\[lora\]"):
        tiny()


def test_importing_models_does_not_load_peft() -> None:
    code = "import sys, footreid.models; print('peft' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
