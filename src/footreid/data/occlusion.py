"""Neighbour occlusion: part of another player of the same action over one side of a crop.

Broadcast crops of crowded scenes (corners, free kicks, walls) hold more than their
player: a team-mate or an opponent fills one side of the box, and a model that looks at
the whole crop matches the intruder. This augmentation makes such crops during training:
a vertical slab from the middle of another identity's crop, taken from the same action
(same kits, same light), replaces a random share of the crop's width at its left or
right edge. The label stays the crop's own: the player the box was drawn around.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from footreid.core.errors import ConfigError
from footreid.core.records import Sample


@dataclass(frozen=True)
class Occlusion:
    """How often and how much of a crop a neighbour covers.

    Attributes:
        probability: share of training crops that get a neighbour, in [0, 1].
        width: (min, max) share of the crop width the neighbour covers, in (0, 1).
    """

    probability: float
    width: tuple[float, float] = (0.2, 0.45)

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ConfigError(f"augment.occlude: a probability in [0, 1], got {self.probability}")
        low, high = self.width
        if not 0.0 < low <= high < 1.0:
            raise ConfigError(
                f"augment.occlude_width: [min, max] with 0 < min <= max < 1, got {list(self.width)}"
            )


class Occluder:
    """Draws neighbours for the crops of ``samples`` (other identities of their action).

    Args:
        samples: the training crops (``label``, ``action_idx``).
        occlusion: probability and width range.
    """

    def __init__(self, samples: Sequence[Sample], occlusion: Occlusion) -> None:
        self.occlusion = occlusion
        self.samples = samples
        self.by_action: dict[int, list[int]] = defaultdict(list)
        for i, s in enumerate(samples):
            self.by_action[s.action_idx].append(i)

    def __call__(
        self,
        x: torch.Tensor,
        index: int,
        generator: torch.Generator,
        render: Callable[[int], torch.Tensor],
    ) -> torch.Tensor:
        """``x`` (3, H, W) with a neighbour pasted, or ``x`` itself (not drawn, or alone).

        Args:
            x: the transformed crop of ``samples[index]``.
            index: its position in ``samples``.
            generator: the crop's own generator (every draw comes from it).
            render: position in ``samples`` -> that crop transformed like ``x``.
        """
        if float(torch.rand((), generator=generator)) >= self.occlusion.probability:
            return x
        own = self.samples[index]
        pool = [i for i in self.by_action[own.action_idx] if self.samples[i].label != own.label]
        if not pool:
            return x
        other = render(pool[int(torch.randint(len(pool), (), generator=generator))])
        low, high = self.occlusion.width
        width = x.shape[-1]
        share = low + (high - low) * float(torch.rand((), generator=generator))
        w = max(1, min(width - 1, round(share * width)))
        start = (width - w) // 2  # the neighbour's body: the middle of its crop
        slab = other[..., start : start + w]
        x = x.clone()
        if float(torch.rand((), generator=generator)) < 0.5:
            x[..., :w] = slab
        else:
            x[..., width - w :] = slab
        return x


def occlusion_from_config(occlude: float, width: Sequence[float]) -> Occlusion | None:
    """The config's ``augment.occlude`` / ``occlude_width`` as an Occlusion (None when 0)."""
    if len(width) != 2:
        raise ConfigError(f"augment.occlude_width: expected [min, max], got {list(width)}")
    occlusion = Occlusion(float(occlude), (float(width[0]), float(width[1])))
    return occlusion if occlusion.probability > 0 else None
