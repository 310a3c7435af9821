"""The features file reader answers bad files with what it expected, never numpy's advice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_main import run_main

from footreid.core.errors import DataError
from footreid.core.records import FeatureSet


def good_features() -> FeatureSet:
    return FeatureSet(
        features=np.eye(2, 4, dtype=np.float32),
        bbox_idx=[0, 1],
        action_idx=[0, 0],
        person_uid=["a", "a"],
        role=["query", "gallery"],
        path=["0.png", "1.png"],
        clazz=["Player_team_left"] * 2,
        meta={"model": "m", "split": "valid"},
    )


def bad_files(folder: Path) -> dict[str, Path]:
    """One file per way a features file can be wrong, named by what is wrong."""
    notes = folder / "notes.txt"
    notes.write_text("my notes\n")
    npy = folder / "array.npy"
    np.save(npy, np.zeros(3))
    pickled = folder / "pickled.npz"
    arrays = dict(np.load(good_features().save(folder / "good.npz")))
    np.savez(pickled, **{**arrays, "person_uid": np.array([{"x": 1}, None], dtype=object)})
    missing = folder / "missing.npz"
    np.savez(missing, features=np.zeros((2, 4), np.float32))
    truncated = folder / "truncated.npz"
    truncated.write_bytes((folder / "good.npz").read_bytes()[:300])
    corrupted, raw = folder / "corrupted.npz", bytearray((folder / "good.npz").read_bytes())
    raw[200] ^= 0xFF  # inside the features array: the zip's CRC check fails
    corrupted.write_bytes(bytes(raw))
    bad_meta = folder / "bad_meta.npz"
    np.savez(bad_meta, **{**arrays, "meta": np.asarray(json.dumps([1, 2]))})
    return {
        "not a .npz archive": notes,
        "not a .npz archive ": npy,
        "'person_uid' holds pickled Python objects": pickled,
        "missing [": missing,
        "not a .npz archive  ": truncated,
        "unreadable": corrupted,
        "'meta' is not a JSON object": bad_meta,
    }


def test_a_written_file_reads_back(tmp_path: Path) -> None:
    back = FeatureSet.load(good_features().save(tmp_path / "f.npz"))
    assert back.meta["model"] == "m" and back.person_uid.tolist() == ["a", "a"]


def test_every_bad_file_gets_footreids_message(tmp_path: Path) -> None:
    for problem, path in bad_files(tmp_path).items():
        with pytest.raises(DataError) as caught:
            FeatureSet.load(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: not a footreid features file"), message
        assert problem.strip() in message and "written by `footreid embed`" in message
        assert "features (N, D) float32" in message and "person_uid" in message
        advice = message.removeprefix(str(path)).replace("pickled Python objects", "")
        assert "allow_pickle" not in advice and "pickle" not in advice  # numpy's advice


def test_evaluate_notes_txt_is_one_clear_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = bad_files(tmp_path)["not a .npz archive"]
    assert run_main(monkeypatch, ["evaluate", str(notes)]) == 1
    out, err = capsys.readouterr()
    err = " ".join(err.split())
    assert out == "" and err.startswith(f"error: {notes}: not a footreid features file")
    assert "footreid embed" in err and "allow_pickle" not in err and "Traceback" not in err
