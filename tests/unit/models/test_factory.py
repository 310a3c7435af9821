"""The registry: every model builds, trains one step and embeds; checkpoints round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F
from typer.testing import CliRunner

from footreid.core.errors import ConfigError, RegistryError, WeightsError
from footreid.models import ReidOutput, create_model, list_models, load_trained
from footreid.models.factory import describe_models, model_spec

HEAVY = {"resnet50", "resnet50_fc512", "vit_base_patch14_dinov2", "vit_base_patch16_clip_224"}
NUM_CLASSES = 3


def small_size(name: str) -> tuple[int, int]:
    """A small valid input (H, W): 2x1 patches for ViTs, 64x32 for CNNs."""
    if "patch14" in name or name == "vit_tiny_lora":
        return (28, 14)
    if "patch16" in name:
        return (32, 16)
    return (64, 32)


def build_small(name: str, num_classes: int = NUM_CLASSES, **kw: object) -> torch.nn.Module:
    if name.startswith(("vit_", "omz_")):  # sizes fixed by patches / the pooling kernel
        kw.setdefault("input_size", small_size(name))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return create_model(name, num_classes=num_classes, **kw)


def images(name: str, n: int = 2, seed: int = 0) -> torch.Tensor:
    h, w = small_size(name)
    return torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


PARAMETER_FREE = sorted(name for name in list_models() if model_spec(name).parameter_free)


def model_params(names: list[str]) -> list:
    return [pytest.param(name, marks=pytest.mark.slow) if name in HEAVY else name for name in names]


MODEL_PARAMS = model_params(list_models())
TRAINABLE_PARAMS = model_params([n for n in list_models() if n not in PARAMETER_FREE])


def test_registry_holds_the_issue_families() -> None:
    names = set(list_models())
    for width in ("x1_0", "x0_75", "x0_5", "x0_25"):
        assert {f"osnet_{width}", f"osnet_ain_{width}"} <= names
    assert {
        "resnet50",
        "resnet50_fc512",
        "vit_small_patch14_dinov2",
        "vit_base_patch14_dinov2",
        "vit_base_patch16_clip_224",
        "vit_tiny_lora",
    } <= names


@pytest.mark.parametrize("name", TRAINABLE_PARAMS)
def test_model_builds_trains_one_step_and_embeds(name: str) -> None:
    torch.set_num_threads(1)
    model = build_small(name)
    assert model.model_name == name and model.spec.name == name
    assert model.num_classes == NUM_CLASSES
    x, y = images(name), torch.tensor([0, 2])
    out = model.train()(x)
    assert isinstance(out, ReidOutput)
    assert out.logits is not None and out.logits.shape == (2, NUM_CLASSES)
    assert out.embedding.shape == (2, model.spec.embed_dim)
    trainable = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in trainable]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    loss = F.cross_entropy(out.logits, y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = sum(not torch.equal(a, p.detach()) for a, p in zip(before, trainable, strict=True))
    assert changed > 0.5 * len(trainable)
    with torch.no_grad():
        emb = model.eval()(x)
    assert isinstance(emb, torch.Tensor) and emb.shape == (2, model.spec.embed_dim)
    assert torch.isfinite(emb).all()


@pytest.mark.parametrize("name", MODEL_PARAMS)
def test_spec_is_complete_and_kwargs_rebuild(name: str) -> None:
    model = build_small(name, num_classes=0)
    spec = model.spec
    assert len(spec.input_size) == 2 and all(s > 0 for s in spec.input_size)
    assert len(spec.mean) == 3 and len(spec.std) == 3 and spec.embed_dim > 0
    if spec.parameter_free:
        assert model.param_counts()["total"] == 0 and not list(model.buffers())
    else:
        assert spec.classifier_keys and all(k.endswith(".") for k in spec.classifier_keys)
    if spec.patch_size:
        assert all(s % spec.patch_size == 0 for s in spec.input_size)
    assert model.num_classes == 0
    assert model.train()(images(name)).logits is None
    rebuilt = create_model(model.model_name, num_classes=0, **model.model_kwargs)
    assert rebuilt.state_dict().keys() == model.state_dict().keys()


def test_the_colour_models_are_the_parameter_free_ones() -> None:
    assert PARAMETER_FREE == ["hsv", "lab"]


@pytest.mark.parametrize("name", PARAMETER_FREE)
def test_parameter_free_models_refuse_classes_and_weights(name: str) -> None:
    with pytest.raises(ConfigError, match="no parameters: it cannot be trained"):
        create_model(name, num_classes=3)
    with pytest.raises(ConfigError, match="no parameters: it cannot be trained"):
        create_model(name).reset_classifier(3)
    with pytest.raises(ConfigError, match="pretrained must be 'none', got 'imagenet'"):
        create_model(name, pretrained="imagenet")


def test_model_spec_builds_on_meta_and_ignores_a_weights_tag() -> None:
    spec = model_spec("vit_base_patch16_clip_224.openai", input_size=(32, 16))
    assert spec.input_size == (32, 16) and spec.patch_size == 16 and not spec.parameter_free
    assert model_spec("hsv", parts=2).embed_dim == 2 * 8**3
    with pytest.raises(ConfigError, match="no option.*lora"):
        model_spec("hsv", lora=True)


def test_reset_classifier_changes_only_the_classifier() -> None:
    model = build_small("osnet_x0_25", num_classes=5)
    keys = {k for k in model.state_dict() if not k.startswith("classifier.")}
    model.reset_classifier(7)
    assert model.num_classes == 7 and model.train()(images("osnet_x0_25")).logits.shape == (2, 7)
    model.reset_classifier(0)
    assert model.num_classes == 0 and set(model.state_dict()) == keys


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(RegistryError, match="did you mean.*osnet_ain_x1_0"):
        create_model("osnet_ain_x1_O")


def test_unknown_option_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="no option.*lora.*input_size"):
        create_model("osnet_x0_25", lora=True)


def test_tag_in_name_conflicting_with_pretrained_is_an_error() -> None:
    with pytest.raises(ConfigError, match="selects weights 'openai'"):
        create_model("vit_base_patch16_clip_224.openai", pretrained="laion2b")


def save_checkpoint(model: torch.nn.Module, path: Path, input_size: list[int]) -> None:
    torch.save(
        {
            "model_name": model.model_name,
            "model_kwargs": model.model_kwargs,
            "num_classes": model.num_classes,
            "input_size": input_size,
            "model": model.state_dict(),
            "config": {"train": {"epochs": 1}},
            "epoch": 1,
        },
        path,
    )


@pytest.mark.parametrize("name", ["osnet_x0_25", "vit_tiny_lora", "resnet50_fc512"])
def test_load_trained_round_trip(name: str, tmp_path: Path) -> None:
    model = build_small(name, num_classes=4)
    with torch.no_grad():  # make every tensor (LoRA B included) non-trivial
        for p in model.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())))
    x = images(name)
    model.train()(x)  # moves BN running statistics away from their initial values
    path = tmp_path / "ckpt.pt"
    save_checkpoint(model, path, [56, 28])
    loaded, info = load_trained(path)
    assert not loaded.training
    assert loaded.spec.input_size == (56, 28) and info["input_size"] == [56, 28]
    assert info["model_name"] == name and info["epoch"] == 1 and "model" not in info
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))


def test_load_trained_accepts_ddp_prefixes(tmp_path: Path) -> None:
    model = build_small("osnet_x0_25")
    path = tmp_path / "ckpt.pt"
    save_checkpoint(model, path, [64, 32])
    ckpt = torch.load(path, weights_only=True)
    ckpt["model"] = {f"module.{k}": v for k, v in ckpt["model"].items()}
    torch.save(ckpt, path)
    loaded, _ = load_trained(path)
    assert loaded.num_classes == NUM_CLASSES


def test_load_trained_refuses_incomplete_or_mismatched_checkpoints(tmp_path: Path) -> None:
    model = build_small("osnet_x0_25")
    path = tmp_path / "ckpt.pt"
    torch.save({"model": model.state_dict()}, path)
    with pytest.raises(WeightsError, match="missing model_name"):
        load_trained(path)
    save_checkpoint(model, path, [64, 32])
    ckpt = torch.load(path, weights_only=True)
    del ckpt["model"]["classifier.weight"]  # even the classifier must match a trained model
    torch.save(ckpt, path)
    with pytest.raises(WeightsError, match="1 missing .classifier.weight"):
        load_trained(path)
    with pytest.raises(WeightsError, match="does not exist"):
        load_trained(tmp_path / "absent.pt")


def test_describe_models_and_cli_table() -> None:
    import typer

    from footreid.cli import models_commands

    rows = {row["name"]: row for row in describe_models("osnet")}
    assert rows["osnet_x1_0"]["params"] == 2_169_508 and rows["osnet_x1_0"]["embed_dim"] == 512
    assert all(name.startswith("osnet") for name in rows)
    app = typer.Typer()
    app.callback()(lambda: None)  # a group, so the command keeps its name
    models_commands.register(app)
    result = CliRunner().invoke(app, ["models", "osnet_ain"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "osnet_ain_x0_25" in result.output and "256x128" in result.output
    assert "resnet50" not in result.output
    assert rows["osnet_x1_0"]["parameter_free"] is False
    assert describe_models("hsv")[0]["parameter_free"] is True
    result = CliRunner().invoke(app, ["models", "hsv"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "│ hsv " in result.output and "0.00 M" not in result.output
    assert "128x64" in result.output and "1536" in result.output
