"""The stage plan: data fraction, subset mode, input size, epochs and rate per stage.

A plan trains in stages, each starting from the previous one's weights: e.g. 10 % of the
actions, then 30 %, then everything at a higher resolution (fast prototyping first), and
it may grow the input size within a stage (progressive resizing: small images first,
which makes the early epochs cheap). A :class:`Stage` is one resolved row of that plan;
:meth:`Stage.size_at` says which input size an epoch uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from footreid.core.config import StageConfig
from footreid.core.errors import ConfigError
from footreid.core.records import Sample
from footreid.core.size import ImageSize


@dataclass(frozen=True)
class Stage:
    """One resolved stage.

    Attributes:
        index: position in the plan (0-based); name: its label in logs and checkpoints.
        fraction: share of the training actions, in (0, 1]; subset: random or prefix.
        epochs: epochs of the stage; lr: base learning rate.
        input_size: (H, W) after the progressive steps.
        progressive: ((H, W, epochs), ...) sizes used first, in order.
    """

    index: int
    name: str
    fraction: float
    subset: str
    epochs: int
    lr: float
    input_size: ImageSize
    progressive: tuple[tuple[int, int, int], ...] = ()

    def size_at(self, epoch: int) -> ImageSize:
        """(H, W) used in ``epoch`` (0-based, within the stage)."""
        start = 0
        for h, w, n in self.progressive:
            if epoch < start + n:
                return ImageSize(h, w)
            start += n
        return self.input_size

    def sizes(self) -> list[ImageSize]:
        """The size of every epoch of the stage, in order."""
        return [self.size_at(e) for e in range(self.epochs)]


def plan_stages(
    stages: Sequence[StageConfig], default_size: Sequence[int], patch_size: int | None = None
) -> list[Stage]:
    """Resolve and check the config's stages.

    Args:
        stages: the ``stages`` list of the config (at least one).
        default_size: (H, W) of the model's spec, for stages without ``input_size``.
        patch_size: the model's patch size (ViTs: every size must be a multiple of it).

    Raises:
        ConfigError: no stage, a bad fraction/epochs/lr, or a bad size, naming the field.
    """
    if not stages:
        raise ConfigError("stages: give at least one stage")
    plan = []
    for i, cfg in enumerate(stages):
        where = f"stages.{i}"
        if not 0.0 < cfg.fraction <= 1.0:
            raise ConfigError(f"{where}.fraction: must be in (0, 1], got {cfg.fraction}")
        if cfg.epochs < 1 or cfg.lr <= 0:
            raise ConfigError(f"{where}: epochs must be >= 1 and lr > 0 ({cfg.epochs}, {cfg.lr})")
        size = ImageSize.parse(cfg.input_size or default_size, f"{where}.input_size", patch_size)
        steps = []
        for j, step in enumerate(cfg.progressive):
            if len(step) != 3 or step[2] < 1:
                raise ConfigError(f"{where}.progressive.{j}: expected [H, W, epochs], got {step}")
            h, w = ImageSize.parse(step[:2], f"{where}.progressive.{j}", patch_size)
            steps.append((h, w, int(step[2])))
        if sum(s[2] for s in steps) >= cfg.epochs:
            raise ConfigError(
                f"{where}.progressive: its steps take {sum(s[2] for s in steps)} of the "
                f"{cfg.epochs} epochs; leave at least one epoch at input_size {size.to_list()}"
            )
        plan.append(
            Stage(i, cfg.name, cfg.fraction, cfg.subset, cfg.epochs, cfg.lr, size, tuple(steps))
        )
    names = [s.name for s in plan]
    if len(set(names)) != len(names):
        raise ConfigError(f"stages: names must be unique, got {names}")
    return plan


def stage_samples(train: Sequence[Sample], stage: Stage | StageConfig, seed: int) -> list[Sample]:
    """The training crops of a stage, relabelled 0..C-1.

    Args:
        train: every training crop (``read_train``).
        stage: a :class:`Stage` or its config: ``fraction`` and ``subset`` (prefix: the
            official rule; random).
        seed: seed of the random action draw.
    """
    from footreid.data.soccernet import subset_by_actions

    if stage.fraction >= 1.0:
        return list(train)
    return subset_by_actions(list(train), stage.fraction, stage.subset, seed=seed)  # type: ignore[arg-type]


def class_signature(samples: Sequence[Sample]) -> str:
    """Hash of the identity behind each label: equal signatures mean the classifier fits.

    Returns:
        Hex SHA-1 of the ``person_uid`` of labels 0..C-1, in label order.
    """
    uid_of: dict[int, str] = {}
    for s in samples:
        uid_of.setdefault(s.label, str(s.person_uid))
    digest = hashlib.sha1(usedforsecurity=False)
    for label in sorted(uid_of):
        digest.update(f"{label}:{uid_of[label]}\n".encode())
    return digest.hexdigest()


def count_classes(samples: Sequence[Sample]) -> int:
    """Number of training classes C (labels must be 0..C-1)."""
    labels = {s.label for s in samples}
    if not labels or min(labels) != 0 or max(labels) != len(labels) - 1:
        raise ConfigError("training labels must be contiguous 0..C-1 (use read_train / relabel)")
    return len(labels)


def class_actions(samples: Sequence[Sample]) -> list[int]:
    """``action_idx`` of each class 0..C-1 (a SoccerNet class is a player in one action).

    Raises:
        ConfigError: a label spans two actions (then it is not a player-in-action class).
    """
    action_of: dict[int, int] = {}
    for s in samples:
        if action_of.setdefault(s.label, s.action_idx) != s.action_idx:
            raise ConfigError(
                f"label {s.label} ({s.person_uid}) appears in actions {action_of[s.label]} "
                f"and {s.action_idx}: classes must be players within one action"
            )
    return [action_of[label] for label in range(count_classes(samples))]
