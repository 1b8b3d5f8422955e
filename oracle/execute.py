"""Execution: the checks of each component of a loaded target, one after another.

The one per-component loop, used by the worker (a target in a child process) and by
in-process runs (:func:`oracle.run.run_namespace`): a class not found is ``missing``; a
found one is checked, and an exception that escapes its checks (``sys.exit``, a
``MemoryError``, a bug of ours) becomes that component's ``error``, described once, at the
target's own line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from oracle import frames
from oracle.adapt import Found
from oracle.load import _SOURCES, location
from oracle.results import CheckResult, ComponentResult
from oracle.settings import Settings

__all__ = ["check_found", "describe", "error_result"]

Check = Callable[..., ComponentResult]


def check_found(name: str, found: Found | None, namespace: dict[str, Any], settings: Settings,
                check: Check | None = None, *, contain_interrupts: bool = False
                ) -> ComponentResult:
    """The verdict on one book component of a target (``found``: discovery's answer).
    ``contain_interrupts``: a KeyboardInterrupt is the component's error too (in a worker,
    where only the target can raise one), not the end of the run (in the user's process)."""
    if check is None:
        from oracle.checks import check_component

        check = check_component
    started = time.perf_counter()
    cls_name = found.target_name if found is not None and found.cls is not None else None
    if found is None or found.cls is None:
        return ComponentResult(name, None, "missing")
    try:
        result = check(name, found.cls, namespace=namespace, settings=settings)
        if not isinstance(result, ComponentResult):
            raise TypeError(f"the check engine returned {type(result).__name__}")
        result.adaptations = list(found.adaptations) + [
            a for a in result.adaptations if a not in found.adaptations]
    except BaseException as exc:  # sys.exit, MemoryError ... must not end the run
        if isinstance(exc, KeyboardInterrupt) and not contain_interrupts:
            raise
        result = error_result(name, cls_name, describe(exc, settings.memory_mb))
        result.adaptations = list(found.adaptations)
    if not result.seconds:
        result.seconds = time.perf_counter() - started
    return result


def _frame_text(exc: BaseException) -> str:
    """`` (at model.py, line 12: `sys.exit(1)`)`` for the innermost frame of the target."""
    frame = frames.innermost(exc, lambda f: f in _SOURCES or not frames.is_library(f))
    if frame is None:
        return ""
    line = (frame.line or "").strip()
    where = location(frame.filename, frame.lineno)
    return f" (at {where}: `{line}`)" if line else f" (at {where})"


def describe(exc: BaseException, memory_mb: int) -> str:
    """One sentence for an exception that escaped the checks of a component."""
    where = _frame_text(exc)
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        return f"called sys.exit({code}) during the checks{where}"
    if isinstance(exc, KeyboardInterrupt):
        return f"raised KeyboardInterrupt during the checks{where}"
    if isinstance(exc, MemoryError):
        detail = f" ({exc})" if str(exc) else ""
        return f"ran out of memory{detail}{where}: the worker's memory limit is {memory_mb} MB"
    if isinstance(exc, RecursionError):
        return f"exceeded the maximum recursion depth (RecursionError: {exc}){where}"
    if isinstance(exc, EOFError) and "called input()" in str(exc):
        return f"{exc}{where}"
    text = str(exc)
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


def error_result(name: str, cls: str | None, message: str) -> ComponentResult:
    """A component whose checks ended in an exception that escaped them."""
    return ComponentResult(name, cls, "error", [CheckResult("run", "error", message)])


