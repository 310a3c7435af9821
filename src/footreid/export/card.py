"""The model card (README.md) of a model folder, written from its ``config.json`` only.

Every number on the card comes from the config (the checkpoint's validation record and
the results given at export), so the card cannot disagree with the files beside it.
The front matter is the Hugging Face hub's (``library_name``, ``tags``).
"""

from __future__ import annotations

from typing import Any


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * float(value):.2f}"


def _results_table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return [
            "No evaluation was given at export (`footreid export-model --results FILE`, "
            "FILE from `footreid evaluate FEATURES --json`)."
        ]
    lines = [
        "| method | split | data | mAP (%) | Rank-1 (%) | queries |",
        "| --- | --- | --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r.get('method') or '-'} | {r.get('split') or '-'} | {r.get('data') or '-'} "
            f"| {_pct(r['mAP'])} | {_pct(r['rank1'])} | {r.get('num_queries') or '-'} |"
        )
    return lines


def _validation_line(training: dict[str, Any]) -> str:
    best = training.get("validation") or {}
    if best.get("value") is None:
        return "Validation during training: none recorded (best.pt is the last epoch)."
    split = ((training.get("config") or {}).get("val") or {}).get("split", "?")
    return (
        f"Validation during training: best {best.get('metric')} {_pct(best['value'])} % on "
        f"'{split}' (global epoch {best.get('global_epoch', '?')}); this chose the checkpoint."
    )


def _recipe_lines(training: dict[str, Any]) -> list[str]:
    config = training.get("config") or {}
    model = config.get("model") or {}
    losses = ", ".join(
        f"{name} x{terms.get('weight')}"
        for name, terms in (config.get("loss") or {}).items()
        if terms.get("weight")
    )
    stages = "; ".join(
        f"{s.get('name')}: {s.get('epochs')} epochs, lr {s.get('lr')}, size {s.get('input_size')}"
        for s in config.get("stages") or []
    )
    optim = config.get("optim") or {}
    return [
        f"- training data: `{training.get('data')}` (run `{training.get('run')}`)",
        f"- initial weights: {model.get('pretrained')}",
        f"- losses: {losses or 'n/a'}",
        f"- optimiser: {optim.get('name')}, schedule {optim.get('schedule')}",
        f"- stages: {stages or 'n/a'}",
        f"- seed: {(config.get('train') or {}).get('seed')}",
        f"- checkpoint: `{training.get('checkpoint')}` "
        f"(sha256 `{str(training.get('checkpoint_sha256'))[:16]}...`)",
    ]


def model_card(config: dict[str, Any]) -> str:
    """README.md text of a model folder from its ``config.json`` dict."""
    arch = config["architecture"]
    h, w = config["input_size"]
    training = config.get("training") or {}
    lines = [
        "---",
        "library_name: footreid",
        "tags: [person-reid, football, soccer, re-identification, footreid]",
        "---",
        "",
        f"# {arch} for football player re-identification",
        "",
        f"A footreid model: `{arch}` (options {config.get('options') or {}}), "
        f"{config['embed_dim']}-d embeddings from {h}x{w} RGB crops, "
        f"{config.get('precision', 'fp32')} weights.",
        "",
        "## Use",
        "",
        "```python",
        "import footreid",
        "",
        'enc = footreid.load("THIS_FOLDER_OR_HUB_NAME")',
        "feats = enc.embed(crops)  # (N, D) float32 unit vectors; bgr=True for OpenCV arrays",
        "```",
        "",
        "## Input and output",
        "",
        f"- input: RGB crop resized to {h}x{w} (H x W, bilinear), scaled to [0, 1], "
        f"normalised with mean {config['mean']} and std {config['std']}",
        "- output: the embedding (not L2-normalised by the network); compare unit vectors "
        "by cosine distance",
        "",
        "## Results",
        "",
        *_results_table(config.get("results") or []),
        "",
        _validation_line(training),
        "",
        "## Training",
        "",
        *_recipe_lines(training),
        "",
        "The full resolved training config is `training.config` in `config.json`.",
        "",
    ]
    return "\n".join(lines)
