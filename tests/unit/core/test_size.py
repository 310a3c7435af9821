"""``ImageSize``: one parser for [H, W] lists, (H, W) tuples and HxW strings."""

from __future__ import annotations

import pytest

from footreid.core.errors import ConfigError
from footreid.core.size import ImageSize


@pytest.mark.parametrize("value", [[256, 128], (256, 128), "256x128", "256X128", [256.0, 128]])
def test_every_spelling_gives_the_same_size(value: object) -> None:
    size = ImageSize.parse(value)
    assert size == (256, 128) and (size.height, size.width) == (256, 128)
    assert size.to_list() == [256, 128] and str(size) == "256x128"


@pytest.mark.parametrize(
    "value", [[256], [0, 128], [-1, 2], "256", "ax128", [True, 1], [2.5, 3], None]
)
def test_bad_sizes_name_the_field(value: object) -> None:
    with pytest.raises(ConfigError, match=r"stages.0.input_size: expected \[H, W\]"):
        ImageSize.parse(value, "stages.0.input_size")


def test_patch_multiples_are_checked_and_the_nearest_is_proposed() -> None:
    assert ImageSize.parse([378, 196], multiple_of=14) == (378, 196)
    with pytest.raises(ConfigError, match=r"multiples of the patch size 14; use \[378, 196\]"):
        ImageSize.parse([384, 192], multiple_of=14)
    assert ImageSize(3, 100).rounded_to(16) == (16, 96)
