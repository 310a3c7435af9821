"""ModelRecord: one record of the input contract, the same keys every format had before."""

from __future__ import annotations

import pytest

from footreid.core.errors import DataError, WeightsError
from footreid.core.model_record import (
    CHECKPOINT,
    FEATURES,
    FOLDER,
    FORMATS,
    ONNX,
    ModelRecord,
)
from footreid.core.size import ImageSize

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
RECORD = ModelRecord("osnet_x0_25", ImageSize(64, 32), MEAN, STD, 512, {"input_size": (64, 32)})

# What footreid wrote before the record existed (the commit before it), key for key.
OLD_CHECKPOINT = {
    "format": "footreid-train",
    "version": 1,
    "model_name": "osnet_x0_25",
    "model_kwargs": {"input_size": (64, 32)},
    "num_classes": 3,
    "input_size": [64, 32],
    "model_spec": {
        "name": "osnet_x0_25",
        "input_size": [64, 32],
        "mean": list(MEAN),
        "std": list(STD),
        "embed_dim": 512,
        "classifier_keys": ["classifier"],
        "patch_size": None,
        "parameter_free": False,
    },
}
OLD_ONNX = {
    "model": "osnet_x0_25",
    "input_size": [64, 32],
    "mean": list(MEAN),
    "std": list(STD),
    "embed_dim": 512,
    "source": "best.pt",
    "source_sha256": "ab" * 32,
    "pretrained": None,
}
OLD_FOLDER = {
    "format": "footreid-model",
    "format_version": 1,
    "architecture": "osnet_x0_25",
    "options": {"input_size": [64, 32]},
    "input_size": [64, 32],
    "mean": list(MEAN),
    "std": list(STD),
    "embed_dim": 512,
    "precision": "fp32",
}
OLD_FEATURES = {
    "model": "osnet_x0_25",
    "model_options": {"input_size": [64, 32]},
    "input_size": [64, 32],
    "checkpoint": "best.pt",
    "backend": "torch",
    "flip_tta": True,
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_round_trips(fmt: str) -> None:
    entries = RECORD.to_record(fmt)
    back = ModelRecord.from_record(entries, fmt, "file")
    assert back.input_size == RECORD.input_size and isinstance(back.input_size, ImageSize)
    assert (back.name, back.mean, back.std, back.embed_dim) == ("osnet_x0_25", MEAN, STD, 512)
    expected = {} if FORMATS[fmt].options is None else RECORD.options
    if FORMATS[fmt].plain_options:
        expected = {k: list(v) for k, v in expected.items()}
    assert back.options == expected


@pytest.mark.parametrize(
    ("fmt", "old"),
    [(CHECKPOINT, OLD_CHECKPOINT), (ONNX, OLD_ONNX), (FOLDER, OLD_FOLDER)],
)
def test_files_of_earlier_versions_read_and_are_written_with_the_same_keys(fmt, old) -> None:
    record = ModelRecord.from_record(old, fmt, "old-file")
    assert record.input_size == (64, 32) and record.name == "osnet_x0_25"
    assert (record.mean, record.std, record.embed_dim) == (MEAN, STD, 512)
    written = record.to_record(fmt)
    assert set(written) <= set(old)
    nested = FORMATS[fmt].nested
    assert all(written[k] == old[k] for k in written if k != nested)
    if nested:
        assert all(old[nested][k] == v for k, v in written[nested].items())


def test_old_features_meta_and_minimal_checkpoints_lack_normalisation() -> None:
    record = ModelRecord.from_record(OLD_FEATURES, FEATURES, "f.npz")
    assert record.input_size == (64, 32) and record.options == {"input_size": [64, 32]}
    assert record.mean is record.std is record.embed_dim is None
    minimal = {k: OLD_CHECKPOINT[k] for k in ("model_name", "model_kwargs", "input_size")}
    assert ModelRecord.from_record(minimal, CHECKPOINT, "c.pt").mean is None
    assert set(RECORD.to_record(FEATURES)) == {
        "model", "model_options", "input_size", "mean", "std", "embed_dim"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input_size": [0, 32]}, r"c.pt input_size: expected \[H, W\]"),
        ({"model_name": 3}, "c.pt: 'model_name' 3 must be a model name"),
        ({"model_kwargs": {1: 2}}, "c.pt: 'model_kwargs' .* mapping of options"),
        ({"model_spec": 5}, "c.pt: 'model_spec' must be a mapping"),
        ({"model_spec": {"mean": [1, 2]}}, "c.pt: 'mean' must be three numbers"),
        ({"model_spec": {"embed_dim": True}}, "c.pt: 'embed_dim' must be a positive integer"),
    ],
)
def test_bad_entries_are_refused_naming_the_file(change: dict, message: str) -> None:
    with pytest.raises(WeightsError, match=message):
        ModelRecord.from_record(OLD_CHECKPOINT | change, CHECKPOINT, "c.pt")


def test_missing_entries_and_features_errors() -> None:
    with pytest.raises(WeightsError, match="m/config.json: missing 'embed_dim'"):
        ModelRecord.from_record(
            {k: v for k, v in OLD_FOLDER.items() if k != "embed_dim"}, FOLDER, "m/config.json"
        )
    with pytest.raises(DataError, match=r"f.npz input_size: expected"):
        ModelRecord.from_record(OLD_FEATURES | {"input_size": "big"}, FEATURES, "f.npz")
    with pytest.raises(WeightsError, match="x.onnx metadata: expected a mapping"):
        ModelRecord.from_record([1], ONNX, "x.onnx metadata")


def test_check_model_refuses_other_normalisation() -> None:
    class Spec:
        mean, std, embed_dim = MEAN, STD, 512

    RECORD.check_model(Spec, "c.pt")
    with pytest.raises(WeightsError, match="c.pt: 'std' .* is not the std of osnet_x0_25"):
        ModelRecord("osnet_x0_25", ImageSize(64, 32), MEAN, (0.5, 0.5, 0.5)).check_model(
            Spec, "c.pt"
        )
    with pytest.raises(WeightsError, match="'embed_dim' 256 is not the embedding size"):
        ModelRecord("osnet_x0_25", ImageSize(64, 32), embed_dim=256).check_model(Spec, "c.pt")
