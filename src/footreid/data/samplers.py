"""Batch samplers: P x K identities, same-action batches, plain shuffling.

Each sampler yields lists of dataset indices (one list per batch) and is a pure
function of ``(seed, epoch)``: ``set_epoch`` picks the epoch, the epoch's batches are
drawn with a ``torch.Generator`` seeded from both, and ``state_dict`` is all a resumed
run needs. Under DistributedDataParallel every rank draws the same global plan and takes
batches ``rank, rank + W, rank + 2W, ...`` of it (cut to a multiple of ``W`` so every
rank runs the same number of steps); a batch is never split, so the P x K structure
that batch-hard mining relies on holds on every rank.

* :class:`IdentitySampler` -- P identities x K crops (Hermans et al. 2017; the BoT
  ``RandomIdentitySampler``): identities with fewer than K crops are resampled with
  replacement, larger ones give several K-groups.
* :class:`ActionSampler` -- the same K-groups, but a batch holds the players of one or
  two consecutive actions (shuffled), so its negatives wear the same kits: the hard
  negatives of SoccerNet (the 2023 winners and Sports Re-ID sample this way).
* :class:`RandomBatchSampler` -- a shuffled permutation cut into batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from footreid.core.errors import ConfigError

_MIX = 0x9E3779B97F4A7C15
_MASK = (1 << 63) - 1


def mix_seed(*parts: int) -> int:
    """Deterministic 63-bit seed from integers (splitmix64-style), for torch.Generator."""
    state = 0
    for part in parts:
        state = (state + _MIX + (int(part) & ((1 << 64) - 1))) & ((1 << 64) - 1)
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & ((1 << 64) - 1)
        state = z ^ (z >> 31)
    return state & _MASK


class _PlannedBatches:
    """Base: a per-epoch plan of batches, sharded over ranks, cached for ``__len__``."""

    def __init__(self, batch_size: int, seed: int, num_replicas: int, rank: int) -> None:
        if batch_size < 1:
            raise ConfigError(f"data.batch_size: must be >= 1, got {batch_size}")
        if not 0 <= rank < num_replicas:
            raise ValueError(f"rank {rank} outside 0..{num_replicas - 1}")
        self.batch_size = batch_size
        self.seed = int(seed)
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self._cache: tuple[int, list[list[int]]] | None = None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches the next iteration yields."""
        self.epoch = int(epoch)

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs (the plan is a pure function of these)."""
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])

    def _plan(self, g: torch.Generator) -> list[list[int]]:
        raise NotImplementedError

    def _local(self) -> list[list[int]]:
        if self._cache is None or self._cache[0] != self.epoch:
            g = torch.Generator().manual_seed(mix_seed(self.seed, self.epoch))
            batches = self._plan(g)
            usable = len(batches) - len(batches) % self.num_replicas
            self._cache = (self.epoch, batches[self.rank : usable : self.num_replicas])
        return self._cache[1]

    def __iter__(self) -> Iterator[list[int]]:
        yield from self._local()

    def __len__(self) -> int:
        return len(self._local())


def _chunk(stream: list[int], size: int) -> list[list[int]]:
    """Full batches of ``size`` consecutive items (the incomplete tail is dropped)."""
    return [stream[i : i + size] for i in range(0, len(stream) - size + 1, size)]


class RandomBatchSampler(_PlannedBatches):
    """A shuffled permutation of ``range(n)`` cut into full batches.

    Args:
        n: dataset size.
        batch_size: crops per batch (per rank).
        seed: run seed; num_replicas, rank: the DDP world size and this process's rank.
    """

    def __init__(
        self, n: int, batch_size: int, seed: int = 0, num_replicas: int = 1, rank: int = 0
    ) -> None:
        super().__init__(batch_size, seed, num_replicas, rank)
        if n < batch_size * num_replicas:
            raise ConfigError(
                f"data.batch_size: {batch_size} x {num_replicas} rank(s) exceeds the "
                f"{n} training crops; lower it"
            )
        self.n = n

    def _plan(self, g: torch.Generator) -> list[list[int]]:
        return _chunk(torch.randperm(self.n, generator=g).tolist(), self.batch_size)


class IdentitySampler(_PlannedBatches):
    """P identities x K crops per batch, identities distinct within a round.

    Args:
        labels: (N,) identity label of every dataset index.
        batch_size: P x K crops per batch (per rank).
        num_instances: K crops per identity.
        seed: run seed; num_replicas, rank: DDP world size and rank.
    """

    def __init__(
        self,
        labels: Sequence[int],
        batch_size: int,
        num_instances: int,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        super().__init__(batch_size, seed, num_replicas, rank)
        self.k = _instances_per_identity(batch_size, num_instances, "P identities x K crops")
        self.p = batch_size // num_instances
        self.by_label = _group(range(len(labels)), labels)
        if len(self.by_label) < self.p:
            raise ConfigError(
                f"data.batch_size / data.num_instances = {self.p} identities per batch, but "
                f"the training set has {len(self.by_label)}; lower data.batch_size"
            )

    def _plan(self, g: torch.Generator) -> list[list[int]]:
        groups = {label: _k_groups(idx, self.k, g) for label, idx in self.by_label.items()}
        return _chunk(_rounds(groups, list(groups), g), self.batch_size)


class ActionSampler(_PlannedBatches):
    """Batches of K-groups of the players of the same action(s), actions shuffled.

    Within an action the identities are shuffled and dealt one K-group each per round
    (like :class:`IdentitySampler`), so a batch covers as many players of its action as
    it holds; when an action runs out the batch continues with the next action.

    Args:
        labels: (N,) identity label of every dataset index.
        actions: (N,) ``action_idx`` of every dataset index.
        batch_size: crops per batch (per rank), a multiple of ``num_instances``.
        num_instances: K crops per identity.
        seed: run seed; num_replicas, rank: DDP world size and rank.
    """

    def __init__(
        self,
        labels: Sequence[int],
        actions: Sequence[int],
        batch_size: int,
        num_instances: int,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        super().__init__(batch_size, seed, num_replicas, rank)
        if len(labels) != len(actions):
            raise ValueError(f"{len(labels)} labels but {len(actions)} actions")
        self.k = _instances_per_identity(batch_size, num_instances, "K-groups of players")
        self.by_label = _group(range(len(labels)), labels)
        action_of: dict[int, int] = {}
        for label, idx in self.by_label.items():
            owners = {int(actions[i]) for i in idx}
            if len(owners) != 1:
                raise ConfigError(f"identity label {label} spans actions {sorted(owners)}")
            action_of[label] = owners.pop()
        self.by_action = _group(list(action_of), list(action_of.values()))
        if sum(len(v) for v in self.by_label.values()) < batch_size:
            raise ConfigError(f"data.batch_size {batch_size} exceeds the {len(labels)} crops")

    def _plan(self, g: torch.Generator) -> list[list[int]]:
        order = sorted(self.by_action)
        stream: list[int] = []
        for pos in torch.randperm(len(order), generator=g).tolist():
            labels = self.by_action[order[pos]]
            groups = {label: _k_groups(self.by_label[label], self.k, g) for label in labels}
            stream.extend(_rounds(groups, labels, g))
        return _chunk(stream, self.batch_size)


def _instances_per_identity(batch_size: int, num_instances: int, batch_is: str) -> int:
    """K, checked: a batch must hold whole groups of K crops of one identity."""
    if num_instances < 1 or batch_size % num_instances:
        raise ConfigError(
            f"data.batch_size ({batch_size}) must be a multiple of data.num_instances "
            f"({num_instances}): a batch is {batch_is}"
        )
    return num_instances


def _group(indices: Sequence[int] | range, keys: Sequence[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for index, key in zip(indices, keys, strict=True):
        out[int(key)].append(int(index))
    return dict(out)


def _k_groups(indices: list[int], k: int, g: torch.Generator) -> list[list[int]]:
    """Shuffle, resample short lists up to K (with replacement), cut into K-groups."""
    n = len(indices)
    if n < k:
        picks = torch.randint(n, (k,), generator=g).tolist()
        return [[indices[i] for i in picks]]
    order = torch.randperm(n, generator=g).tolist()
    shuffled = [indices[i] for i in order]
    return [shuffled[i : i + k] for i in range(0, n - k + 1, k)]


def _rounds(groups: dict[int, list[list[int]]], labels: list[int], g: torch.Generator) -> list[int]:
    """Deal one K-group per identity per round, identities shuffled in every round."""
    stream: list[int] = []
    remaining = [label for label in labels if groups[label]]
    depth = 0
    while remaining:
        for pos in torch.randperm(len(remaining), generator=g).tolist():
            stream.extend(groups[remaining[pos]][depth])
        depth += 1
        remaining = [label for label in remaining if len(groups[label]) > depth]
    return stream
