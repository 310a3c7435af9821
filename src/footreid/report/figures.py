"""The report's charts (matplotlib, Agg backend): each returns PNG bytes.

Charts are drawn on an explicit ``Figure`` (never pyplot's global state), so they are
safe to build from any thread and need no display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np

from footreid.report.errors import CATEGORIES
from footreid.report.run import MethodEntry

DPI = 110
_CATEGORY_COLOURS = (
    "#d62728",
    "#ff7f0e",
    "#9467bd",
    "#17becf",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
    "#c7c7c7",
)


def _figure(width: float, height: float):  # -> matplotlib.figure.Figure
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _error_bars(methods: Sequence[MethodEntry], metric: str) -> np.ndarray | None:
    """(2, M) distances (percent) from each value down / up to its 95 % interval."""
    if not all(m.interval for m in methods):
        return None
    low = [m.interval[metric]["low"] for m in methods]  # type: ignore[index]
    high = [m.interval[metric]["high"] for m in methods]  # type: ignore[index]
    values = [m.metrics[metric] for m in methods]
    return 100 * np.clip(np.array([np.subtract(values, low), np.subtract(high, values)]), 0, None)


def metric_bars(methods: Sequence[MethodEntry]) -> bytes:
    """Grouped bars of mAP and Rank-1 (percent) per method, values written on the bars.

    Error bars: the 95 % interval over actions of each value, where results.json has one.
    """
    names = [m.name for m in methods]
    fig = _figure(max(6.0, 0.9 * len(names) + 2.0), 4.2)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    width = 0.38
    for offset, label, metric, colour in (
        (-width / 2, "mAP", "mAP", "#1f77b4"),
        (width / 2, "Rank-1", "rank1", "#2ca02c"),
    ):
        values = 100 * np.asarray([m.metrics[metric] for m in methods], dtype=float)
        errors = _error_bars(methods, metric)
        bars = ax.bar(x + offset, values, width, label=label, color=colour, yerr=errors, capsize=2)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.set_title("mAP and Rank-1 per method (bars: 95 % interval over actions)")
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def cmc_curves(methods: Sequence[MethodEntry], max_rank: int = 20) -> bytes:
    """Measured CMC curves, ranks 1..max_rank, one line per method."""
    fig = _figure(7.0, 4.5)
    ax = fig.add_subplot()
    for i, method in enumerate(methods):
        cmc = method.cmc[:max_rank]
        ranks = np.arange(1, len(cmc) + 1)
        style = "-" if i < 10 else "--"
        ax.plot(ranks, 100 * cmc, style, marker="o", markersize=2.5, label=method.name)
    ax.set_xlabel("rank k")
    ax.set_ylabel("CMC@k (%)")
    ax.set_xlim(1, max_rank)
    ax.set_xticks([1, 5, 10, 15, 20] if max_rank >= 20 else list(range(1, max_rank + 1)))
    ax.set_title("Measured CMC (queries matched within the first k of their action)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", ncol=2 if len(methods) > 6 else 1)
    return _png(fig)


def error_shares(names: Sequence[str], counts: Sequence[dict[str, int]]) -> bytes:
    """Horizontal stacked bars: share of first-rank errors per category, one bar per method."""
    fig = _figure(8.0, 0.45 * len(names) + 1.8)
    ax = fig.add_subplot()
    y = np.arange(len(names))
    totals = np.array([max(1, sum(c.values())) for c in counts], dtype=np.float64)
    left = np.zeros(len(names))
    for category, colour in zip(CATEGORIES, _CATEGORY_COLOURS, strict=True):
        values = np.array([c.get(category, 0) for c in counts], dtype=np.float64)
        if not values.any():
            continue
        share = 100 * values / totals
        ax.barh(y, share, left=left, color=colour, label=category)
        left += share
    labels = [f"{name} ({sum(c.values())} errors)" for name, c in zip(names, counts, strict=True)]
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the method's first-rank errors")
    ax.set_title("Who is wrongly ranked first?")
    # a figure legend "outside" is laid out by constrained layout: an axes legend placed
    # below with bbox_to_anchor was clipped at the figure's edge and squeezed the bars
    fig.legend(fontsize=7, loc="outside lower center", ncol=3)
    return _png(fig)


def training_curves(title: str, records: Sequence[dict[str, float]]) -> bytes | None:
    """Loss terms (left) and quality metrics (right) per epoch of one training run.

    Args:
        title: the model's name.
        records: ``metrics.jsonl`` lines. The x axis is ``global_epoch`` (epochs counted
            across stages) or else ``epoch``; values are averaged over the lines of an
            epoch. Keys with "loss" go left; accuracy, mAP, Rank-k and CMC keys go right;
            the rest (lr, images, seconds, ...) is not plotted. Stage changes (``stage``)
            are dotted vertical lines.

    Returns:
        PNG bytes, or None when no line has an epoch and a plottable value.
    """
    series, stage_starts = _epoch_series(records)
    if not series:
        return None
    losses = {k: v for k, v in series.items() if "loss" in k.lower()}
    others = {k: v for k, v in series.items() if k not in losses}
    from matplotlib.ticker import MaxNLocator

    fig = _figure(10.0, 3.6)
    axes = fig.subplots(1, 2)
    for ax, (group, ylabel) in zip(axes, [(losses, "loss"), (others, "value")], strict=True):
        for key, (epochs, values) in sorted(group.items()):
            ax.plot(epochs, values, marker="o", markersize=2.5, label=key)
        for x in stage_starts:
            ax.axvline(x, color="#888888", linestyle=":", linewidth=1)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no "epoch 1.25" ticks
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if group:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "nothing recorded", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(f"Training curves: {title}")
    return _png(fig)


_QUALITY_KEYS = ("acc", "map", "rank", "cmc", "r1")


def _plotted(key: str) -> bool:
    low = key.lower()
    return "loss" in low or any(word in low for word in _QUALITY_KEYS)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _epoch_series(
    records: Sequence[dict[str, float]],
) -> tuple[dict[str, tuple[list[float], list[float]]], list[float]]:
    """Per plotted key: (epochs, mean value per epoch); and the epochs where a stage starts."""
    sums: dict[str, dict[float, list[float]]] = {}
    stage_first: dict[object, float] = {}
    for rec in records:
        epoch = _number(rec.get("global_epoch", rec.get("epoch")))
        if epoch is None:
            continue
        if "stage" in rec:
            stage_first.setdefault(str(rec["stage"]), epoch)
        for key, value in rec.items():
            number = _number(value)
            if number is not None and _plotted(key) and "epoch" not in key:
                sums.setdefault(key, {}).setdefault(epoch, []).append(number)
    series = {
        key: (sorted(per_epoch), [float(np.mean(per_epoch[e])) for e in sorted(per_epoch)])
        for key, per_epoch in sums.items()
    }
    starts = sorted(stage_first.values())[1:]
    return series, starts
