"""Weight resolution: path -> cache -> download -> clear error."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from footreid.core.errors import WeightsError
from footreid.models import create_model
from footreid.models import weights as W
from footreid.models.osnet import weight_sources

SOURCES = weight_sources("osnet_x0_25")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty $FOOTREID_HOME, online unless a test says otherwise."""
    monkeypatch.setenv("FOOTREID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FOOTREID_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path / "home"


def no_network(*args: object) -> Path:
    raise AssertionError("the network must not be used here")


def osnet_state(seed: int = 1) -> dict[str, torch.Tensor]:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return create_model("osnet_x0_25", num_classes=10).state_dict()


def test_explicit_path_wins(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(W, "_download", no_network)
    path = tmp_path / "mine.pth"
    path.write_bytes(b"x")
    assert W.resolve_weights("osnet_x0_25", str(path), SOURCES, "imagenet") == path
    with pytest.raises(WeightsError, match="does not exist"):
        W.resolve_weights("osnet_x0_25", str(tmp_path / "absent.pth"), SOURCES, "imagenet")


def test_cache_is_used_before_the_network(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(W, "_download", no_network)
    cached = home / "weights" / "osnet_x0_25_imagenet.pth"
    cached.parent.mkdir(parents=True)
    torch.save(osnet_state(seed=3), cached)
    for tag in ("imagenet", "default"):
        assert W.resolve_weights("osnet_x0_25", tag, SOURCES, "imagenet") == cached
    model = create_model("osnet_x0_25", pretrained="imagenet")  # strict load, classifier dropped
    assert torch.equal(model.conv1.conv.weight, osnet_state(seed=3)["conv1.conv.weight"])
    assert model.classifier is None


def test_download_goes_to_the_cache(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_download(source: W.WeightSource, dest: Path, timeout: float) -> Path:
        calls.append((source.url, dest, timeout))
        dest.parent.mkdir(parents=True, exist_ok=True)
        torch.save(osnet_state(), dest)
        return dest

    monkeypatch.setattr(W, "_download", fake_download)
    path = W.resolve_weights("osnet_x0_25", "imagenet", SOURCES, "imagenet")
    assert path == home / "weights" / "osnet_x0_25_imagenet.pth" and path.is_file()
    assert calls[0][0].startswith("https://drive.google.com/") and calls[0][2] > 0
    W.resolve_weights("osnet_x0_25", "imagenet", SOURCES, "imagenet")
    assert len(calls) == 1  # second time from the cache


def test_html_instead_of_weights_is_refused(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_download(source: W.WeightSource, dest: Path, timeout: float) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"<!DOCTYPE html><html>quota exceeded</html>")
        return dest

    monkeypatch.setattr(W, "_download", fake_download)
    with pytest.raises(WeightsError, match="HTML page"):
        W.resolve_weights("osnet_x0_25", "imagenet", SOURCES, "imagenet")
    assert not (home / "weights" / "osnet_x0_25_imagenet.pth").exists()


def test_failed_download_says_where_to_put_the_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: object) -> Path:
        raise OSError("Could not resolve host: drive.google.com")

    monkeypatch.setattr(W, "_download", failing)
    with pytest.raises(WeightsError) as err:
        create_model("osnet_x0_25", pretrained="imagenet")
    message = str(err.value)
    assert str(home / "weights" / "osnet_x0_25_imagenet.pth") in message
    assert "Could not resolve host" in message and "--pretrained none" in message


@pytest.mark.parametrize("flag", ["FOOTREID_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_mode_never_touches_the_network(
    flag: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(W, "_download", no_network)
    monkeypatch.setenv(flag, "1")
    with pytest.raises(WeightsError, match="offline mode.*place the file at"):
        create_model("vit_small_patch14_dinov2", pretrained="default", input_size=(28, 14))


@pytest.mark.parametrize(
    ("name", "pretrained"),
    [
        ("osnet_x0_25", "imagenet"),
        ("vit_small_patch14_dinov2", "lvd142m"),
        ("resnet50", "imagenet"),
    ],
)
def test_real_download_attempt_fails_fast_and_clearly(
    name: str, pretrained: str, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No mock: on a machine without internet the real attempt must end quickly."""
    monkeypatch.setenv("FOOTREID_DOWNLOAD_TIMEOUT", "5")
    start = time.monotonic()
    try:
        model = create_model(
            name, pretrained=pretrained, input_size=(28, 14) if "vit" in name else (64, 32)
        )
    except WeightsError as exc:
        assert "could not be downloaded" in str(exc) and str(home) in str(exc)
    else:  # a connected machine: the weights really loaded
        assert model.model_name == name
    assert time.monotonic() - start < 25


def test_unknown_tag_and_model_without_weights(home: Path) -> None:
    with pytest.raises(WeightsError, match="unknown pretrained tag 'msmt17'.*imagenet"):
        create_model("osnet_x0_25", pretrained="msmt17")
    with pytest.raises(WeightsError, match="no published pretrained weights"):
        create_model("vit_tiny_lora", pretrained="imagenet")


def test_is_file_reference() -> None:
    assert W.is_file_reference("weights/osnet.pth") and W.is_file_reference("x.safetensors")
    assert not W.is_file_reference("imagenet") and not W.is_file_reference("lvd142m")
