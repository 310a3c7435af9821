"""Every method of a run rebuilt, re-measured and analysed: what the report is drawn from."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from footreid.core.log import get_logger, track
from footreid.core.records import FeatureSet
from footreid.evaluate.distances import ActionDistances
from footreid.evaluate.metrics import EvalResult
from footreid.report.errors import ErrorAnalysis, analyse_errors
from footreid.report.run import RunResults, evaluate_method, method_distances

log = get_logger(__name__)

METRIC_TOLERANCE = 1e-6
"""Largest difference between re-measured and recorded mAP / Rank-1 taken as equal."""


@dataclass
class CropTable:
    """Class and file of every query / gallery row of the split the distances index."""

    query_clazz: np.ndarray
    gallery_clazz: np.ndarray
    query_path: np.ndarray
    gallery_path: np.ndarray


@dataclass
class MethodOutcome:
    """A method's rebuilt distances, re-measured metrics and error analysis."""

    dist: ActionDistances
    result: EvalResult
    errors: ErrorAnalysis
    crops: CropTable


def crop_table(features: FeatureSet, dist: ActionDistances) -> CropTable:
    """Look up class and path of the split's rows (by ``bbox_idx``) in a features file."""
    out = {}
    for role, bbox in (
        ("query", dist.split.query_bbox_idx),
        ("gallery", dist.split.gallery_bbox_idx),
    ):
        rows = np.flatnonzero(features.role == role)
        position = dict(zip(features.bbox_idx[rows].tolist(), rows.tolist(), strict=True))
        take = np.asarray([position[int(b)] for b in bbox], dtype=np.int64)
        out[f"{role}_clazz"] = features.clazz[take]
        out[f"{role}_path"] = features.path[take]
    return CropTable(**out)


def compute_outcomes(run: RunResults, features: dict[str, FeatureSet]) -> dict[str, MethodOutcome]:
    """Rebuild, re-measure and analyse every method, keyed by slug."""
    outcomes: dict[str, MethodOutcome] = {}
    reference = next(iter(features.values()))
    for method in track(run.methods, "rebuild methods", total=len(run.methods)):
        start = time.perf_counter()
        dist = method_distances(method, features)
        result = evaluate_method(dist)
        crops = crop_table(reference, dist)
        errors = analyse_errors(
            dist, result, crops.query_clazz, crops.gallery_clazz, crops.query_path
        )
        outcomes[method.slug] = MethodOutcome(dist, result, errors, crops)
        log.info("%s: rebuilt in %.2f s", method.name, time.perf_counter() - start)
    return outcomes


def mismatches(run: RunResults, outcomes: dict[str, MethodOutcome]) -> list[str]:
    """Methods whose re-measured mAP / Rank-1 differ from results.json (first seed)."""
    bad = []
    for method in run.methods:
        got, want = outcomes[method.slug].result, method.measured
        if max(abs(got.mAP - want["mAP"]), abs(got.rank1 - want["rank1"])) > METRIC_TOLERANCE:
            bad.append(
                f"{method.name}: results.json mAP {want['mAP']:.4%} Rank-1 "
                f"{want['rank1']:.4%}, re-measured {got.mAP:.4%} / {got.rank1:.4%}"
            )
    return bad
