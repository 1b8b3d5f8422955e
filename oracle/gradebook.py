"""What graders read: Gradescope's ``results.json``, a CSV of the class, feedback for a student,
and the JSON that shards of a class write and :func:`merge` joins.

Every output here is made from reports (and, with a rubric, their grades), so a class checked
in shards and merged gives the same outputs as the class checked at once.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from typing import Any

from oracle.report import report_dict
from oracle.results import TargetReport
from oracle.rubric import ComponentRule, Grade, Rubric, TestGrade, grade

__all__ = ["classroom_results", "default_rubric", "file_name", "file_names", "gradescope_results",
           "grades_for", "merge", "read_documents", "render_csv", "render_document",
           "render_feedback"]

#: How a component without a rubric shows in the CSV.
_CSV_STATUS = {"pass": "pass", "fail": "FAIL", "error": "error", "missing": "-",
               "skipped": "skipped"}


def default_rubric(reports: Sequence[TargetReport]) -> Rubric:
    """One point per component found in any of ``reports``, all or nothing: what Gradescope
    gets when no rubric is given."""
    names: list[str] = []
    for r in reports:
        names += [c.name for c in r.components if c.status != "missing" and c.name not in names]
    return Rubric(tuple(ComponentRule(n, 1.0) for n in names), "one point per component")


def grades_for(reports: Sequence[TargetReport], rubric: Rubric | None) -> list[Grade] | None:
    return None if rubric is None else [grade(r, rubric) for r in reports]


def _points(x: float) -> str:
    return f"{round(x, 2):g}"


def file_name(report: TargetReport) -> str:
    """A file name for one submission's output: its name, safe on every file system."""
    name = report.submission or os.path.basename(report.target.rstrip("/\\")) or report.target
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def file_names(reports: Sequence[TargetReport]) -> list[str]:
    """:func:`file_name` of each report, made unique (``alice.py``, ``alice.py-2``)."""
    names: list[str] = []
    for r in reports:
        name = base = file_name(r)
        n = 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


# --------------------------------------------------------------------------- JSON documents


def render_document(reports: Sequence[TargetReport], grades: Sequence[Grade] | None = None,
                    rubric: Rubric | None = None, *, indent: int | None = 2) -> str:
    """The JSON of a run: always a list, one object per target (see
    :func:`oracle.report.render_json`), each with its ``grade`` and the ``rubric`` when one
    was given, so that :func:`merge` can join shards without the rubric file."""
    out = []
    for i, r in enumerate(reports):
        d = report_dict(r)
        if grades is not None:
            d["grade"] = grades[i].to_dict()
        if rubric is not None:
            d["rubric"] = rubric.to_dict()
        out.append(d)
    return json.dumps(out, indent=indent, allow_nan=False)


def read_documents(paths: Sequence[str]) -> tuple[list[TargetReport], Rubric | None]:
    """The reports in JSON documents written by ``check --format json`` (a list, or one
    object as older versions wrote for a single target) and the rubric they were graded
    with.  Raises ``ValueError`` for a file that is not such a document."""
    reports: list[TargetReport] = []
    rubric: Rubric | None = None
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not JSON: line {exc.lineno}: {exc.msg}") from None
        items = data if isinstance(data, list) else [data]
        for item in items:
            if not isinstance(item, dict) or "target" not in item or "components" not in item:
                raise ValueError(f"{path} is not the JSON of `nnfs-oracle check --format json`")
            try:
                reports.append(TargetReport.from_dict(item))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}: a report cannot be read: {exc!r}") from None
            if "rubric" in item:
                r = Rubric.from_dict(item["rubric"])
                if rubric is not None and r != rubric:
                    raise ValueError(f"{path} was graded with another rubric than the files "
                                     "before it; give --rubric to grade them all alike")
                rubric = r
    return reports, rubric


def merge(reports: Sequence[TargetReport]) -> tuple[list[TargetReport], list[str]]:
    """Shards' reports in the order of the run they were split from, and what is wrong with
    the set (a submission twice, shards missing).  Reports without a position keep their
    order after the others."""
    warnings: list[str] = []
    seen: dict[tuple[int | None, str], TargetReport] = {}
    for r in reports:
        key = (r.position, r.target)
        if key in seen:
            warnings.append(f"{r.target} is in more than one file; the last one is kept")
        seen[key] = r
    placed = sorted((r for r in seen.values() if r.position is not None),
                    key=lambda r: r.position or 0)
    loose = [r for r in seen.values() if r.position is None]
    totals = {r.total for r in placed if r.total is not None}
    if len(totals) > 1:
        warnings.append(f"the files come from different runs (of {sorted(totals)} submissions)")
    elif totals:
        total = totals.pop()
        have = {r.position for r in placed}
        lost = [i for i in range(total) if i not in have]
        if lost:
            warnings.append(f"{len(lost)} of {total} submissions are in none of the files "
                            f"(is a shard missing?); positions {lost[:10]}"
                            f"{' ...' if len(lost) > 10 else ''}")
    return placed + loose, warnings


# --------------------------------------------------------------------------- Gradescope


