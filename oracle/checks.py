"""The check generator: every property of the spec table, applied to one target component.

CONTRACT (used by oracle.worker, oracle.api, oracle.pytest_plugin):

    check_names(book_name) -> list[str]
        The static list of check names for a component (no target needed), so the
        pytest plugin can collect one test per component x check.

    check_component(book_name, cls, *, namespace, settings) -> ComponentResult
        Runs every check of `book_name` on the target's class `cls` in *this*
        process and returns the verdicts. Never raises for a misbehaving target:
        exceptions, NaN, wrong shapes become failing checks. (Hard crashes,
        hangs and sys.exit are handled one level up, by oracle.run.)

STUB: replaced by the real engine.
"""

from __future__ import annotations

from typing import Any

from oracle.results import CheckResult, ComponentResult
from oracle.settings import Settings


def check_names(book_name: str) -> list[str]:
    return ["forward.output"]


def check_component(
    book_name: str, cls: type, *, namespace: dict[str, Any], settings: Settings
) -> ComponentResult:
    checks = [CheckResult("forward.output", "pass")]
    return ComponentResult(book_name, getattr(cls, "__name__", str(cls)), "pass", checks)
