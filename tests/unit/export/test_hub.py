"""Hub names: offline fails fast and clearly; the cache, the download and the push wiring."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from cli_main import run_main
from tiny_checkpoint import write_tiny_checkpoint

import footreid
from footreid.core.errors import DownloadError, WeightsError
from footreid.export import export_model_folder, is_hub_name, push_model_folder
from footreid.export import hub as hub_module

pytest.importorskip("huggingface_hub", reason="hub names need the 'hub' extra")


@pytest.fixture()
def offline(no_network: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network (every connection refused) and an empty hub cache."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hub")
    return export_model_folder(write_tiny_checkpoint(root / "best.pt"), root / "model").path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("footreid/osnet-snmot", True),
        ("org/name.v2", True),
        ("osnet_x0_25", False),
        ("runs/best.pt", False),
        ("a/b/c", False),
        ("/abs/path", False),
        ("model.onnx", False),
    ],
)
def test_hub_names_are_told_from_paths_and_registry_names(text: str, expected: bool) -> None:
    assert is_hub_name(text) is expected


def test_load_of_a_hub_name_offline_is_fast_and_clear(offline) -> None:
    start = time.perf_counter()
    with pytest.raises(
        DownloadError, match=r"cannot reach huggingface\.co:443.*footreid\.load\(DIR\)"
    ):
        footreid.load("footreid/osnet-snmot")
    assert time.perf_counter() - start < 10


def test_hf_hub_offline_reads_the_cache_only(offline, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE is set and footreid/x is not"):
        footreid.load("footreid/x")


def test_a_cached_model_loads_without_the_network(offline, folder, monkeypatch) -> None:
    import huggingface_hub

    calls = []

    def cached(**kwargs):
        calls.append(kwargs)
        return str(folder)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", cached)
    enc = footreid.load("footreid/osnet-snmot", device="cpu", precision="fp32")
    crop = np.zeros((50, 20, 3), dtype=np.uint8)
    assert enc.embed(crop).shape == (1, 512)
    assert (
        calls[0]["local_files_only"] is True and "model.safetensors" in calls[0]["allow_patterns"]
    )


def test_a_hub_repository_that_is_not_a_model_folder_is_refused(tmp_path, monkeypatch) -> None:
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda **kw: str(tmp_path))
    with pytest.raises(WeightsError, match="not a footreid model folder"):
        footreid.load("someone/not-footreid")


def test_push_offline_is_fast_and_clear(offline, folder) -> None:
    start = time.perf_counter()
    with pytest.raises(DownloadError, match="cannot reach huggingface.co:443 .* to push"):
        push_model_folder(folder, "footreid/osnet-snmot")
    assert time.perf_counter() - start < 10


def test_push_uploads_the_three_files(folder, monkeypatch) -> None:
    import huggingface_hub

    seen: dict = {}

    class FakeApi:
        def __init__(self, token=None) -> None:
            seen["token"] = token

        def create_repo(self, repo_id, **kwargs) -> None:
            seen["repo"] = (repo_id, kwargs)

        def upload_folder(self, **kwargs):
            seen["upload"] = kwargs
            return SimpleNamespace(commit_url="https://hub/commit/1")

    monkeypatch.setattr(hub_module, "check_hub_reachable", lambda what: None)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    url = push_model_folder(folder, "org/model", private=True)
    assert url == "https://hub/commit/1"
    assert seen["repo"] == ("org/model", {"private": True, "exist_ok": True, "repo_type": "model"})
    assert seen["upload"]["folder_path"] == str(folder)
    assert sorted(seen["upload"]["allow_patterns"]) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]


def test_push_refuses_incomplete_folders_and_bad_names(folder, tmp_path) -> None:
    with pytest.raises(WeightsError, match="not a footreid model folder"):
        push_model_folder(tmp_path, "org/model")
    with pytest.raises(WeightsError, match="ORG/NAME"):
        push_model_folder(folder, "no-slash")


def test_cli_push_offline_exits_1_with_one_line(offline, folder, monkeypatch, capsys) -> None:
    start = time.perf_counter()
    code = run_main(monkeypatch, ["push-model", str(folder), "org/model"])
    assert code == 1 and time.perf_counter() - start < 10
    err = capsys.readouterr().err
    assert "cannot reach huggingface.co" in err and "Traceback" not in err
