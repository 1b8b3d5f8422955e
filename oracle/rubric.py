"""A rubric: how many points each component of an assignment is worth, and how they are earned.

A rubric is TOML, in a file of its own or as ``[tool.nnfs-oracle.rubric]`` in a
``pyproject.toml``::

    split = "groups"          # every component's default: "all" (all or nothing) or "groups"
    visibility = "visible"    # visible | hidden | after_due_date | after_published

    [components.Layer_Dense]
    points = 10
    groups = { forward = 3, gradients = 5, numerics = 1, conventions = 1 }

    [components.Activation_ReLU]
    points = 4
    split = "all"
    visibility = "after_due_date"

    [components.Loss_CategoricalCrossentropy.groups]
    forward = 2
    gradients = { points = 3, visibility = "hidden" }

The components named are the assignment: only they are checked and graded.  With
``split = "all"`` a component earns its points when it passes.  With ``split = "groups"`` its
points are shared among its groups of checks (:data:`oracle.properties.CHECK_GROUPS`:
forward, gradients, updates, numerics, conventions), and a group earns its share when none
of its checks fails or errors, so a missing ``.T`` costs the gradients' share, not six checks'.
Group numbers are points when they add up to the component's ``points`` (or ``points`` is left
out), and weights otherwise.  Without a ``groups`` table, every group the component has
weighs the same.  A component that is missing, could not be checked, or whose target could
not be used earns nothing.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from oracle.results import TargetReport

__all__ = ["GROUPS", "SPLITS", "VISIBILITIES", "ComponentRule", "Grade", "Rubric", "TestGrade",
           "grade", "read_rubric"]

SPLITS = ("all", "groups")
#: Gradescope's visibilities, which the other outputs follow (hidden: never shown to a student).
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


def _groups() -> tuple[str, ...]:
    from oracle.properties import CHECK_GROUPS

    return tuple(CHECK_GROUPS)


GROUPS = _groups()
_PASSING = ("pass", "note", "skip", "xfail")


@dataclass(frozen=True)
class GroupRule:
    points: float | None = None  # None: an equal share
    visibility: str | None = None  # None: the component's


@dataclass(frozen=True)
class ComponentRule:
    name: str
    points: float
    split: str = "all"
    visibility: str = "visible"
    groups: dict[str, GroupRule] = field(default_factory=dict)  # empty: every group, equally


@dataclass(frozen=True)
class Rubric:
    components: tuple[ComponentRule, ...]
    source: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.components)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "components": [asdict(c) for c in self.components]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rubric:
        comps = tuple(ComponentRule(
            c["name"], float(c["points"]), c.get("split", "all"), c.get("visibility", "visible"),
            {g: GroupRule(**r) for g, r in (c.get("groups") or {}).items()})
            for c in d.get("components", []))
        return cls(comps, str(d.get("source", "")))


# --------------------------------------------------------------------------- reading


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value) or value < 0:
        raise ValueError(f"{where} must be a number of points (0 or more), got {value!r}")
    return float(value)


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise ValueError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _known(keys: Any, allowed: tuple[str, ...], where: str) -> None:
    from oracle.adapt import did_you_mean

    for k in keys:
        if k not in allowed:
            raise ValueError(f"unknown key {k!r} in {where}{did_you_mean(str(k), allowed)}; "
                             f"the keys are: {', '.join(allowed)}")


@functools.cache  # the registry does not change: once per component
def _component_groups(name: str) -> tuple[str, ...] | None:
    """The groups a book component's checks fall in (None for a custom component: its
    checks are known once it is probed)."""
    from oracle.adapt import COMPONENTS
    from oracle.checks import check_names
    from oracle.properties import group_of

    if name not in COMPONENTS:
        return None
    have = {group_of(n) for n in check_names(name)}
    return tuple(g for g in GROUPS if g in have)


def rubric_from_dict(data: Any, source: str = "") -> Rubric:
    """A checked rubric from its TOML table; ``ValueError`` with the place of a mistake."""
    from oracle.adapt import COMPONENTS, did_you_mean
    from oracle.custom import could_be_custom

    if not isinstance(data, dict):
        raise ValueError(f"a rubric is a table, got {type(data).__name__}")
    _known(data, ("split", "visibility", "components"), "the rubric")
    split = _choice(data.get("split", "all"), SPLITS, "split")
    visibility = _choice(data.get("visibility", "visible"), VISIBILITIES, "visibility")
    table = data.get("components")
    if not isinstance(table, dict) or not table:
        raise ValueError("a rubric names the assignment's components: [components.NAME] "
                         "tables with points, e.g. [components.Layer_Dense] points = 10")
    rules = []
    for name, spec in table.items():
        where = f"components.{name}"
        if name not in COMPONENTS and not could_be_custom(name):
            raise ValueError(f"unknown component {name!r}{did_you_mean(name, COMPONENTS)}; "
                             "`nnfs-oracle list` shows the book's names")
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = {"points": spec}
        if not isinstance(spec, dict):
            raise ValueError(f"{where} must be a table (points, split, visibility, groups) "
                             f"or a number of points, got {spec!r}")
        _known(spec, ("points", "split", "visibility", "groups"), where)
        c_split = _choice(spec.get("split", split), SPLITS, f"{where}.split")
        c_vis = _choice(spec.get("visibility", visibility), VISIBILITIES, f"{where}.visibility")
        groups: dict[str, GroupRule] = {}
        raw = spec.get("groups", {})
        if raw and "split" not in spec:
            c_split = "groups"
        if not isinstance(raw, dict):
            raise ValueError(f"{where}.groups must be a table of group = points, got {raw!r}")
        have = _component_groups(name)
        for g, rule in raw.items():
            gw = f"{where}.groups.{g}"
            _known([g], GROUPS, f"{where}.groups")
            if have is not None and g not in have:
                raise ValueError(f"{gw}: {name} has no {g} checks (its groups: "
                                 f"{', '.join(have)})")
            if isinstance(rule, dict):
                _known(rule, ("points", "visibility"), gw)
                pts = None if "points" not in rule else _number(rule["points"], f"{gw}.points")
                vis = rule.get("visibility")
                groups[g] = GroupRule(pts, None if vis is None else _choice(
                    vis, VISIBILITIES, f"{gw}.visibility"))
            else:
                groups[g] = GroupRule(_number(rule, gw))
        if "points" in spec:
            points = _number(spec["points"], f"{where}.points")
        elif groups and all(r.points is not None for r in groups.values()):
            points = sum(r.points or 0.0 for r in groups.values())
        else:
            raise ValueError(f"{where} needs points (e.g. points = 10)")
        rules.append(ComponentRule(name, points, c_split, c_vis, groups))
    return Rubric(tuple(rules), source)


def read_rubric(path: str | os.PathLike[str]) -> Rubric:
    """Read a rubric file: TOML with the rubric at its top, or a ``pyproject.toml`` with it
    under ``[tool.nnfs-oracle.rubric]``."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest's own dependency
        import tomli as tomllib  # type: ignore[no-redef]

    shown = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ValueError(f"cannot read the rubric {shown}: {exc.strerror or exc}") from None
    except Exception as exc:  # tomllib.TOMLDecodeError, with its line and column
        raise ValueError(f"the rubric {shown} is not valid TOML: {exc}") from None
    if "tool" in data and "components" not in data:
        data = data.get("tool", {}).get("nnfs-oracle", {}).get("rubric")
        if data is None:
            raise ValueError(f"{shown} has no [tool.nnfs-oracle.rubric] table")
    try:
        return rubric_from_dict(data, shown)
    except ValueError as exc:
        raise ValueError(f"rubric {shown}: {exc}") from None


