"""The loss-term contract: what a term reads (:class:`TermNeeds`) and its base class.

:mod:`.objectives` registers the terms (``ce``, ``triplet``, ``centroid``, ``infonce``)
in :data:`LOSSES`; the :class:`~footreid.train.objectives.Objective` and the training
run read a term's needs from its declared :class:`TermNeeds`, never by probing for
attributes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from footreid.core.registry import Registry
from footreid.models.spec import ReidOutput


@dataclass(frozen=True)
class TermNeeds:
    """What a loss term reads besides the (B,) int64 labels, declared once per term.

    Attributes:
        logits: the identity logits ``out.logits`` (B, C): the model needs a classifier.
        vector: the (B, D) vector it compares: ``feature`` (before the BNNeck),
            ``embedding`` (after it), or None (none).
        class_groups: the action of every class 0..C-1, bound by
            :meth:`Objective.bind_classes` before a stage's first step.
    """

    logits: bool = False
    vector: str | None = None
    class_groups: bool = False


class LossTerm(nn.Module):
    """Base of every registered loss term: ``forward(out, labels)`` -> scalar loss.

    Args:
        needs: what the term reads (:class:`TermNeeds`).
    """

    def __init__(self, needs: TermNeeds) -> None:
        super().__init__()
        self.needs = needs
        self.class_groups: torch.Tensor | None = None

    def vector(self, out: ReidOutput) -> torch.Tensor:
        """The (B, D) vector of ``out`` named by ``needs.vector``."""
        assert self.needs.vector is not None, f"{type(self).__name__} reads no vector"
        return out.embedding if self.needs.vector == "embedding" else out.feature


LOSSES: Registry[Callable[..., LossTerm]] = Registry("loss term")
