"""Batch samplers: P x K, same-action batches, shuffling; seeds, epochs, DDP shards."""

from __future__ import annotations

from collections import Counter

import pytest

from footreid.core.errors import ConfigError
from footreid.data.samplers import ActionSampler, IdentitySampler, RandomBatchSampler, mix_seed

# 6 identities: 0 has 1 crop (short: resampled), 1 has 8 (two K-groups), the rest 4
LABELS = [0] + [1] * 8 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4
ACTIONS = [0] + [0] * 8 + [0] * 4 + [1] * 4 + [1] * 4 + [2] * 4  # ids 0-2 | 3-4 | 5


def test_identity_sampler_gives_p_identities_times_k() -> None:
    sampler = IdentitySampler(LABELS, batch_size=8, num_instances=4, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 3  # 7 K-groups -> 28 crops -> 3 full batches
    for batch in batches:
        counts = Counter(LABELS[i] for i in batch)
        assert len(batch) == 8 and sorted(counts.values()) == [4, 4]


def test_short_identity_is_resampled_to_k() -> None:
    batches = list(IdentitySampler(LABELS, 4, 4, seed=3))
    short = [b for b in batches if LABELS[b[0]] == 0]
    assert short == [[0, 0, 0, 0]]


def test_large_identity_gives_several_groups_without_repeats() -> None:
    drawn = [i for b in IdentitySampler(LABELS, 4, 4, seed=1) for i in b if LABELS[i] == 1]
    assert sorted(drawn) == list(range(1, 9))


def test_seeded_determinism_and_set_epoch() -> None:
    a = IdentitySampler(LABELS, 8, 4, seed=5)
    b = IdentitySampler(LABELS, 8, 4, seed=5)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    a.set_epoch(0)
    assert list(a) == first
    assert list(IdentitySampler(LABELS, 8, 4, seed=6)) != first


def test_state_dict_restores_the_plan() -> None:
    a = IdentitySampler(LABELS, 8, 4, seed=5)
    a.set_epoch(3)
    b = IdentitySampler(LABELS, 8, 4, seed=0)
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == {"seed": 5, "epoch": 3} and list(b) == list(a)


@pytest.mark.parametrize(
    "make",
    [
        lambda r: IdentitySampler(LABELS, 4, 2, seed=2, num_replicas=2, rank=r),
        lambda r: ActionSampler(LABELS, ACTIONS, 4, 2, seed=2, num_replicas=2, rank=r),
        lambda r: RandomBatchSampler(len(LABELS), 4, seed=2, num_replicas=2, rank=r),
    ],
)
def test_ddp_ranks_split_one_plan_into_whole_batches(make) -> None:  # type: ignore[no-untyped-def]
    single = make(0)
    single.num_replicas, single.rank, single._cache = 1, 0, None
    plan = list(single)
    ranks = [list(make(r)) for r in (0, 1)]
    usable = len(plan) - len(plan) % 2
    assert ranks[0] == plan[0:usable:2] and ranks[1] == plan[1:usable:2]
    assert len(ranks[0]) == len(ranks[1])


def test_action_sampler_batches_hold_players_of_few_actions() -> None:
    labels = [p for p in range(12) for _ in range(3)]
    actions = [p // 4 for p in labels]  # 3 actions x 4 players x 3 crops
    sampler = ActionSampler(labels, actions, batch_size=8, num_instances=2, seed=0)
    batches = list(sampler)
    assert len(batches) == 3
    for batch in batches:
        assert len({actions[i] for i in batch}) == 1  # 4 players x 2 crops = one action
        assert sorted(Counter(labels[i] for i in batch).values()) == [2, 2, 2, 2]
    assert {actions[b[0]] for b in batches} == {0, 1, 2}


def test_action_sampler_spills_into_the_next_action_only() -> None:
    sampler = ActionSampler(LABELS, ACTIONS, batch_size=8, num_instances=4, seed=4)
    for batch in sampler:
        acts = [ACTIONS[i] for i in batch]
        assert len(set(acts)) <= 2
        assert acts == sorted(acts, key=acts.index)  # one action, then the next: no interleaving


def test_action_sampler_refuses_identity_across_actions() -> None:
    with pytest.raises(ConfigError, match="spans actions"):
        ActionSampler([0, 0, 1, 1], [0, 1, 1, 1], 2, 2)


def test_random_sampler_is_a_permutation() -> None:
    batches = list(RandomBatchSampler(10, 3, seed=0))
    flat = [i for b in batches for i in b]
    assert len(batches) == 3 and len(set(flat)) == 9 and set(flat) <= set(range(10))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: IdentitySampler(LABELS, 6, 4), "multiple of data.num_instances"),
        (lambda: IdentitySampler(LABELS, 32, 4), "identities per batch"),
        (lambda: RandomBatchSampler(5, 4, num_replicas=2), "exceeds"),
        (lambda: IdentitySampler(LABELS, 0, 4), "batch_size"),
        (lambda: ActionSampler(LABELS, ACTIONS, 64, 4), "exceeds"),
    ],
)
def test_bad_sizes_are_refused(make, match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=match):
        make()


def test_mix_seed_is_stable_and_order_sensitive() -> None:
    assert mix_seed(1, 2) == mix_seed(1, 2) != mix_seed(2, 1)
    assert 0 <= mix_seed(-1, 2**70) < 2**63