# --------------------------------------------------------------------------- grading


@dataclass
class TestGrade:
    """One graded part: a component (``group`` None) or one group of its checks."""

    component: str
    group: str | None
    score: float
    max_score: float
    visibility: str
    failed: list[str] = field(default_factory=list)  # the checks that failed or errored
    output: str = ""  # what failed and why, in full (inputs included)
    causes: list[str] = field(default_factory=list)  # likely causes, no inputs

    @property
    def name(self) -> str:
        return self.component if self.group is None else f"{self.component}: {self.group}"

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class Grade:
    """A submission's grade under a rubric."""

    target: str
    score: float
    max_score: float
    tests: list[TestGrade] = field(default_factory=list)
    error: str | None = None  # why the target could not be used (everything scores 0)

    def to_dict(self) -> dict[str, Any]:
        return {"score": _round(self.score), "max_score": _round(self.max_score),
                "error": self.error,
                "tests": [{**asdict(t), "name": t.name, "score": _round(t.score),
                           "max_score": _round(t.max_score)} for t in self.tests]}

    def component_score(self, name: str) -> float:
        return sum(t.score for t in self.tests if t.component == name)


def _round(x: float) -> float:
    """Points as a grader writes them: 2.5, 3.3333 (no binary noise such as 2.4999999)."""
    return round(x, 4) + 0.0


