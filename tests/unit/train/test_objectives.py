"""Loss terms against brute-force formulas, and the Objective's named parts."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from footreid.core.errors import ConfigError, RegistryError, TrainingError
from footreid.models.spec import ReidOutput
from footreid.train.objectives import LOSSES, Objective, build_objective
from footreid.train.terms import LossTerm, TermNeeds


def output(n: int = 8, d: int = 5, c: int = 4, seed: int = 0, logits: bool = True) -> ReidOutput:
    g = torch.Generator().manual_seed(seed)
    feature = torch.randn(n, d, generator=g)
    return ReidOutput(
        embedding=torch.randn(n, d, generator=g),
        feature=feature,
        logits=torch.randn(n, c, generator=g) if logits else None,
    )


LABELS = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])


def test_registry_holds_the_four_terms() -> None:
    assert {"ce", "triplet", "centroid", "infonce"} <= set(LOSSES.names())


def test_ce_label_smoothing_matches_the_formula() -> None:
    out, eps = output(), 0.1
    term = LOSSES.get("ce")(label_smoothing=eps)
    log_p = out.logits.log_softmax(1)
    c = out.logits.shape[1]
    target = torch.full_like(log_p, eps / c)
    target[torch.arange(8), LABELS] += 1 - eps
    expected = -(target * log_p).sum(1).mean()
    assert torch.allclose(term(out, LABELS), expected, atol=1e-6)


def test_ce_without_logits_names_the_fix() -> None:
    with pytest.raises(TrainingError, match="no classifier"):
        LOSSES.get("ce")()(output(logits=False), LABELS)


@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_ce_within_action_is_a_softmax_over_the_action_classes_only(eps: float) -> None:
    out = output(c=4)
    groups = torch.tensor([0, 0, 1, 1])  # classes 0, 1 in action 0; classes 2, 3 in action 1
    term = LOSSES.get("ce")(label_smoothing=eps, within="action")
    objective = Objective({"ce": (1.0, term)})
    assert objective.needs_class_groups
    objective.bind_classes(groups)
    expected = []
    for i, label in enumerate(LABELS.tolist()):
        own = (groups == groups[label]).nonzero().flatten()
        log_p = out.logits[i, own].log_softmax(0)
        target = torch.full((len(own),), eps / len(own))
        target[own.tolist().index(label)] += 1 - eps
        expected.append(-(target * log_p).sum())
    assert torch.allclose(term(out, LABELS), torch.stack(expected).mean(), atol=1e-6)
    plain = LOSSES.get("ce")(label_smoothing=eps)
    assert not torch.allclose(term(out, LABELS), plain(out, LABELS))


def test_ce_within_action_needs_the_class_groups() -> None:
    term = LOSSES.get("ce")(within="action")
    with pytest.raises(TrainingError, match="bind_classes"):
        term(output(), LABELS)
    term.class_groups = torch.tensor([0, 1])  # sized for another classifier
    with pytest.raises(TrainingError, match="4 classes"):
        term(output(), LABELS)
    with pytest.raises(ConfigError, match="all or action"):
        LOSSES.get("ce")(within="game")
    assert not Objective({"ce": (1.0, LOSSES.get("ce")())}).needs_class_groups


def brute_triplet(x: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    losses = []
    for i in range(len(x)):
        pos = [torch.dist(x[i], x[j]) for j in range(len(x)) if j != i and labels[j] == labels[i]]
        neg = [torch.dist(x[i], x[j]) for j in range(len(x)) if labels[j] != labels[i]]
        if pos and neg:
            losses.append(torch.relu(max(pos) - min(neg) + margin))
    return torch.stack(losses).mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_hard_triplet_matches_brute_force(seed: int) -> None:
    out = output(seed=seed)
    term = LOSSES.get("triplet")(margin=0.3)
    got = term(out, LABELS)
    assert torch.allclose(got, brute_triplet(out.feature, LABELS, 0.3), atol=1e-5)
    assert got > 0


def test_triplet_soft_margin_and_anchor_without_positive() -> None:
    out = output()
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 9])  # anchors 6 and 7 have no positive
    x = out.feature
    d = torch.cdist(x, x)
    expected = []
    for i in range(6):
        same = (labels == labels[i]) & (torch.arange(8) != i)
        expected.append(F.softplus(d[i][same].max() - d[i][labels != labels[i]].min()))
    got = LOSSES.get("triplet")(margin=0.0)(out, labels)
    assert torch.allclose(got, torch.stack(expected).mean(), atol=1e-5)


def test_triplet_without_valid_anchor_is_zero_with_gradient() -> None:
    feature = torch.randn(4, 3, requires_grad=True)
    out = ReidOutput(feature, feature, None)
    loss = LOSSES.get("triplet")()(out, torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert float(loss.detach()) == 0.0 and feature.grad is not None


def test_triplet_is_zero_when_classes_are_far_apart() -> None:
    feature = torch.tensor([[0.0, 0], [0.1, 0], [10, 0], [10.1, 0]])
    out = ReidOutput(feature, feature, None)
    assert float(LOSSES.get("triplet")(margin=0.3)(out, torch.tensor([0, 0, 1, 1]))) == 0.0


def test_centroid_loss_matches_brute_force() -> None:
    out = output(n=9)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 3])  # class 3 has no second crop
    x, margin = out.feature, 0.2
    centroids = {int(c): x[labels == c].mean(0) for c in labels.unique()}
    losses = []
    for i in range(9):
        own = labels == labels[i]
        if own.sum() < 2:
            continue
        loo = x[own & (torch.arange(9) != i)].mean(0)
        d_neg = min(torch.dist(x[i], centroids[c]) for c in centroids if c != int(labels[i]))
        losses.append(torch.relu(torch.dist(x[i], loo) - d_neg + margin))
    got = LOSSES.get("centroid")(margin=margin)(out, labels)
    assert torch.allclose(got, torch.stack(losses).mean(), atol=1e-5)


def test_infonce_matches_brute_force() -> None:
    out, t = output(), 0.1
    z = F.normalize(out.feature, dim=1)
    s = z @ z.T / t
    losses = []
    for i in range(8):
        denom = torch.logsumexp(torch.cat([s[i, :i], s[i, i + 1 :]]), 0)
        positives = [j for j in range(8) if j != i and LABELS[j] == LABELS[i]]
        losses.append(-torch.stack([s[i, j] - denom for j in positives]).mean())
    got = LOSSES.get("infonce")(temperature=t)(out, LABELS)
    assert torch.allclose(got, torch.stack(losses).mean(), atol=1e-5)


def test_infonce_prefers_clustered_features() -> None:
    term = LOSSES.get("infonce")(temperature=0.1)
    clustered = torch.eye(4).repeat_interleave(2, 0) + 0.01 * torch.randn(8, 4)
    mixed = torch.eye(4).repeat(2, 1)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    good = term(ReidOutput(clustered, clustered, None), labels)
    bad = term(ReidOutput(mixed, mixed, None), labels)
    assert good < bad


def test_objective_returns_weighted_total_and_named_parts() -> None:
    objective = build_objective(
        {
            "ce": {"weight": 0.5, "label_smoothing": 0.1},
            "triplet": {"weight": 0.5, "margin": 0.3},
            "centroid": {"weight": 0.0},
            "infonce": {"weight": 2.0, "temperature": 0.1},
        }
    )
    out = output()
    total, parts = objective(out, LABELS)
    assert set(parts) == {"ce", "triplet", "infonce"}  # weight 0 drops a term
    expected = 0.5 * parts["ce"] + 0.5 * parts["triplet"] + 2.0 * parts["infonce"]
    assert math.isclose(float(total), float(expected), rel_tol=1e-6)
    assert all(not p.requires_grad for p in parts.values())
    assert objective.needs_logits


def test_objective_without_ce_needs_no_logits() -> None:
    assert not build_objective({"triplet": {"weight": 1.0}}).needs_logits


@pytest.mark.parametrize(
    ("loss", "error", "match"),
    [
        ({"ce": {"label_smoothing": 0.1}}, ConfigError, "give its weight"),
        ({"ce": {"weight": 1.0, "smoothing": 0.1}}, ConfigError, "unknown parameter"),
        ({"ce": {"weight": -1.0}}, ConfigError, ">= 0"),
        ({"triplet": {"weight": 1.0, "margin": -1}}, ConfigError, "loss.triplet"),
        ({"triplet": {"weight": 1.0, "on": "logits"}}, ConfigError, "feature or embedding"),
        ({"ce": {"weight": 0.0}}, ConfigError, "no term"),
        ({"tripplet": {"weight": 1.0}}, RegistryError, "triplet"),
    ],
)
def test_bad_loss_configs_are_refused(loss: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        build_objective(loss)


def test_terms_on_embedding_read_the_embedding() -> None:
    out = output()
    on_emb = LOSSES.get("triplet")(on="embedding")(out, LABELS)
    assert torch.allclose(on_emb, brute_triplet(out.embedding, LABELS, 0.3), atol=1e-5)
    assert isinstance(Objective({"t": (1.0, LOSSES.get("triplet")())}), Objective)


def test_triplet_within_action_and_centred_match_brute_force() -> None:
    out = output(n=8, d=5)
    groups = torch.tensor([0, 0, 1, 1])  # labels 0, 1 in action 0; labels 2, 3 in action 1
    term = LOSSES.get("triplet")(margin=0.3, within="action", centre=True)
    Objective({"triplet": (1.0, term)}).bind_classes(groups)
    x = out.feature.clone()
    actions = groups[LABELS]
    for a in (0, 1):
        x[actions == a] -= x[actions == a].mean(0)
    losses = []
    for i in range(8):
        pos = [torch.dist(x[i], x[j]) for j in range(8) if j != i and LABELS[j] == LABELS[i]]
        neg = [
            torch.dist(x[i], x[j])
            for j in range(8)
            if LABELS[j] != LABELS[i] and actions[j] == actions[i]
        ]
        losses.append(torch.relu(max(pos) - min(neg) + 0.3))
    assert torch.allclose(term(out, LABELS), torch.stack(losses).mean(), atol=1e-5)
    plain = LOSSES.get("triplet")(margin=0.3)
    assert not torch.allclose(term(out, LABELS), plain(out, LABELS))
    with pytest.raises(TrainingError, match="bind_classes"):
        LOSSES.get("triplet")(centre=True)(out, LABELS)
    with pytest.raises(ConfigError, match="all or action"):
        LOSSES.get("triplet")(within="team")


@pytest.mark.parametrize(
    ("name", "params", "needs"),
    [
        ("ce", {}, TermNeeds(logits=True)),
        ("ce", {"within": "action"}, TermNeeds(logits=True, class_groups=True)),
        ("triplet", {}, TermNeeds(vector="feature")),
        (
            "triplet",
            {"on": "embedding", "centre": True},
            TermNeeds(vector="embedding", class_groups=True),
        ),
        ("centroid", {"on": "embedding"}, TermNeeds(vector="embedding")),
        ("infonce", {}, TermNeeds(vector="feature")),
    ],
)
def test_every_term_declares_what_it_reads(name: str, params: dict, needs: TermNeeds) -> None:
    term = LOSSES.get(name)(**params)
    assert isinstance(term, LossTerm) and term.needs == needs
    objective = Objective({name: (1.0, term)})
    assert (objective.needs_logits, objective.needs_class_groups) == (
        needs.logits,
        needs.class_groups,
    )


def test_objective_refuses_a_module_that_declares_nothing() -> None:
    with pytest.raises(TypeError, match="'mse' is a Linear, not a LossTerm"):
        Objective({"mse": (1.0, torch.nn.Linear(2, 2))})  # type: ignore[dict-item]
