"""OSNet / OSNet-AIN: SPEC.md section 6 sizes, torchreid keys, real checkpoints, parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from footreid.core.errors import ConfigError, WeightsError
from footreid.models import create_model
from footreid.models.osnet import AIN_IN_BLOCKS, WIDTHS

CHECKPOINTS = {  # file in ../shared/weights -> (architecture, classes of its classifier)
    "osnet_ain_x0_25_imagenet.pyth": ("osnet_ain_x0_25", 1000),
    "osnet_x0_25_msmt17.pth": ("osnet_x0_25", 1041),
    "osnet_x0_25_market1501.pth": ("osnet_x0_25", 751),
}


def torchreid_model(name: str, num_classes: int) -> nn.Module:
    build_model = pytest.importorskip("torchreid.reid.models").build_model
    return build_model(name, num_classes=num_classes, pretrained=False)


def batch(n: int = 3, size: tuple[int, int] = (256, 128)) -> torch.Tensor:
    return torch.randn(n, 3, *size, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(("width", "params"), [("x1_0", 2_169_508), ("x0_25", 201_864)])
@pytest.mark.parametrize("family", ["osnet", "osnet_ain"])
def test_parameter_counts_match_spec(family: str, width: str, params: int) -> None:
    with torch.device("meta"):
        model = create_model(f"{family}_{width}")
    assert model.param_counts()["total"] == params


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("family", ["osnet", "osnet_ain"])
def test_state_dict_keys_and_shapes_are_torchreids(family: str, width: str) -> None:
    name = f"{family}_{width}"
    ours = create_model(name, num_classes=10).state_dict()
    theirs = torchreid_model(name, 10).state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)


def test_ain_places_instance_norm_as_the_spec_says() -> None:
    model = create_model("osnet_ain_x0_25")
    with_in = sorted(n.rsplit(".", 1)[0] for n, m in model.named_modules() if n.endswith(".IN"))
    assert with_in == sorted(AIN_IN_BLOCKS)
    assert isinstance(model.conv1.bn, nn.InstanceNorm2d)
    assert "conv2.0.conv3.bn.weight" not in model.state_dict()  # IN-in: expand has no BN
    plain = create_model("osnet_x0_25")
    assert not any(isinstance(m, nn.InstanceNorm2d) for m in plain.modules())


@pytest.mark.shared
@pytest.mark.parametrize("filename", list(CHECKPOINTS))
def test_official_checkpoints_load_strictly(shared_weights: Path, filename: str) -> None:
    name, classes = CHECKPOINTS[filename]
    path = shared_weights / filename
    state = torch.load(path, map_location="cpu", weights_only=True)
    full = create_model(name, num_classes=classes, pretrained=str(path))
    loaded = full.state_dict()
    assert loaded.keys() == state.keys()  # every key, the classifier included
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    without = create_model(name, pretrained=str(path))  # classifier dropped
    assert without.num_classes == 0 and torch.equal(without.fc[0].weight, state["fc.0.weight"])
    other = create_model(name, num_classes=7, pretrained=str(path))  # classifier replaced
    assert other.classifier.weight.shape == (7, 512)


@pytest.mark.shared
def test_training_checkpoint_wrapper_and_module_prefix(
    shared_weights: Path, tmp_path: Path
) -> None:
    state = torch.load(shared_weights / "osnet_x0_25_msmt17.pth", weights_only=True)
    wrapped = tmp_path / "model.pth.tar-60"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 60}, wrapped)
    model = create_model("osnet_x0_25", pretrained=str(wrapped))
    assert torch.equal(model.conv5.conv.weight, state["conv5.conv.weight"])


@pytest.mark.shared
def test_wrong_architecture_is_refused(shared_weights: Path) -> None:
    path = shared_weights / "osnet_x0_25_msmt17.pth"
    with pytest.raises(WeightsError, match="missing.*unexpected.*Only keys under"):
        create_model("osnet_ain_x0_25", pretrained=str(path))
    with pytest.raises(WeightsError, match="of another shape"):
        create_model("osnet_x0_5", pretrained=str(path))


@pytest.mark.shared
@pytest.mark.parametrize("filename", list(CHECKPOINTS))
def test_outputs_equal_torchreids_on_the_same_weights(shared_weights: Path, filename: str) -> None:
    torch.set_num_threads(1)
    name, classes = CHECKPOINTS[filename]
    path = shared_weights / filename
    ours = create_model(name, num_classes=classes, pretrained=str(path))
    theirs = torchreid_model(name, classes)
    theirs.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    x = batch()
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), theirs.eval()(x), rtol=1e-5, atol=1e-5)
        logits = ours.train()(x).logits  # train mode: batch statistics, classifier
        torch.testing.assert_close(logits, theirs.train()(x), rtol=1e-5, atol=1e-5)


def read_valid(mot20_root: Path) -> tuple[list[Path], list[Path], object]:
    """Query/gallery files and their EvalSplit, parsed from the SoccerNet filename grammar."""
    from footreid.evaluate.distances import EvalSplit

    def role(name: str) -> tuple[list[Path], list[list[str]]]:
        files = sorted(
            (mot20_root / "reid" / "valid" / name).rglob("*.png"),
            key=lambda p: int(p.name.split("-")[0]),
        )
        return files, [p.stem.split("-") for p in files]

    (qf, q), (gf, g) = role("query"), role("gallery")
    column = lambda rows, i, t: np.array([t(r[i]) for r in rows])  # noqa: E731
    split = EvalSplit(
        column(q, 0, int),
        column(q, 1, int),
        column(q, 2, str),
        column(g, 0, int),
        column(g, 1, int),
        column(g, 2, str),
    )
    return qf, gf, split


def embed(model: nn.Module, files: list[Path]) -> np.ndarray:
    """256x128 bilinear resize, ImageNet normalisation, (N, 512) features."""
    from PIL import Image

    mean = torch.tensor(model.spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.spec.std).view(1, 3, 1, 1)
    h, w = model.spec.input_size
    out = []
    for start in range(0, len(files), 128):
        arrays = [
            np.asarray(Image.open(p).convert("RGB").resize((w, h), Image.BILINEAR))
            for p in files[start : start + 128]
        ]
        x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255.0
        with torch.no_grad():
            out.append(model.eval()((x - mean) / std).numpy())
    return np.concatenate(out)


@pytest.mark.slow
@pytest.mark.shared
def test_msmt17_weights_beat_random_init_on_real_crops(
    shared_weights: Path, mot20_root: Path
) -> None:
    """Real pedestrian crops: a ReID-trained OSNet must rank far better than random weights.

    Measured here: MSMT17 mAP 0.857 / rank-1 0.847, random init 0.428 / 0.381 (118 queries).
    """
    from footreid.evaluate.distances import action_distances
    from footreid.evaluate.metrics import evaluate_distances

    torch.set_num_threads(1)
    query, gallery, split = read_valid(mot20_root)
    scores = {}
    for label, pretrained in (
        ("msmt17", str(shared_weights / "osnet_x0_25_msmt17.pth")),
        ("random", "none"),
    ):
        with torch.random.fork_rng():
            torch.manual_seed(0)
            model = create_model("osnet_x0_25", pretrained=pretrained)
        dist = action_distances(embed(model, query), embed(model, gallery), split, "cosine")
        scores[label] = evaluate_distances(dist).mAP
    assert scores["msmt17"] > 0.75 and scores["msmt17"] > scores["random"] + 0.25, scores


@pytest.mark.parametrize("name", ["osnet_x1_0", "osnet_ain_x1_0", "osnet_x0_75", "osnet_ain_x0_5"])
def test_every_width_matches_torchreid_on_its_random_weights(name: str) -> None:
    torch.set_num_threads(1)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        theirs = torchreid_model(name, 5).eval()
    ours = create_model(name, num_classes=5)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = batch(2, (128, 64))
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_bnneck_neck_normalises_the_inference_vector_and_feeds_the_classifier() -> None:
    model = create_model("osnet_x0_25", num_classes=5, neck="bnneck")
    assert model.bnneck is not None and not model.bnneck.bias.requires_grad
    assert model.classifier.bias is None  # BoT: no bias after the BNNeck
    out = model.train()(batch(4, (64, 32)))
    assert torch.allclose(out.embedding, model.bnneck(out.feature))
    assert torch.allclose(out.logits, model.classifier(out.embedding))
    model.eval()
    x = batch(2, (64, 32))
    pooled = torch.nn.functional.adaptive_avg_pool2d(model.forward_features(x), 1)
    v = model.fc(torch.flatten(pooled, 1))
    assert torch.allclose(model(x), model.bnneck(v))
    assert create_model("osnet_x0_25").bnneck is None
    with pytest.raises(ConfigError, match="neck"):
        create_model("osnet_x0_25", neck="bn")


@pytest.mark.shared
def test_torchreid_checkpoint_loads_under_a_bnneck(shared_weights: Path) -> None:
    """The BNNeck is new: only its keys (and the classifier) may be absent from the file."""
    path = shared_weights / "osnet_x0_25_msmt17.pth"
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = create_model("osnet_x0_25", num_classes=3, pretrained=str(path), neck="bnneck")
    assert torch.equal(model.state_dict()["conv5.conv.weight"], state["conv5.conv.weight"])
    assert torch.equal(model.bnneck.weight, torch.ones(512))
    assert model.model_kwargs["neck"] == "bnneck"
