"""Typed run configuration: dataclasses <- a YAML recipe (one ``base:`` level) <- ``--set``.

Resolution order: the dataclass defaults, then the recipe's ``base:`` file (a path
relative to the recipe), then the recipe, then the ``--set a.b=c`` overrides (values
parsed as YAML). Mappings merge key by key (a ``--set`` mapping too, so a saved config
reads back the same); lists are replaced whole.
Every key is checked against the schema (:mod:`footreid.core.schema`): unknown keys are
errors that list the closest names, and values are type-checked. The resolved config is
what a run saves in its ``config.yaml`` and in every checkpoint.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from footreid.core.errors import ConfigError
from footreid.core.io import atomic_write_text
from footreid.core.schema import from_dict, set_path, to_dict

T = TypeVar("T")


@dataclass
class DataConfig:
    """Where the training crops come from and how batches are drawn.

    ``sampler``: ``pk`` (P identities x K crops), ``action`` (the players of one or two
    actions per batch: same-kit hard negatives) or ``random`` (plain shuffling).
    """

    root: str = "data/synthetic-small"
    skip_bad: bool = False
    num_workers: int = 2
    sampler: Literal["pk", "action", "random"] = "pk"
    batch_size: int = 32
    num_instances: int = 4


@dataclass
class AugmentConfig:
    """Training augmentations; probabilities in [0, 1], 0 switches a step off.

    ``occlude``: share of crops that get part of another player of their action over
    one side (``occlude_width``: share of the width), see ``footreid.data.occlusion``.
    """

    hflip: float = 0.5
    crop: float = 0.5
    pad: int = 10
    pad_mode: Literal["constant", "edge", "reflect"] = "constant"
    color_jitter: float = 0.0
    brightness: float = 0.2
    contrast: float = 0.15
    saturation: float = 0.1
    hue: float = 0.0
    erase: float = 0.5
    erase_area: list[float] = field(default_factory=lambda: [0.02, 0.4])
    erase_ratio: list[float] = field(default_factory=lambda: [0.3, 3.3])
    erase_value: Literal["zero", "random"] = "zero"
    occlude: float = 0.0
    occlude_width: list[float] = field(default_factory=lambda: [0.2, 0.45])


@dataclass
class ModelConfig:
    """A registered model (``footreid models``), its weights and its family options."""

    name: str = "osnet_ain_x1_0"
    pretrained: str = "imagenet"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule (the rate itself is per stage)."""

    name: Literal["adam", "adamw", "sgd"] = "adam"
    weight_decay: float = 5e-4
    decay_norm_bias: bool = False
    momentum: float = 0.9
    nesterov: bool = False
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    schedule: Literal["cosine", "step", "constant"] = "step"
    step_size: int = 20
    gamma: float = 0.1
    min_lr_ratio: float = 0.0
    warmup_epochs: float = 0.0
    warmup_start: float = 0.01
    grad_clip: float = 0.0


@dataclass
class StageConfig:
    """One stage of the plan; it starts from the previous stage's weights.

    ``input_size`` [H, W] (None: the model's default) is used after the ``progressive``
    steps ``[[H, W, epochs], ...]`` (smaller sizes first) have run.
    """

    name: str = "full"
    fraction: float = 1.0
    subset: Literal["random", "prefix"] = "random"
    epochs: int = 60
    lr: float = 3.5e-4
    input_size: list[int] | None = None
    progressive: list[list[int]] = field(default_factory=list)


@dataclass
class TrainConfig:
    """The engine: seed, device, precision, logging.

    ``device`` and ``precision`` are resolved by :mod:`footreid.core.hardware`: ``auto`` is
    this rank's GPU (else the CPU) and bf16 autocast where the device computes bf16
    natively (else fp32), the same rule as for embedding.
    """

    seed: int = 0
    device: str = "auto"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: bool = False
    threads: int = 0
    max_steps_per_epoch: int = 0
    log_every: int = 20
    tensorboard: bool = True


@dataclass
class ValConfig:
    """Validation during training: on ``split``, never on the reported split by default."""

    split: str = "valid"
    report_split: str = "test"
    allow_report_split: bool = False
    every: int = 1
    metric: Literal["mAP", "rank1"] = "mAP"
    fraction: float = 1.0
    batch_size: int = 64
    flip_tta: bool = True


def _default_loss() -> dict[str, dict[str, Any]]:
    return {
        "ce": {"weight": 0.5, "label_smoothing": 0.1},
        "triplet": {"weight": 0.5, "margin": 0.3},
    }


