"""A small fake experiment run for the report and demo tests (no training, seconds to build).

``build_fake_run(tmp)`` writes, under ``tmp``:

* ``data/reid/valid/{query,gallery}/league/2024/game/<action>/<crop>.png``: drawn
  football-player crops (pitch, kit of the team / referee / goalkeeper, skin, shorts,
  legs) named by the SoccerNet grammar ``bbox-action-person-frame-clazz-id-UAI-HxW``;
* ``run/features/{good,weak}.npz``: FeatureSets whose vectors are a per-person vector
  plus a per-team vector plus noise (so same-kit confusions happen, as on real data);
  with ``checkpoint=True`` also ``run/features/osnet.npz`` embedded by a real tiny
  random OSNet checkpoint ``run/osnet.pt`` (uploads of a crop then find that crop);
* ``run/train_good/metrics.jsonl``: training curves;
* ``run/results.json``: single models, concatenation, weighted average, re-ranking,
  with metrics measured by ``footreid.evaluate`` on the rebuilt methods.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

KITS = {
    "Player_team_left": ((200, 30, 40), (245, 245, 245)),
    "Player_team_right": ((40, 70, 200), (20, 20, 30)),
    "Goalkeeper_team_left": ((240, 220, 40), (20, 20, 20)),
    "Goalkeeper_team_right": ((250, 140, 30), (40, 40, 40)),
    "Main_referee": ((15, 15, 15), (15, 15, 15)),
    "Side_referee": ((230, 230, 60), (15, 15, 15)),
}
ACTION_CLASSES = (
    ["Player_team_left"] * 3 + ["Player_team_right"] * 3 + ["Goalkeeper_team_left", "Main_referee"]
)


def draw_crop(clazz: str, height: int, width: int, rng: np.random.Generator) -> Image.Image:
    """A player-like RGB crop: pitch green, head, shirt of the kit, shorts, legs."""
    shirt, shorts = KITS[clazz]
    pitch = tuple(int(v) for v in rng.integers((30, 110, 30), (60, 160, 60)))
    img = Image.new("RGB", (width, height), pitch)
    d = ImageDraw.Draw(img)
    cx, skin = width / 2, tuple(int(v) for v in rng.integers((170, 120, 90), (235, 190, 160)))
    d.ellipse((cx - width * 0.14, height * 0.03, cx + width * 0.14, height * 0.17), fill=skin)
    d.rectangle((cx - width * 0.28, height * 0.18, cx + width * 0.28, height * 0.52), fill=shirt)
    d.rectangle((cx - width * 0.25, height * 0.52, cx + width * 0.25, height * 0.68), fill=shorts)
    lean = float(rng.uniform(-0.08, 0.08)) * width
    d.line((cx - width * 0.12, height * 0.68, cx - width * 0.15 + lean, height * 0.97), skin, 3)
    d.line((cx + width * 0.12, height * 0.68, cx + width * 0.15 + lean, height * 0.97), skin, 3)
    noise = rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(
        np.clip(np.asarray(img, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    )


def _write_crops(split_dir: Path, num_actions: int, rng: np.random.Generator) -> list[dict]:
    """Draw the crops; returns one record per crop (role, bbox, action, person, class, path)."""
    crops: list[dict] = []
    counters = {"query": 0, "gallery": 0}
    for action in range(num_actions):
        for p, clazz in enumerate(ACTION_CLASSES):
            uid = str(1000 + 10 * action + p)
            views = [("query", 1)] if p != 5 else []  # one live crop has no query
            views += [("gallery", 2 if p % 3 else 1)]
            for role, count in views:
                for _ in range(count):
                    h = int(rng.integers(72, 120))
                    w = int(h * rng.uniform(0.4, 0.55))
                    bbox = counters[role]
                    counters[role] += 1
                    name = (
                        f"{bbox}-{action}-{uid}-{7 * action}-{clazz}-{p}-uai{bbox:04d}-{h}x{w}.png"
                    )
                    rel = f"{role}/league/2024/game/{action}/{name}"
                    (split_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                    draw_crop(clazz, h, w, rng).save(split_dir / rel)
                    crops.append(
                        dict(
                            role=role,
                            bbox_idx=bbox,
                            action_idx=action,
                            person_uid=uid,
                            clazz=clazz,
                            path=rel,
                        )
                    )
    return crops


def _features(crops: list[dict], noise: float, team_weight: float, seed: int, name: str):
    from footreid.core.records import FeatureSet

    rng = np.random.default_rng(seed)
    dim = 32
    persons = {c["person_uid"]: rng.normal(size=dim) for c in crops}
    teams = {k: rng.normal(size=dim) for k in KITS}
    vecs = np.stack(
        [
            persons[c["person_uid"]]
            + team_weight * teams[c["clazz"]]
            + noise * rng.normal(size=dim)
            for c in crops
        ]
    )
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    fields = {
        k: [c[k] for c in crops]
        for k in ("bbox_idx", "action_idx", "person_uid", "role", "path", "clazz")
    }
    return FeatureSet(features=vecs, **fields, meta={"model": name, "flip_tta": False})


def _osnet_features(
    run: Path, split_dir: Path, crops: list[dict], size: tuple[int, int] = (64, 32)
):
    """A real tiny random OSNet checkpoint and the features it gives the crops.

    Embedded like ``footreid embed`` does (trained input size, evaluation transform, flip
    TTA, L2-normalised), with plain torch so this fixture does not depend on the embed
    package's data loading; tests/unit/serve/test_serve_upload.py checks both agree.
    """
    import torch

    from footreid.core.records import FeatureSet
    from footreid.embed import load_embed_model
    from footreid.embed.batching import eval_transform
    from footreid.models import create_model

    torch.manual_seed(0)
    model = create_model("osnet_x0_25", num_classes=0)
    run.mkdir(parents=True, exist_ok=True)
    ckpt = run / "osnet.pt"
    torch.save(
        {
            "model_name": "osnet_x0_25",
            "model_kwargs": {},
            "num_classes": 0,
            "input_size": list(size),
            "model": model.state_dict(),
            "config": {},
        },
        ckpt,
    )
    embed_model = load_embed_model(ckpt)
    transform = eval_transform(embed_model.input_size, embed_model.mean, embed_model.std)
    x = torch.stack([transform(Image.open(split_dir / c["path"]).convert("RGB")) for c in crops])
    with torch.inference_mode():
        emb = (embed_model.model(x) + embed_model.model(torch.flip(x, dims=[3]))) / 2
    vecs = torch.nn.functional.normalize(emb, dim=1).numpy()
    fields = {
        k: [c[k] for c in crops]
        for k in ("bbox_idx", "action_idx", "person_uid", "role", "path", "clazz")
    }
    return FeatureSet(features=vecs, **fields, meta={**embed_model.meta(), "flip_tta": True})


def _methods(model_names: list[str]) -> list[dict]:
    specs = [dict(name=n, kind="single", members=[n]) for n in model_names]
    pair = model_names[:2]
    specs += [
        dict(name="concat", kind="concat", members=pair),
        dict(name="average 0.7/0.3", kind="average", members=pair, weights=[0.7, 0.3]),
        dict(
            name="average + rerank standard",
            kind="average",
            members=pair,
            weights=[0.7, 0.3],
            rerank="standard",
        ),
    ]
    return specs


def build_fake_run(
    tmp: Path,
    num_actions: int = 5,
    checkpoint: bool = False,
    seed: int = 0,
    checkpoint_size: tuple[int, int] = (64, 32),
) -> Path:
    """Write a fake dataset and experiment run under ``tmp``; returns the run directory.

    ``checkpoint_size`` is the (H, W) input size of the OSNet checkpoint (load tests use
    the real 256x128, so an upload costs what it costs in a real run).
    """
    from footreid.evaluate.methods import MethodSpec, compute_method
    from footreid.evaluate.metrics import evaluate_distances

    rng = np.random.default_rng(seed)
    data, run = tmp / "data", tmp / "run"
    split_dir = data / "reid" / "valid"
    crops = _write_crops(split_dir, num_actions, rng)
    feats = {
        "good": _features(crops, 1.3, 0.8, seed + 1, "good"),
        "weak": _features(crops, 2.0, 1.0, seed + 2, "weak"),
    }
    if checkpoint:
        feats["osnet"] = _osnet_features(run, split_dir, crops, checkpoint_size)
    models = []
    for name, fs in feats.items():
        fs.save(run / "features" / f"{name}.npz")
        models.append(
            {
                "name": name,
                "checkpoint": "osnet.pt" if name == "osnet" else None,
                "features": f"features/{name}.npz",
                "train_run": "train_good" if name == "good" else None,
            }
        )
    (run / "train_good").mkdir(parents=True, exist_ok=True)
    lines = [
        {
            "epoch": e,
            "loss_ce": 4.0 / (e + 1),
            "loss_triplet": 0.3 / (e + 1),
            "lr": 3e-4,
            "accuracy": 1 - 0.8 / (e + 1),
            "val_mAP": 0.4 + 0.05 * e,
        }
        for e in range(6)
    ]
    (run / "train_good" / "metrics.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n")
    methods = []
    for spec in _methods(list(feats)):
        result = evaluate_distances(compute_method(MethodSpec.from_dict(spec), feats))
        slug = spec["name"].replace(" ", "_").replace("/", "-").replace("+", "")
        metrics = {
            "mAP": result.mAP,
            "rank1": result.rank1,
            "cmc": result.cmc.tolist(),
            "num_queries": result.num_queries,
        }
        methods.append(
            {
                "name": spec["name"],
                "slug": slug,
                "spec": spec,
                "metrics": metrics,
                "time_s": 0.01,
                "per_query_csv": f"per_query/{slug}.csv",
            }
        )
    best = max(methods, key=lambda m: m["metrics"]["mAP"])["slug"]
    results = {
        "dataset": {"root": str(data), "split": "valid", "tuning_split": None},
        "models": models,
        "methods": methods,
        "best_method": best,
    }
    (run / "results.json").write_text(json.dumps(results, indent=2))
    return run
