"""Download + unpack: zip checks, atomic unpacking, fast and clear offline failure."""

from __future__ import annotations

import socket
import sys
import time
import types
import zipfile
from pathlib import Path

import pytest

from footreid.core.errors import ConfigError, DownloadError, MissingDependencyError
from footreid.data import download as dl

MEMBER = "valid/query/champ/2020-2021/game/0/0-0-1-0-Main_referee-7-u-8x4.png"


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def good_zip(folder: Path, split: str = "valid") -> Path:
    members = {
        f"{split}/": b"",
        MEMBER.replace("valid/", f"{split}/"): b"\x89PNG\r\n\x1a\n fake pixels",
        f"{split}/bbox_info.json": b"{}",
    }
    return make_zip(folder / f"{split}.zip", members)


def no_network(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    calls: list[tuple] = []

    def refuse(address: tuple, timeout: float | None = None) -> None:
        calls.append((address, timeout))
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(dl.socket, "create_connection", refuse)
    return calls


def test_extract_zip_unpacks_atomically(tmp_path: Path) -> None:
    zip_path = good_zip(tmp_path)
    assert dl.verify_zip(zip_path, "valid") == 3
    target = dl.extract_zip(zip_path, "valid")
    assert target == tmp_path / "valid"
    assert (tmp_path / MEMBER).read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valid", "valid.zip"]  # no temp left
    with pytest.raises(DownloadError, match="already exists"):
        dl.extract_zip(zip_path, "valid")


@pytest.mark.parametrize(
    ("member", "problem"),
    [
        ("../evil.png", "'..' component"),
        ("valid/../../evil.png", "'..' component"),
        ("/etc/evil.png", "absolute or non-POSIX"),
        ("valid\\..\\evil.png", "absolute or non-POSIX"),
        ("train/0-0-8x4.png", "outside the expected top-level folder 'valid/'"),
        ("stray.png", "outside the expected top-level folder"),
    ],
)
def test_unsafe_or_unexpected_members_are_refused(
    tmp_path: Path, member: str, problem: str
) -> None:
    zip_path = make_zip(tmp_path / "valid.zip", {MEMBER: b"x", member: b"evil"})
    with pytest.raises(DownloadError, match=problem) as info:
        dl.extract_zip(zip_path, "valid")
    assert member in str(info.value) and str(zip_path) in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["valid.zip"]


def test_symlink_member_is_refused(tmp_path: Path) -> None:
    zip_path = tmp_path / "valid.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        link = zipfile.ZipInfo("valid/link.png")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(DownloadError, match="symbolic link"):
        dl.verify_zip(zip_path, "valid")


def test_corrupt_zips_are_refused(tmp_path: Path) -> None:
    not_zip = tmp_path / "a" / "valid.zip"
    not_zip.parent.mkdir()
    not_zip.write_bytes(b"PK\x03\x04 truncated download")
    with pytest.raises(DownloadError, match="not a zip file"):
        dl.extract_zip(not_zip, "valid")
    data = bytearray(good_zip(tmp_path / "b").read_bytes())
    offset = data.index(b"fake pixels")
    data[offset : offset + 4] = b"FAKE"  # stored member: same size, wrong CRC
    bad_crc = tmp_path / "b" / "valid.zip"
    bad_crc.write_bytes(bytes(data))
    with pytest.raises(DownloadError, match="fails its CRC check"):
        dl.extract_zip(bad_crc, "valid")
    assert not (tmp_path / "b" / "valid").exists()
    empty = make_zip(tmp_path / "c" / "valid.zip", {})
    with pytest.raises(DownloadError, match="empty zip"):
        dl.verify_zip(empty, "valid")


def test_unzip_only_unpacks_and_can_delete_zips(tmp_path: Path) -> None:
    reid = tmp_path / "soccernetv3" / "reid"
    good_zip(reid, "valid")
    good_zip(reid, "test")
    (reid / "train").mkdir()
    result = dl.download(tmp_path, ["train", "valid", "test"], unzip_only=True, delete_zips=True)
    assert result.reid_dir == reid
    assert result.extracted == [reid / "valid", reid / "test"]
    assert result.already_present == [reid / "train"]
    assert not (reid / "valid.zip").exists() and (reid / "test" / "bbox_info.json").is_file()


def test_unzip_only_without_zip_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="valid.zip not found; download the zips"):
        dl.download(tmp_path, ["valid"], unzip_only=True)