def gradescope_results(report: TargetReport, g: Grade) -> dict[str, Any]:
    """Gradescope's ``results.json`` for one submission: top-level ``score``,
    ``execution_time``, ``output``, ``visibility`` and ``stdout_visibility``, and ``tests``
    with ``name``, ``score``, ``max_score``, ``status``, ``output`` and ``visibility``
    (a hidden test's output is Gradescope's to hide)."""
    tests = []
    for t in g.tests:
        tests.append({
            "name": t.name,
            "score": round(t.score, 4),
            "max_score": round(t.max_score, 4),
            "status": "passed" if t.passed else "failed",
            "output": _test_output(t, full=True),
            "visibility": t.visibility,
        })
    summary = f"{_points(g.score)} / {_points(g.max_score)} points"
    if g.error is not None:
        summary += f"\n\nYour submission could not be checked: {g.error}"
    return {
        "score": round(g.score, 4),
        "execution_time": round(report.seconds, 2),
        "output": summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


# --------------------------------------------------------------------------- GitHub Classroom


def classroom_results(report: TargetReport, g: Grade) -> dict[str, Any]:
    """The runner JSON that GitHub Classroom's grading reporter reads (base64 in a step
    output named ``result``): ``version``, ``status`` (pass, fail, error), ``max_score`` and
    ``tests`` with ``name``, ``status``, ``score``, ``message``.  A test that is not visible
    says only which checks failed and their likely causes."""
    tests = [{"name": t.name, "status": "pass" if t.passed else "fail",
              "score": round(t.score, 4), "message": _test_output(
                  t, full=t.visibility == "visible")} for t in g.tests]
    status = "error" if g.error is not None else (
        "pass" if all(t.passed for t in g.tests) else "fail")
    return {"version": 1, "status": status, "max_score": round(g.max_score, 4),
            "tests": tests}


# --------------------------------------------------------------------------- CSV


def render_csv(reports: Sequence[TargetReport], grades: Sequence[Grade] | None = None,
               rubric: Rubric | None = None) -> str:
    """One row per submission: its name, its target, its status, a column per component
    (points with a rubric, else the component's status) and the total."""
    if rubric is not None:
        names = rubric.names
    else:
        names = []
        for r in reports:
            names += [c.name for c in r.components if c.name not in names]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["submission", "target", "status", *names]
    w.writerow([*head, "score", "max_score"] if rubric is not None else [*head, "passed",
                                                                        "checked"])
    for i, r in enumerate(reports):
        status = "unusable" if r.unusable is not None else ("pass" if r.ok else "fail")
        row: list[Any] = [r.submission or r.target, r.target, status]
        if grades is not None and rubric is not None:
            gr = grades[i]
            row += [_points(gr.component_score(n)) for n in names]
            row += [_points(gr.score), _points(gr.max_score)]
        else:
            by = {c.name: c for c in r.components}
            row += [_CSV_STATUS.get(by[n].status, by[n].status) if n in by else "" for n in names]
            row += [sum(c.status == "pass" for c in r.components),
                    sum(c.status not in ("missing", "skipped") for c in r.components)]
        w.writerow(row)
    return buf.getvalue()


# --------------------------------------------------------------------------- feedback


def _test_output(t: TestGrade, *, full: bool) -> str:
    """What failed in one graded part: everything (``full``), or only which checks failed and
    their likely causes (a test the student may not see the inputs of)."""
    if t.passed:
        return ""
    if full or not t.failed:  # nothing of a check's (not found, not usable) to hide
        return t.output
    lines = [f"failed: {', '.join(t.failed)} (a hidden test: its inputs are not shown)"]
    lines += [f"likely cause: {c}" for c in t.causes]
    return "\n".join(lines)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line.strip() else line for line in text.splitlines())


def render_feedback(report: TargetReport, g: Grade | None = None) -> str:
    """A text a student can act on: the score, each part with its points, and for each
    failing part what was compared, the likely cause and the minimal input; for a part that
    is not visible, only which checks failed and their likely causes."""
    name = report.submission or report.target
    lines: list[str] = []
    if g is None:
        lines.append(f"{name}: " + ("could not be checked" if report.unusable else
                                    "all checks pass" if report.ok else "some checks fail"))
        if report.unusable:
            lines += ["", _indent(report.unusable, "  ")]
        for c in report.components:
            if c.status == "missing":
                continue
            lines += ["", f"{c.name}: {c.status}"]
            for ch in c.checks:
                if ch.status in ("fail", "error"):
                    lines.append(_indent(f"{ch.name}: {ch.message}", "    "))
        return "\n".join(lines) + "\n"
    lines.append(f"{name}: {_points(g.score)} / {_points(g.max_score)} points")
    if g.error is not None:
        lines += ["", "Your submission could not be checked:", _indent(g.error, "  ")]
    current = None
    shown_before: set[str] = set()  # one cause (not found, not loadable) said once per component
    for t in g.tests:
        if t.component != current:
            current = t.component
            shown_before = set()
            got = sum(x.score for x in g.tests if x.component == current)
            worth = sum(x.max_score for x in g.tests if x.component == current)
            lines += ["", f"{current}: {_points(got)} / {_points(worth)}"]
        if t.group is not None and g.error is None:
            mark = "ok" if t.passed else "FAILED"
            lines.append(f"  {t.group}: {_points(t.score)} / {_points(t.max_score)}  {mark}")
        if not t.passed and g.error is None:
            shown = _test_output(t, full=t.visibility == "visible")
            if shown not in shown_before:
                lines.append(_indent(shown, "      "))
                shown_before.add(shown)
    return "\n".join(lines) + "\n"
