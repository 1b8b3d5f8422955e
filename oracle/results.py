"""Verdicts: what a check, a component and a target report.

These records are the only thing that crosses the process boundary between the
worker that runs a target's code and the parent that reports (they round-trip
through plain dicts / JSON), so they hold no NumPy objects.

Statuses
--------
check:      ``pass`` | ``fail`` | ``error`` | ``note`` | ``skip`` | ``xfail``
component:  ``pass`` | ``fail`` | ``error`` | ``missing``

A ``note`` never fails a component (a different valid subgradient at a kink, a
different initialisation scale). ``error`` means the check could not run to a
verdict (the target raised inside our harness in a way that is not a wrong
answer, timed out, or crashed the worker).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

CHECK_STATUSES = ("pass", "fail", "error", "note", "skip", "xfail")
COMPONENT_STATUSES = ("pass", "fail", "error", "missing", "skipped")


@dataclass
class CheckResult:
    name: str  # e.g. "backward.dinputs" or "forward.output"
    status: str  # one of CHECK_STATUSES
    message: str = ""  # one self-explanatory paragraph for a learner
    details: dict[str, Any] = field(default_factory=dict)  # JSON-safe extras

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckResult:
        return cls(d["name"], d["status"], d.get("message", ""), dict(d.get("details", {})))


@dataclass
class ComponentResult:
    name: str  # the book's class name, e.g. "Layer_Dense"
    cls: str | None  # the target's class name, None when missing
    status: str  # one of COMPONENT_STATUSES
    checks: list[CheckResult] = field(default_factory=list)
    adaptations: list[str] = field(default_factory=list)  # what we adapted to
    seconds: float = 0.0

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ComponentResult:
        return cls(
            d["name"],
            d.get("class", d.get("cls")),
            d["status"],
            [CheckResult.from_dict(c) for c in d.get("checks", [])],
            list(d.get("adaptations", [])),
            float(d.get("seconds", 0.0)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "class": self.cls,
            "status": self.status,
            "checks": [asdict(c) for c in self.checks],
            "adaptations": list(self.adaptations),
            "seconds": round(self.seconds, 4),
        }

    @staticmethod
    def status_of(checks: list[CheckResult]) -> str:
        """A component fails if any check fails, errors if any errors (and none fail)."""
        statuses = {c.status for c in checks}
        if "fail" in statuses:
            return "fail"
        if "error" in statuses:
            return "error"
        return "pass"


#: How a report shows itself (repr, a notebook's HTML): filled in by oracle.report when it
#: is imported, so that these plain records import nothing above them.
RENDERERS: dict[str, Callable[[TargetReport], str]] = {}

NOTHING_FOUND = (
    "nothing was checked: no class of the book was found "
    "(name yours with --map BookName=YourName; `nnfs-oracle list` shows the book's names)"
)


@dataclass
class TargetReport:
    target: str  # what the user named
    load_mode: str = "defs-only"  # "defs-only" | "import" | "object"
    components: list[ComponentResult] = field(default_factory=list)
    error: str | None = None  # set when the target is unusable (exit code 2)
    notes: list[str] = field(default_factory=list)  # e.g. "nnfs.init() was called: float32"
    seconds: float = 0.0
    # one of a class's submissions: its name (alice.py) and place in the whole run
    submission: str | None = None
    position: int | None = None
    total: int | None = None

    @property
    def summary(self) -> dict[str, int]:
        counts = {s: 0 for s in COMPONENT_STATUSES}
        for c in self.components:
            counts[c.status] = counts.get(c.status, 0) + 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 when every found component passes, 1 when any fails or errors, 2 when unusable:
        it could not be loaded, or none of the book's classes was found in it (nothing was
        checked, which must not read as a pass: an empty submission is not a correct one)."""
        if self.unusable is not None:
            return 2
        if any(c.status in ("fail", "error") for c in self.components):
            return 1
        return 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def unusable(self) -> str | None:
        """Why the target could not be checked (exit code 2), or None."""
        if self.error is not None:
            return self.error
        if self.components and all(c.status in ("missing", "skipped")
                                   for c in self.components):
            return NOTHING_FOUND
        return None

    def component(self, name: str) -> ComponentResult:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "load_mode": self.load_mode,
            "error": self.unusable,  # set exactly when the exit code is 2
            "notes": list(self.notes),
            "components": [c.to_dict() for c in self.components],
            "summary": {**self.summary, "exit_code": self.exit_code},
            "seconds": round(self.seconds, 3),
            **({"submission": self.submission, "position": self.position, "total": self.total}
               if self.submission is not None else {}),
        }

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetReport:
        return cls(
            d["target"],
            d.get("load_mode", "defs-only"),
            [ComponentResult.from_dict(c) for c in d.get("components", [])],
            d.get("error"),
            list(d.get("notes", [])),
            float(d.get("seconds", 0.0)),
            d.get("submission"),
            d.get("position"),
            d.get("total"),
        )

    def __repr__(self) -> str:
        render = RENDERERS.get("text")
        if render is None:
            return (f"TargetReport({self.target!r}: {len(self.components)} components, "
                    f"exit {self.exit_code})")
        return render(self)

    def _repr_html_(self) -> str | None:
        render = RENDERERS.get("html")
        return None if render is None else render(self)
