"""The fuzz set's summary line: how many inputs each parser's property tried."""

from __future__ import annotations

from typing import Any

from fuzzing import summary


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = summary()
    if lines:
        terminalreporter.section("fuzz: inputs tried per parser")
        for line in lines:
            terminalreporter.write_line(line)
