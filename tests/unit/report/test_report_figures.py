"""Charts render to PNG with the data they are given."""

from __future__ import annotations

import io

from PIL import Image

from footreid.report import figures
from footreid.report.run import MethodEntry


def _method(name: str, m_ap: float, r1: float) -> MethodEntry:
    cmc = [min(1.0, r1 + 0.03 * k) for k in range(20)]
    return MethodEntry(name, name, {}, {"mAP": m_ap, "rank1": r1, "cmc": cmc}, 1.0, None)


def _size(png: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(png)).size


def test_bar_and_cmc_charts_are_pngs() -> None:
    methods = [_method(f"m{i}", 0.3 + 0.05 * i, 0.2 + 0.05 * i) for i in range(8)]
    wide = _size(figures.metric_bars(methods))
    narrow = _size(figures.metric_bars(methods[:2]))
    assert wide[0] > narrow[0]  # the chart grows with the number of methods
    assert _size(figures.cmc_curves(methods))[0] > 400


def test_error_shares_and_training_curves() -> None:
    counts = [{"same team player": 3, "referee": 1}, {"other team player": 2}]
    assert _size(figures.error_shares(["a", "b"], counts))[1] > 100
    records = [
        {
            "stage": st,
            "epoch": e,
            "global_epoch": 2 * st + e,
            "step": s,
            "loss": 3.0 - e,
            "loss_ce": 2.0,
            "accuracy": 0.5,
            "val_mAP": 0.1 * e,
            "lr": 0.1,
            "images": 512,
        }
        for st in range(2)
        for e in range(2)
        for s in range(2)
    ]
    series, stage_starts = figures._epoch_series(records)
    assert set(series) == {"loss", "loss_ce", "accuracy", "val_mAP"}  # no lr, images, step
    assert series["loss"] == ([0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 3.0, 2.0])  # by global epoch
    assert stage_starts == [2.0]
    assert figures.training_curves("m", records) is not None
    assert figures.training_curves("m", [{"loss": 1.0}]) is None  # no epoch: nothing to plot
