"""The demo's view of a run: queries, per-action rankings of any method, crop files.

Every ranking comes from the method's per-action distance blocks, so a query is only
ever ranked against the gallery of **its own action**, as the protocol scores it
(``docs/protocol.md``): ranking the whole gallery would show matches from other actions
that the metrics never count. Methods are rebuilt lazily from ``results.json``
(``footreid.evaluate.methods.compute_method``) and cached.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from footreid.core.errors import DataError
from footreid.core.layout import ExperimentLayout
from footreid.core.log import get_logger
from footreid.core.records import FeatureSet
from footreid.core.run_results import read_run
from footreid.evaluate.distances import ActionDistances
from footreid.evaluate.metrics import EvalResult, evaluate_distances, rank_order

log = get_logger(__name__)

QueryFilter = Literal["all", "correct", "wrong"]
IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class NotFound(DataError):
    """An unknown method, query or crop was asked for (HTTP 404)."""


@dataclass
class MethodView:
    """A method rebuilt for browsing.

    Attributes:
        slug: the method.
        dist: its per-action distance blocks.
        result: its measured metrics.
        position: query ``bbox_idx`` -> (block index, row inside the block).
        first_rank: (Q_ref,) int64 first-match rank of each query of the reference
            features file (0 where the query has no match in its action).
        ap: (Q_ref,) float64 AP of those queries (NaN where skipped).
    """

    slug: str
    dist: ActionDistances
    result: EvalResult
    position: dict[int, tuple[int, int]]
    first_rank: np.ndarray
    ap: np.ndarray


@dataclass(frozen=True)
class ModelInfo:
    """A model of the run: its features and the checkpoint uploads are embedded with."""

    name: str
    features: Path
    checkpoint: Path | None


class RunIndex:
    """A run directory loaded for the demo (thread-safe; methods built on first use).

    Args:
        run_dir: a run written by ``footreid experiment`` (``results.json`` + features).
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.root = Path(run_dir)
        run = read_run(self.root)  # the one reader of results.json (report's too)
        self.split, self.dataset_root = run.split, run.dataset_root
        self.models = [ModelInfo(m.name, m.features, m.checkpoint) for m in run.models]
        if not self.models:
            source = ExperimentLayout(self.root).results_json
            raise DataError(source, "'models' is empty: nothing to browse")
        self.methods: dict[str, dict[str, Any]] = {
            m.slug: {"name": m.name, "slug": m.slug, "spec": m.spec, "metrics": m.metrics}
            for m in run.methods
        }
        self.best_method = run.best_method
        self.features = {m.name: FeatureSet.load(m.features) for m in self.models}
        ref = self.reference = next(iter(self.features.values()))
        rows = {role: np.flatnonzero(ref.role == role) for role in ("query", "gallery")}
        self._row_of = {
            role: dict(zip(ref.bbox_idx[r].tolist(), r.tolist(), strict=True))
            for role, r in rows.items()
        }
        order = np.lexsort((ref.bbox_idx[rows["query"]], ref.action_idx[rows["query"]]))
        self.query_rows = rows["query"][order]
        """Rows of the reference file's queries, by action then ``bbox_idx``."""
        self._query_pos = {int(b): i for i, b in enumerate(ref.bbox_idx[self.query_rows].tolist())}
        self._haystack = np.char.lower(
            np.array(
                [
                    f"{ref.bbox_idx[r]} a{ref.action_idx[r]} {ref.person_uid[r]} {ref.clazz[r]}"
                    for r in self.query_rows
                ],
                dtype=np.str_,
            )
        )
        self._views: dict[str, MethodView] = {}
        self._lock = threading.Lock()
        self._split_dir: Path | None = None

    @property
    def split_dir(self) -> Path:
        """Resolved ``<reid root>/<split>``: the only folder crops are served from."""
        if self._split_dir is None:
            from footreid.data.soccernet import find_reid_root

            self._split_dir = (find_reid_root(self.dataset_root) / self.split).resolve()
        return self._split_dir

    def method_list(self) -> list[dict[str, Any]]:
        """Name, slug and recorded mAP / Rank-1 of every method, in results.json order."""
        return [
            {
                "slug": slug,
                "name": m["name"],
                "mAP": m["metrics"].get("mAP"),
                "rank1": m["metrics"].get("rank1"),
            }
            for slug, m in self.methods.items()
        ]

    def actions(self) -> list[dict[str, int]]:
        """Every action with queries: ``action_idx`` and its numbers of queries and gallery."""
        ref = self.reference
        q_actions, q_counts = np.unique(ref.action_idx[ref.role == "query"], return_counts=True)
        g_actions, g_counts = np.unique(ref.action_idx[ref.role == "gallery"], return_counts=True)
        gallery = dict(zip(g_actions.tolist(), g_counts.tolist(), strict=True))
        return [
            {"action_idx": a, "num_queries": n, "num_gallery": gallery.get(a, 0)}
            for a, n in zip(q_actions.tolist(), q_counts.tolist(), strict=True)
        ]

    def view(self, slug: str) -> MethodView:
        """The method ``slug``, rebuilt on first use (NotFound for an unknown slug)."""
        if slug not in self.methods:
            raise NotFound(None, f"unknown method '{slug}' (known: {', '.join(self.methods)})")
        view = self._views.get(slug)
        if view is None:
            with self._lock:  # one build at a time; built views are read without the lock
                if slug not in self._views:
                    self._views[slug] = self._build(slug)
                view = self._views[slug]
        return view

    def _build(self, slug: str) -> MethodView:
        from footreid.evaluate.methods import compute_method, method_from_dict

        dist = compute_method(method_from_dict(self.methods[slug]["spec"]), self.features)
        result = evaluate_distances(dist, max_rank=20)
        q_bbox = dist.split.query_bbox_idx
        position = {
            int(q_bbox[q]): (b, i)
            for b, block in enumerate(dist.blocks)
            for i, q in enumerate(block.query.tolist())
        }
        ranks = dict(zip(result.bbox_idx.tolist(), result.first_match_rank.tolist(), strict=True))
        aps = dict(zip(result.bbox_idx.tolist(), result.average_precision.tolist(), strict=True))
        ref_bbox = self.reference.bbox_idx.tolist()
        log.info("demo: method %s ready (%d actions)", slug, len(dist))
        return MethodView(
            slug=slug,
            dist=dist,
            result=result,
            position=position,
            first_rank=np.array([ranks.get(ref_bbox[r], 0) for r in self.query_rows]),
            ap=np.array([aps.get(ref_bbox[r], np.nan) for r in self.query_rows]),
        )

    def crop(self, role: str, bbox_idx: int) -> dict[str, Any]:
        """JSON description of a crop: ids, class and the URL of its image."""
        row = self._row_of[role][int(bbox_idx)]
        ref = self.reference
        return {
            "bbox_idx": int(bbox_idx),
            "action_idx": int(ref.action_idx[row]),
            "person_uid": str(ref.person_uid[row]),
            "clazz": str(ref.clazz[row]),
            "image": f"/api/image/{role}/{int(bbox_idx)}",
        }

    def queries(
        self,
        slug: str,
        which: QueryFilter = "all",
        search: str = "",
        action: int | None = None,
        offset: int = 0,
        limit: int = 60,
    ) -> dict[str, Any]:
        """A page of the queries that pass the filters, by action then ``bbox_idx``.

        Args:
            slug: method whose rank-1 outcome ``which`` filters on.
            which: all, correct (first crop is the same person) or wrong.
            search: case-insensitive substring of bbox_idx, "a<action>", person or class.
            action: keep one action only.
            offset, limit: the page.
        """
        view = self.view(slug)
        keep = np.ones(len(self.query_rows), dtype=bool)
        if which == "correct":
            keep &= view.first_rank == 1
        elif which == "wrong":
            keep &= view.first_rank > 1
        if action is not None:
            keep &= self.reference.action_idx[self.query_rows] == action
        if search.strip():
            keep &= np.char.find(self._haystack, search.strip().lower()) >= 0
        picked = np.flatnonzero(keep)
        items = []
        for i in picked[offset : offset + limit].tolist():
            item = self.crop("query", int(self.reference.bbox_idx[self.query_rows[i]]))
            rank, ap = int(view.first_rank[i]), float(view.ap[i])
            item.update(
                first_match_rank=rank or None,
                ap=None if np.isnan(ap) else ap,
                correct=None if rank == 0 else rank == 1,
            )
            items.append(item)
        return {"method": slug, "total": int(len(picked)), "offset": offset, "items": items}

    def ranking(self, slug: str, query_bbox_idx: int, top_k: int | None = None) -> dict[str, Any]:
        """The query's own action's gallery ranked by a method, best first, with distances."""
        view = self.view(slug)
        if int(query_bbox_idx) not in view.position:
            raise NotFound(None, f"no query with bbox_idx {query_bbox_idx} in this run")
        b, i = view.position[int(query_bbox_idx)]
        block = view.dist.blocks[b]
        split = view.dist.split
        order = rank_order(block.qg[i : i + 1])[0][:top_k]
        g_rows = block.gallery[order]
        assert (split.gallery_action_idx[g_rows] == block.action_idx).all(), "mixed actions"
        q_uid = split.query_person_uid[block.query[i]]
        items = []
        for rank, (g, d) in enumerate(
            zip(g_rows.tolist(), block.qg[i, order].tolist(), strict=True), start=1
        ):
            item = self.crop("gallery", int(split.gallery_bbox_idx[g]))
            item.update(
                rank=rank, distance=float(d), match=bool(split.gallery_person_uid[g] == q_uid)
            )
            items.append(item)
        ref_i = self._query_pos[int(query_bbox_idx)]
        rank, ap = int(view.first_rank[ref_i]), float(view.ap[ref_i])
        return {
            "method": slug,
            "query": self.crop("query", int(query_bbox_idx)),
            "action_idx": int(block.action_idx),
            "num_gallery": int(len(block.gallery)),
            "first_match_rank": rank or None,
            "ap": None if np.isnan(ap) else ap,
            "items": items,
        }

    def image_path(self, role: str, bbox_idx: int) -> Path:
        """The crop file of a query or gallery ``bbox_idx``; never outside the split folder."""
        row = self._row_of.get(role, {}).get(int(bbox_idx))
        if row is None:
            raise NotFound(None, f"no {role} crop with bbox_idx {bbox_idx} in this run")
        path = (self.split_dir / str(self.reference.path[row])).resolve()
        if not path.is_relative_to(self.split_dir) or path.suffix.lower() not in IMAGE_SUFFIXES:
            raise NotFound(None, f"crop {role}/{bbox_idx} is outside the dataset: not served")
        if not path.is_file():  # named relative to the split: no local path in the answer
            rel = path.relative_to(self.split_dir)
            raise NotFound(None, f"crop file {self.split}/{rel} is missing from the dataset")
        return path
