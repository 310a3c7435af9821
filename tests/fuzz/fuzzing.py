"""What every fuzz property checks, and the tally of inputs tried per parser.

The property of a parser of outside input: it returns a right result, or raises a
:class:`~footreid.core.errors.FootreidError` whose message names the input (the file, or
the ``--set`` text) and says what is wrong. Any other exception fails the test, and
hypothesis shrinks the input to the smallest that shows it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

from footreid.core.errors import FootreidError

T = TypeVar("T")

TRIED: Counter[tuple[str, str]] = Counter()
"""(parser, "accepted" or "refused") -> inputs, for the session summary."""

_EXPLORE = os.environ.get("FOOTREID_HYPOTHESIS_PROFILE") == "explore"


def fuzz(examples: int) -> settings:
    """Settings of one property: ``examples`` inputs in CI, ten times as many to explore.

    The CI counts keep the whole fuzz set near a minute on two cores.
    """
    return settings(
        max_examples=examples * (10 if _EXPLORE else 1),
        deadline=timedelta(seconds=10),  # "never a hang": no input may take this long
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def parse_or_refuse(parser: str, call: Callable[[], T], names: str) -> T | None:
    """``call()``'s result, or None when it raised a FootreidError that names ``names``.

    Counts the input under ``parser``. Any exception other than a FootreidError passes
    through (the test fails); so does a FootreidError that does not name the input or
    says nothing beyond it.
    """
    try:
        result = call()
    except FootreidError as exc:
        TRIED[parser, "refused"] += 1
        message = str(exc)
        assert names in message, f"the error does not name {names!r}: {message}"
        assert len(message.replace(names, "").strip(" :")) > 10, f"no problem stated: {message}"
        return None
    TRIED[parser, "accepted"] += 1
    return result


def summary() -> list[str]:
    """One line per parser: inputs tried (accepted / refused)."""
    parsers = sorted({parser for parser, _ in TRIED})
    lines = []
    for parser in parsers:
        ok, refused = TRIED[parser, "accepted"], TRIED[parser, "refused"]
        lines.append(f"{parser}: {ok + refused} inputs ({ok} accepted, {refused} refused)")
    return lines


def any_json(leaves: Any = None) -> Any:
    """A strategy of JSON-like values (what a hand-edited or corrupted file may hold)."""
    from hypothesis import strategies as st

    scalars = leaves or st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )
