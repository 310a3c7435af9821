"""Synthetic football re-identification data in the SoccerNet-v3 ReID layout.

``generate(out, preset, seed)`` writes, under ``out``::

    reid/train/<championship>/<season>/<game>/<action_idx>/<8-field name>.png
    reid/{valid,test}/{query,gallery}/<championship>/<season>/<game>/<action_idx>/...png
    reid/{valid,test}/bbox_info.json        official ground-truth format (docs/protocol.md)
    reid/challenge/{query,gallery}/<bbox_idx>-<action_idx>-<H>x<W>.png   (no labels)
    challenge_bbox_info.json                the challenge labels, kept outside reid/
    hidden_identities.json                  true player of every crop (analysis only)
    synth_summary.json                      preset, seed, counts, generation time

so the SoccerNet loader and the official evaluator read it unchanged. The same seed gives
byte-identical files: each action is planned and rendered from generators seeded by
(seed, split, action), which also lets ``workers`` processes render in parallel.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from PIL import Image

from footreid.core.errors import DataError
from footreid.core.io import atomic_write_json
from footreid.core.log import get_logger, track
from footreid.data.grammar import CropName, format_crop_name
from footreid.data.synthetic_plan import PRESETS, SPLITS, ActionPlan, assign_labels, plan_action
from footreid.data.synthetic_render import render_crop

log = get_logger(__name__)

GENERATOR_VERSION = 1
"""Bumped whenever the same (preset, seed) would give different images."""
SUMMARY_FILE = "synth_summary.json"
IDENTITIES_FILE = "hidden_identities.json"
CHALLENGE_GT_FILE = "challenge_bbox_info.json"
PNG_COMPRESS_LEVEL = 1


def _crop_record(plan: ActionPlan, crop: Any, height: int, width: int) -> dict[str, Any]:
    """Official ground-truth record of one crop, with its path relative to the split."""
    labelled = plan.split != "challenge"
    name = format_crop_name(
        CropName(crop.bbox_idx, plan.action_idx, crop.person_uid if labelled else None,
                 crop.frame_idx, crop.clazz, crop.id, crop.uai, height, width)
    )  # fmt: skip
    if plan.split == "train":
        rel = f"{plan.folder}/{name}"
    elif labelled:
        rel = f"{crop.role}/{plan.folder}/{name}"
    else:
        rel = f"{crop.role}/{name}"
    return {
        "bbox_idx": crop.bbox_idx,
        "action_idx": plan.action_idx,
        "person_uid": crop.person_uid,
        "frame_idx": crop.frame_idx,
        "clazz": crop.clazz,
        "id": crop.id,
        "UAI": crop.uai,
        "relative_path": rel,
    }


def render_action(root: Path, plan: ActionPlan) -> list[tuple[str, dict[str, Any], str]]:
    """Render and write the crops of one action under ``root/reid/<split>``.

    Returns:
        (role, ground-truth record, hidden player key) of each crop, in crop order.
    """
    split_dir = root / "reid" / plan.split
    out = []
    for crop in plan.crops:
        pixels = render_crop(crop.request)
        record = _crop_record(plan, crop, pixels.shape[0], pixels.shape[1])
        path = split_dir / record["relative_path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
        out.append((crop.role, record, crop.request.person.key))
    return out


def _render_job(job: tuple[Path, ActionPlan]) -> list[tuple[str, dict[str, Any], str]]:
    return render_action(*job)


def _plans(seed: int, preset_name: str) -> dict[str, list[ActionPlan]]:
    """Every action of every split, labelled (``person_uid`` unique over the dataset)."""
    preset = PRESETS.get(preset_name)
    plans, uid = {}, 0
    for split in SPLITS:
        plans[split] = [plan_action(seed, split, a, preset) for a in range(preset.actions[split])]
        uid = assign_labels(plans[split], uid)
    return plans


def _split_counts(split: str, plans: list[ActionPlan], rows: list[tuple[str, dict, str]]) -> dict:
    roles = Counter(role for role, _, _ in rows)
    counts = {
        "actions": len(plans),
        "games": len({p.game.index for p in plans}),
        "identities": len({rec["person_uid"] for _, rec, _ in rows}),
        "real_people": len({key for _, _, key in rows}),
    }
    if split == "train":
        counts["crops"] = roles["train"]
    else:
        counts.update(queries=roles["query"], gallery=roles["gallery"])
    return counts


def _write_labels(root: Path, split: str, rows: list[tuple[str, dict, str]]) -> None:
    """bbox_info.json of an evaluation split (challenge labels go outside ``reid/``)."""
    gt: dict[str, dict[str, dict]] = {"query": {}, "gallery": {}}
    for role, record, _ in rows:
        gt[role][str(record["bbox_idx"])] = record
    for role in gt:
        gt[role] = dict(sorted(gt[role].items(), key=lambda kv: int(kv[0])))
    target = (
        root / CHALLENGE_GT_FILE
        if split == "challenge"
        else root / "reid" / split / "bbox_info.json"
    )
    atomic_write_json(target, gt, indent=1)


def _build(root: Path, preset: str, seed: int, workers: int) -> dict[str, Any]:
    """Generate the whole dataset into ``root``; returns the summary."""
    start = time.perf_counter()
    plans = _plans(seed, preset)
    jobs = [(root, plan) for split in SPLITS for plan in plans[split]]
    total = sum(len(plan.crops) for _, plan in jobs)
    log.info(
        "synthetic '%s' (seed %d): rendering %d crops with %d worker(s)",
        preset,
        seed,
        total,
        workers,
    )
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = list(track(pool.map(_render_job, jobs, chunksize=4), "rendering", len(jobs)))
    else:
        results = [_render_job(job) for job in track(jobs, "rendering", len(jobs))]
    counts, identities, k = {}, {}, 0
    for split in SPLITS:
        rows = [row for result in results[k : k + len(plans[split])] for row in result]
        k += len(plans[split])
        counts[split] = _split_counts(split, plans[split], rows)
        identities[split] = {rec["relative_path"]: key for _, rec, key in rows}
        if split != "train":
            _write_labels(root, split, rows)
    atomic_write_json(
        root / IDENTITIES_FILE,
        {"format": "footreid-synth-identities/1", "splits": identities},
        indent=None,
    )
    seconds = time.perf_counter() - start
    summary = {
        "generator": "footreid.data.synthetic",
        "version": GENERATOR_VERSION,
        "preset": preset,
        "seed": seed,
        "counts": counts,
        "total_crops": total,
        "generation_seconds": round(seconds, 3),
        "crops_per_second": round(total / max(seconds, 1e-9), 1),
        "workers": workers,
    }
    atomic_write_json(root / SUMMARY_FILE, summary)
    return summary


def read_summary(root: str | Path) -> dict[str, Any] | None:
    """The ``synth_summary.json`` of a generated dataset, or None when absent or unreadable."""
    try:
        return json.loads((Path(root) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _same(summary: dict[str, Any] | None, preset: str, seed: int) -> bool:
    if not summary:
        return False
    found = (summary.get("preset"), summary.get("seed"), summary.get("version"))
    return found == (preset, seed, GENERATOR_VERSION)


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` folder to ``out``, replacing what ``out`` held."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
    os.replace(out, trash / "data")
    os.replace(tmp, out)
    shutil.rmtree(trash, ignore_errors=True)


def _check_target(out: Path, preset: str, seed: int, overwrite: bool) -> None:
    """Refuse a file, or a folder holding other data unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise DataError(out, "exists and is not a folder; choose another output folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        found = read_summary(out)
        what = (f"synthetic '{found.get('preset')}' seed {found.get('seed')} "
                f"(version {found.get('version')})" if found else "other files")  # fmt: skip
        raise DataError(
            out, f"holds {what}, not synthetic '{preset}' seed {seed}; pass overwrite=True "
            "(footreid synth --overwrite) to replace it, or choose an empty folder",
        )  # fmt: skip


def _build_in_place(out: Path, preset: str, seed: int, workers: int) -> dict[str, Any] | None:
    """Build in a temporary folder beside ``out``, then rename it into place.

    Returns:
        The summary, or None when another process wrote the same dataset meanwhile.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        summary = _build(tmp, preset, seed, workers)
        if _same(read_summary(out), preset, seed):
            shutil.rmtree(tmp, ignore_errors=True)
            return None
        _move_into_place(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return summary


def generate(
    out_dir: str | Path,
    preset: str = "tiny",
    seed: int = 0,
    *,
    overwrite: bool = False,
    workers: int = 1,
) -> Path:
    """Generate a synthetic dataset in the SoccerNet-v3 ReID layout (see the module doc).

    Running twice reuses: a complete dataset of the same preset, seed and generator version
    in ``out_dir`` is returned at once. The dataset is built in a temporary folder beside
    ``out_dir`` and renamed into place at the end, so an interrupted run leaves nothing.

    Args:
        out_dir: dataset root (``reid/`` is created inside).
        preset: ``tiny`` (tests), ``small`` (quickstart) or ``default``.
        seed: dataset seed; the same seed gives byte-identical files.
        overwrite: replace a different dataset (or other files) already in ``out_dir``.
        workers: processes rendering actions in parallel (the output does not depend on it).

    Returns:
        ``out_dir`` as a Path.

    Raises:
        DataError: ``out_dir`` is a file, or holds different data and ``overwrite`` is False.
        RegistryError: unknown preset.
    """
    PRESETS.get(preset)
    out = Path(out_dir)
    if _same(read_summary(out), preset, seed):
        log.info("%s already holds synthetic '%s' seed %d; reusing it", out, preset, seed)
        return out
    _check_target(out, preset, seed, overwrite)
    summary = _build_in_place(out, preset, seed, max(1, workers))
    if summary is None:  # another process finished the same dataset meanwhile
        return out
    log.info(
        "wrote %d crops to %s in %.1f s", summary["total_crops"], out, summary["generation_seconds"]
    )
    return out