@dataclass
class RunConfig:
    """The root of a training run's configuration; the run lives in ``output_dir/name``.

    ``loss`` maps registered loss-term names to ``{weight, **params}``; weight 0 drops
    a term (so a recipe can switch off a term its base enables).
    """

    name: str = "run"
    output_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: dict[str, dict[str, Any]] = field(default_factory=_default_loss)
    optim: OptimConfig = field(default_factory=OptimConfig)
    stages: list[StageConfig] = field(default_factory=lambda: [StageConfig()])
    train: TrainConfig = field(default_factory=TrainConfig)
    val: ValConfig = field(default_factory=ValConfig)

    @property
    def run_dir(self) -> Path:
        """``output_dir / name``."""
        return Path(self.output_dir) / self.name


# ----------------------------------------------------------------------- YAML + overrides


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping (an empty file is an empty mapping)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text, so not a YAML recipe ({exc})") from None
    except RecursionError:  # the YAML parser recurses once per nesting level
        raise ConfigError(f"{path}: not valid YAML (nested too deeply to read)") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    check_size(data, str(path))
    return data


MAX_DEPTH, MAX_VALUES = 64, 100_000
"""Bounds on a config document: YAML aliases can make a value contain itself, or expand
a few lines into billions of values; either would hang or overflow what reads it next."""


def check_size(data: Any, where: str) -> None:
    """Refuse a document nested deeper than MAX_DEPTH or holding more than MAX_VALUES."""
    stack, seen = [(data, 0)], 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if depth > MAX_DEPTH or seen > MAX_VALUES:
            raise ConfigError(
                f"{where}: nested more than {MAX_DEPTH} levels or more than {MAX_VALUES} "
                "values (a YAML alias inside its own anchor, or aliases that multiply); "
                "write the values out"
            )
        if isinstance(node, dict | list):
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else (lists too) is replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def read_recipe(path: str | Path) -> dict[str, Any]:
    """A recipe merged over its ``base:`` file (one level: a base may not have a base)."""
    path = Path(path)
    recipe = read_yaml(path)
    base_ref = recipe.pop("base", None)
    if base_ref is None:
        return recipe
    if not isinstance(base_ref, str):
        raise ConfigError(f"{path}: base: expected a file path, got {base_ref!r}")
    try:
        base_path = (path.parent / base_ref).resolve()
        found = base_path.is_file()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the system
        raise ConfigError(f"{path}: base: {base_ref!r} is not a usable path ({exc})") from None
    if not found:
        raise ConfigError(f"{path}: base: {base_path} not found (paths are relative to the recipe)")
    base = read_yaml(base_path)
    if "base" in base:
        raise ConfigError(
            f"{base_path}: a base file cannot name its own base (one level only); "
            f"merge it into {base_path.name} or point {path.name} at the other file"
        )
    return merge(base, recipe)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=c`` -> (["a", "b"], value of ``c`` read as YAML: numbers, bools, lists...)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip() or any(not part for part in key.strip().split(".")):
        raise ConfigError(
            f"--set {text}: expected KEY=VALUE with a dotted key, e.g. optim.name=sgd"
        )
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except (yaml.YAMLError, RecursionError) as exc:  # recursion: nested too deeply
        raise ConfigError(f"--set {text}: cannot read the value as YAML ({exc})") from None
    check_size(value, f"--set {text}")
    return key.strip().split("."), value


def _merged(raw: Any, keys: list[str], value: Any) -> Any:
    """``value``, merged into the mapping it replaces when both are mappings."""
    node = raw
    for key in keys:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and key.isascii() and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return value
    both = isinstance(node, Mapping) and isinstance(value, Mapping)
    return merge(node, value) if both else value


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    schema: type[T] = RunConfig,  # type: ignore[assignment]
) -> T:
    """Resolve a config: defaults <- recipe (with its base) <- ``--set`` overrides.

    Args:
        path: a YAML recipe, or None for the defaults.
        overrides: ``a.b=c`` strings, applied in order.
        schema: the root dataclass.

    Returns:
        The typed config.

    Raises:
        ConfigError: unreadable file, unknown key (with suggestions) or wrong type.
    """
    raw = to_dict(schema())
    source = ""
    if path is not None:
        raw = merge(raw, read_recipe(path))
        source = str(path)
    config = from_dict(schema, raw, source=source)
    for text in overrides:
        keys, value = parse_override(text)
        raw = to_dict(config)
        set_path(raw, keys, _merged(raw, keys, value), schema, text)
        config = from_dict(schema, raw, source=f"--set {text}")
    return config


def dump_config(config: Any) -> str:
    """YAML text of a config (keys in schema order)."""
    return yaml.safe_dump(to_dict(config), sort_keys=False, default_flow_style=False)


def save_config(config: Any, path: str | Path) -> Path:
    """Write the resolved config as YAML, atomically; returns the path."""
    atomic_write_text(path, dump_config(config))
    return Path(path)
