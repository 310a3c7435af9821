"""Loss terms (registered by name) and the Objective that combines them with weights.

Models are pure (their output does not depend on the loss): a term reads what it needs
from the model's :class:`~footreid.models.spec.ReidOutput` -- ``logits`` (softmax
terms), ``feature`` (the pre-BNNeck vector, for metric terms, as in BoT) -- and the
labels. The recipe
names terms and weights (``loss: {ce: {weight: 0.5, label_smoothing: 0.1}, ...}``);
weight 0 drops a term.

Every term is a :class:`~footreid.train.terms.LossTerm` that declares what it reads in
a :class:`~footreid.train.terms.TermNeeds` record (identity logits, which vector, the
action of every class); the :class:`Objective` and the training run read those fields.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from footreid.core.errors import ConfigError, TrainingError
from footreid.models.spec import ReidOutput
from footreid.train.terms import LOSSES, LossTerm, TermNeeds


def _check_on(on: str) -> str:
    if on not in ("feature", "embedding"):
        raise ConfigError(f"'on' must be feature or embedding, got '{on}'")
    return on


@LOSSES.register("ce")
class CrossEntropyTerm(LossTerm):
    """Identity cross-entropy with label smoothing (Szegedy et al. 2016; BoT eps=0.1).

    A SoccerNet class is a player *in one action*: the same real player is a different
    class in every action, so a softmax over all classes pushes a player away from
    himself. ``within="action"`` keeps only the classes of the crop's own action in its
    softmax (the others are masked out), which is exactly the distinction the
    per-action evaluation asks for; it needs :meth:`Objective.bind_classes`.

    Args:
        label_smoothing: eps in [0, 1): the target puts 1 - eps + eps/C on the class
            (C: the classes of the softmax).
        within: ``all`` classes, or the classes of the crop's ``action``.
    """

    def __init__(self, label_smoothing: float = 0.1, within: str = "all") -> None:
        super().__init__(TermNeeds(logits=True, class_groups=within == "action"))
        if not 0.0 <= label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        if within not in ("all", "action"):
            raise ConfigError(f"'within' must be all or action, got '{within}'")
        self.label_smoothing, self.within = label_smoothing, within

    def forward(self, out: ReidOutput, labels: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch; ``out.logits`` (B, C), labels (B,) int64."""
        if out.logits is None:
            raise TrainingError(
                "the 'ce' loss needs identity logits but the model has no classifier "
                "(num_classes=0); drop the ce term or build the model with classes"
            )
        logits = out.logits.float()
        if self.within == "action":
            logits = self._mask_other_actions(logits, labels)
            return _smoothed_ce(logits, labels, self.label_smoothing)
        return F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)

    def _mask_other_actions(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        groups = self.class_groups
        if groups is None or groups.shape[0] != logits.shape[1]:
            raise TrainingError(
                "ce within=action needs the action of every class (Objective.bind_classes) "
                f"for the classifier's {logits.shape[1]} classes"
            )
        groups = groups.to(logits.device)
        other = groups[None, :] != groups[labels][:, None]
        return logits.masked_fill(other, float("-inf"))


def _smoothed_ce(logits: torch.Tensor, labels: torch.Tensor, eps: float) -> torch.Tensor:
    """Label-smoothed CE over the finite logits of each row (masked classes excluded)."""
    log_prob = logits.log_softmax(dim=1)
    finite = torch.isfinite(logits)
    nll = -log_prob.gather(1, labels[:, None]).squeeze(1)
    if eps == 0:
        return nll.mean()
    smooth = -log_prob.masked_fill(~finite, 0.0).sum(1) / finite.sum(1)
    return ((1 - eps) * nll + eps * smooth).mean()


def _distances(x: torch.Tensor, y: torch.Tensor, normalize: bool) -> torch.Tensor:
    """(B, M) Euclidean (or cosine when ``normalize``) distances, float32."""
    x, y = x.float(), y.float()
    if normalize:
        return 1.0 - F.normalize(x, dim=1) @ F.normalize(y, dim=1).T
    return torch.cdist(x, y).clamp_min(1e-12)


@LOSSES.register("triplet")
class TripletTerm(LossTerm):
    """Batch-hard triplet loss (Hermans et al. 2017): hardest positive vs hardest negative.

    Args:
        margin: hinge margin (0.3 in the reference recipes); 0 uses the soft margin
            log(1 + exp(d_ap - d_an)).
        normalize: cosine distance on L2-normalised features instead of Euclidean.
        on: ``feature`` (pre-BNNeck, default) or ``embedding``.
        within: negatives from ``all`` the batch, or only from the anchor's ``action``
            (a player of another action may be the same person under another label).
        centre: compare features minus the mean feature of their action in the batch,
            as :mod:`footreid.evaluate.centring` does at test time.
        ``within="action"`` and ``centre`` need :meth:`Objective.bind_classes`.
    """

    def __init__(
        self,
        margin: float = 0.3,
        normalize: bool = False,
        on: str = "feature",
        within: str = "all",
        centre: bool = False,
    ) -> None:
        groups = within == "action" or bool(centre)
        super().__init__(TermNeeds(vector=_check_on(on), class_groups=groups))
        if margin < 0:
            raise ConfigError(f"triplet margin must be >= 0, got {margin}")
        if within not in ("all", "action"):
            raise ConfigError(f"'within' must be all or action, got '{within}'")
        self.margin, self.normalize = margin, normalize
        self.within, self.centre = within, bool(centre)

    def forward(self, out: ReidOutput, labels: torch.Tensor) -> torch.Tensor:
        """Mean over anchors that have a positive and a negative in the batch."""
        x = self.vector(out)
        actions = self._actions(labels) if self.needs.class_groups else None
        if self.centre:
            x = _centre(x.float(), actions)
        dist = _distances(x, x, self.normalize)
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        pos_mask, neg_mask = same & ~eye, ~same
        if self.within == "action":
            neg_mask &= actions[:, None] == actions[None, :]
        valid = pos_mask.any(1) & neg_mask.any(1)
        if not valid.any():
            return dist.sum() * 0.0
        hardest_pos = dist.masked_fill(~pos_mask, float("-inf")).amax(1)[valid]
        hardest_neg = dist.masked_fill(~neg_mask, float("inf")).amin(1)[valid]
        if self.margin == 0:
            return F.softplus(hardest_pos - hardest_neg).mean()
        return F.relu(hardest_pos - hardest_neg + self.margin).mean()

    def _actions(self, labels: torch.Tensor) -> torch.Tensor:
        if self.class_groups is None:
            raise TrainingError(
                "triplet within=action / centre needs the action of every class "
                "(Objective.bind_classes)"
            )
        return self.class_groups.to(labels.device)[labels]


def _group_sums(
    x: torch.Tensor, groups: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per distinct group of the batch: (sums of ``x`` rows, counts); and each row's group."""
    codes, inverse, counts = groups.unique(return_inverse=True, return_counts=True)
    sums = torch.zeros(len(codes), x.shape[1], device=x.device, dtype=x.dtype)
    return sums.index_add_(0, inverse, x), counts, inverse


def _centre(x: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """(B, D) features minus the mean of the batch's features of the same action."""
    sums, counts, inverse = _group_sums(x, actions)
    return x - (sums / counts.to(x.dtype)[:, None])[inverse]


@LOSSES.register("centroid")
class CentroidTerm(LossTerm):
    """Centroid triplet loss (Wieczorek et al. 2021), the loss of Sports Re-ID.

    Each anchor is compared with class centroids of the batch instead of single
    crops: its own class's centroid without it (leave-one-out) as the positive, the
    nearest other centroid as the negative.

    Args:
        margin: hinge margin; normalize: cosine distance on L2-normalised features.
        on: ``feature`` (pre-BNNeck, default) or ``embedding``.
    """

    def __init__(self, margin: float = 0.3, normalize: bool = False, on: str = "feature") -> None:
        super().__init__(TermNeeds(vector=_check_on(on)))
        if margin < 0:
            raise ConfigError(f"centroid margin must be >= 0, got {margin}")
        self.margin, self.normalize = margin, normalize

    def forward(self, out: ReidOutput, labels: torch.Tensor) -> torch.Tensor:
        """Mean over anchors whose class has another crop and with another class present."""
        x = self.vector(out).float()
        sums, counts, inverse = _group_sums(x, labels)
        centroids = sums / counts[:, None]
        own_n = counts[inverse]
        valid = own_n > 1
        if not valid.any() or len(counts) < 2:  # one count per class
            return x.sum() * 0.0
        loo = (sums[inverse] - x) / (own_n - 1).clamp_min(1)[:, None]
        d_pos = _distances(x, loo, self.normalize).diagonal()
        d_all = _distances(x, centroids, self.normalize)
        own = torch.zeros_like(d_all, dtype=torch.bool)
        own[torch.arange(len(x)), inverse] = True
        d_neg = d_all.masked_fill(own, float("inf")).amin(1)
        return F.relu(d_pos - d_neg + self.margin)[valid].mean()


@LOSSES.register("infonce")
class InfoNCETerm(LossTerm):
    """Image-to-image InfoNCE with every same-identity crop as a positive (SupCon form).

    For anchor i: -mean_{p in P(i)} log( exp(s_ip / T) / sum_{a != i} exp(s_ia / T) ),
    s = cosine similarity; the 2023 winners trained CLIP ViTs with such a loss.

    Args:
        temperature: T > 0.
        on: ``feature`` (pre-BNNeck, default) or ``embedding``.
    """

    def __init__(self, temperature: float = 0.05, on: str = "feature") -> None:
        super().__init__(TermNeeds(vector=_check_on(on)))
        if temperature <= 0:
            raise ConfigError(f"infonce temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def forward(self, out: ReidOutput, labels: torch.Tensor) -> torch.Tensor:
        """Mean over anchors with at least one positive in the batch."""
        z = F.normalize(self.vector(out).float(), dim=1)
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        logits = (z @ z.T / self.temperature).masked_fill(eye, float("-inf"))
        log_prob = logits.log_softmax(dim=1).masked_fill(eye, 0.0)
        pos = (labels[:, None] == labels[None, :]) & ~eye
        n_pos = pos.sum(1)
        valid = n_pos > 0
        if not valid.any():
            return z.sum() * 0.0
        per_anchor = -(log_prob * pos).sum(1)[valid] / n_pos[valid]
        return per_anchor.mean()


class Objective(nn.Module):
    """Weighted sum of loss terms, returning the named parts for logging.

    Args:
        terms: name -> (weight, :class:`LossTerm`); weights must be > 0.
    """

    def __init__(self, terms: Mapping[str, tuple[float, LossTerm]]) -> None:
        super().__init__()
        if not terms:
            raise ConfigError("loss: no term with a weight > 0; give at least one (e.g. ce)")
        for name, (_, term) in terms.items():
            if not isinstance(term, LossTerm):
                raise TypeError(f"loss term '{name}' is a {type(term).__name__}, not a LossTerm")
        self.weights = {name: float(weight) for name, (weight, _) in terms.items()}
        self.terms = nn.ModuleDict({name: term for name, (_, term) in terms.items()})

    @property
    def needs_logits(self) -> bool:
        """True when a term reads identity logits (the model needs a classifier)."""
        return any(term.needs.logits for term in self._terms())

    @property
    def needs_class_groups(self) -> bool:
        """True when a term needs the action of every class (:meth:`bind_classes`)."""
        return any(term.needs.class_groups for term in self._terms())

    def bind_classes(self, class_groups: torch.Tensor) -> None:
        """Tell the terms which action each class 0..C-1 belongs to ((C,) int64)."""
        for term in self._terms():
            if term.needs.class_groups:
                term.class_groups = class_groups

    def _terms(self) -> list[LossTerm]:
        return list(self.terms.values())  # type: ignore[arg-type]  # checked in __init__

    def forward(
        self, out: ReidOutput, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss (scalar float32) and the unweighted terms by name (detached)."""
        parts = {name: term(out, labels) for name, term in self.terms.items()}
        total = sum(self.weights[name] * value for name, value in parts.items())
        return total, {name: value.detach() for name, value in parts.items()}


def build_objective(loss: Mapping[str, Mapping[str, Any]]) -> Objective:
    """An :class:`Objective` from the config's ``loss`` mapping.

    Args:
        loss: term name -> ``{weight: float, **term parameters}``.

    Raises:
        RegistryError: unknown term name (with suggestions).
        ConfigError: missing weight or a parameter the term does not take.
    """
    terms: dict[str, tuple[float, LossTerm]] = {}
    for name, params in loss.items():
        factory = LOSSES.get(name)
        params = dict(params)
        if "weight" not in params:
            raise ConfigError(f"loss.{name}: give its weight (loss.{name}.weight=0.5)")
        weight = float(params.pop("weight"))
        if weight < 0:
            raise ConfigError(f"loss.{name}.weight: must be >= 0, got {weight}")
        known = [p for p in inspect.signature(factory).parameters]
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(
                f"loss.{name}: unknown parameter(s) {', '.join(unknown)}; "
                f"it takes weight, {', '.join(known)}"
            )
        if weight > 0:
            try:
                terms[name] = (weight, factory(**params))
            except ConfigError as exc:
                raise ConfigError(f"loss.{name}: {exc}") from None
    return Objective(terms)