def _shares(rule: ComponentRule, groups: list[str]) -> dict[str, float]:
    """Each graded group's points."""
    if rule.groups:
        weights = {g: (r.points if r.points is not None else 1.0)
                   for g, r in rule.groups.items()}
    else:
        weights = dict.fromkeys(groups, 1.0)
    total = sum(weights.values())
    if total <= 0:
        return dict.fromkeys(weights, 0.0)
    return {g: rule.points * w / total for g, w in weights.items()}


def _failure_text(checks: list[Any]) -> tuple[list[str], str, list[str]]:
    names = [c.name for c in checks]
    output = "\n\n".join(f"{c.name}: {c.message}".rstrip() for c in checks)
    causes = [str(c.details["hint"]) for c in checks
              if isinstance(c.details, dict) and c.details.get("hint")]
    return names, output, list(dict.fromkeys(causes))


def grade(report: TargetReport, rubric: Rubric) -> Grade:
    """The grade of one target's report under ``rubric`` (see the module's docstring)."""
    from oracle.properties import group_of

    tests: list[TestGrade] = []
    unusable = report.unusable
    by_name = {c.name: c for c in report.components}
    for rule in rubric.components:
        comp = by_name.get(rule.name)
        have = _component_groups(rule.name)
        if have is None and comp is not None:  # a custom component: the groups it was given
            seen = {group_of(c.name) for c in comp.checks}
            have = tuple(g for g in GROUPS if g in seen)
        parts: list[str | None]
        if rule.split == "groups" and have:
            shares = _shares(rule, list(have))
            parts = list(shares)
        else:
            shares = {}
            parts = [None]
        why = None
        if unusable is not None:
            why = f"not checked: the submission could not be used: {unusable}"
        elif comp is None or comp.status == "missing":
            why = f"{rule.name} was not found in the submission"
        elif comp.status == "skipped":
            why = "not checked: " + "; ".join(c.message for c in comp.checks if c.message)
        for part in parts:
            worth = rule.points if part is None else shares[part]
            vis = rule.visibility
            if part is not None and part in rule.groups and rule.groups[part].visibility:
                vis = rule.groups[part].visibility or vis
            if why is not None:
                tests.append(TestGrade(rule.name, part, 0.0, worth, vis, [], why))
                continue
            assert comp is not None
            bad = [c for c in comp.checks if c.status not in _PASSING
                   and (part is None or group_of(c.name) in (part, None))]
            failed, output, causes = _failure_text(bad)
            if not bad and comp.status in ("fail", "error") and part is None:
                failed, output = ["run"], f"{rule.name}: {comp.status}"
            earned = 0.0 if failed else worth
            tests.append(TestGrade(rule.name, part, earned, worth, vis, failed, output, causes))
    score = sum(t.score for t in tests)
    return Grade(report.target, score, rubric.max_score, tests, unusable)