def test_unknown_split_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="choose from train, valid"):
        dl.download(tmp_path, ["validation"])
    with pytest.raises(ConfigError):
        dl.download(tmp_path, [])


def test_offline_fails_fast_with_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = no_network(monkeypatch)
    downloads = fake_soccernet(monkeypatch, "ok")
    start = time.perf_counter()
    with pytest.raises(DownloadError) as info:
        dl.download(tmp_path, ["valid"])
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert "cannot reach huggingface.co:443" in message and "--unzip-only" in message
    assert calls == [(("huggingface.co", 443), 3.0)] and downloads == []
    assert info.value.__cause__ is None and "\n" not in message


def test_hf_endpoint_and_offline_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.example.org/")
    assert dl.hub_host() == "hf-mirror.example.org"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError, match="HF_HUB_OFFLINE is set"):
        dl.check_connectivity()


def test_missing_soccernet_package_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "SoccerNet.Downloader", None)
    with pytest.raises(MissingDependencyError, match=r"footreid\[soccernet\]"):
        dl.fetch(tmp_path, ["valid"])


def fake_soccernet(monkeypatch: pytest.MonkeyPatch, behaviour: str) -> list[dict]:
    """Install a stand-in ``SoccerNet.Downloader`` recording its calls."""
    calls: list[dict] = []

    class SoccerNetDownloader:
        def __init__(self, LocalDirectory: str) -> None:  # noqa: N803 (the package's name)
            self.local = Path(LocalDirectory)

        def downloadDataTask(self, task: str, split: list[str]) -> None:  # noqa: N802
            calls.append({"local": self.local, "task": task, "split": split})
            if behaviour == "offline":
                raise FileNotFoundError("An error happened while trying to locate the files\n...")
            for name in split:
                if name in dl.LABEL_SPLITS:
                    (self.local / task).mkdir(parents=True, exist_ok=True)
                    (self.local / task / dl.LABEL_SPLITS[name]).write_text("{}")
                else:
                    good_zip(self.local / task, name)

    module = types.ModuleType("SoccerNet.Downloader")
    module.SoccerNetDownloader = SoccerNetDownloader  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "SoccerNet.Downloader", module)
    return calls


def test_download_calls_the_soccernet_downloader_then_unpacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_soccernet(monkeypatch, "ok")
    result = dl.download(tmp_path, ["valid", "test_labels"], check_network=False)
    reid = tmp_path / "soccernetv3" / "reid"
    assert calls == [{"local": reid.parent, "task": "reid", "split": ["valid", "test_labels"]}]
    assert result.extracted == [reid / "valid"] and result.labels == [reid / "test_bbox_info.json"]
    assert (tmp_path / "soccernetv3" / "reid" / MEMBER).is_file()
    calls.clear()
    again = dl.download(tmp_path, ["valid"], check_network=False)  # already there: no fetch
    assert calls == [] and again.already_present == [reid / "valid"] and again.extracted == []


def test_downloader_errors_become_one_download_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_soccernet(monkeypatch, "offline")
    with pytest.raises(DownloadError, match="FileNotFoundError: An error happened") as info:
        dl.fetch(tmp_path, ["valid"], check_network=False)
    assert "\n" not in str(info.value)


def _offline() -> bool:
    try:
        dl.check_connectivity(timeout=3.0)
    except DownloadError:
        return True
    return False


def test_real_offline_download_fails_within_seconds(tmp_path: Path) -> None:
    """The real path (SoccerNet package, hub client) on this offline machine."""
    pytest.importorskip("SoccerNet.Downloader")
    if not _offline():
        pytest.skip("online: a real call would download gigabytes")
    for check_network in (True, False):  # our check, then the hub client's own failure
        start = time.perf_counter()
        with pytest.raises(DownloadError, match="needs internet|failed"):
            dl.download(tmp_path, ["valid"], check_network=check_network)
        assert time.perf_counter() - start < 30
