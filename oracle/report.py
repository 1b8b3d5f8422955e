"""Report: verdicts as text, a table, JSON, JUnit XML and notebook HTML.

Every renderer takes finished :class:`~oracle.results.TargetReport` records and
returns a string; none of them runs a check or loads a target again.

* :func:`render_text`       one target, for a person at a terminal
* :func:`render_table`      several targets (a teacher's folder), one row each
* :func:`render_json`       one target (an object) or several (a list)
* :func:`render_junit_xml`  one ``<testsuite>`` per target, for CI dashboards
* :func:`render_html`       one target, for ``_repr_html_`` in a notebook
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from typing import IO, Any

from oracle.results import (
    NOTHING_FOUND,
    RENDERERS,
    CheckResult,
    ComponentResult,
    TargetReport,
)

__all__ = [
    "EXIT_MEANINGS",
    "render_html",
    "render_json",
    "render_junit_xml",
    "render_table",
    "render_text",
    "short_name",
    "use_color",
]

#: What each exit code means, in the words the text report ends with.
EXIT_MEANINGS = {
    0: "every component found passes",
    1: "a component fails or errors",
    2: "the target could not be used, or none of the book's classes is in it",
}

_LABELS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "missing": "MISSING",
           "skipped": "SKIPPED"}
_CODES = {"pass": "ok", "fail": "FAIL", "error": "err", "missing": "-", "skipped": "skip"}
_COLORS = {
    "pass": "32",  # green
    "fail": "31;1",  # bold red
    "error": "35;1",  # bold magenta
    "missing": "2",  # dim
    "skipped": "33",  # yellow: a component that could not be driven
    "note": "36",  # cyan
    "xfail": "33",  # yellow
    "skip": "2",
    "header": "1",  # bold
}
_FAILING = ("fail", "error")


def short_name(book_name: str) -> str:
    """The table heading for a book class name (the name itself when unknown)."""
    from oracle.spec import SPECS

    spec = SPECS.get(book_name)
    return spec.short if spec is not None else book_name


def use_color(stream: IO[str] | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR", "") != "":
        return False
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed or detached stream
        return False


class _Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, kind: str) -> str:
        code = _COLORS.get(kind)
        if not self.enabled or not code:
            return text
        return f"\x1b[{code}m{text}\x1b[0m"


# ---------------------------------------------------------------------------------------------
# text


def _indent(message: str, prefix: str, width: int | None = None) -> list[str]:
    """A (possibly multi-line) message as lines under `prefix`; blank edges trimmed.

    The first line starts with `prefix`, the others with as many spaces. With `width`,
    prose lines longer than that wrap at spaces with a hanging indent; lines that
    start with a space (arrays, code) or hold a command line are kept as they are.
    """
    out: list[str] = []
    pad = " " * len(prefix)
    for line in message.strip("\n").splitlines() or [""]:
        line = line.rstrip()
        first = prefix if not out else pad
        keep = line[:1].isspace() or "nnfs-oracle " in line  # arrays, code, commands
        if width is None or len(first) + len(line) <= width or keep:
            out.append((first + line).rstrip())
            continue
        out.extend(
            textwrap.wrap(
                line,
                width=max(width, len(pad) + 40),
                initial_indent=first,
                subsequent_indent=pad + "    ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return out


def _first_line(message: str, limit: int = 100) -> str:
    for line in message.strip().splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return ""


def _component_title(c: ComponentResult) -> str:
    if c.cls and c.cls != c.name:
        return f"{c.name} ({c.cls})"
    return c.name


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _checks_phrase(c: ComponentResult) -> str:
    n = len(c.checks)
    extra = []
    for status in ("xfail", "skip"):
        k = sum(1 for ch in c.checks if ch.status == status)
        if k:
            extra.append(f"{k} {status}")
    text = _count(n, "check")
    return f"{text} ({', '.join(extra)})" if extra else text


def summary_line(report: TargetReport) -> str:
    """``"N passed, N failed, N errors, N missing"`` for one target."""
    s = report.summary
    return (
        f"{s.get('pass', 0)} passed, {s.get('fail', 0)} failed, "
        f"{s.get('error', 0)} errors, {s.get('missing', 0)} missing"
        + (f", {s['skipped']} not checked" if s.get("skipped") else "")
    )


def render_text(
    report: TargetReport, *, color: bool = False, verbose: bool = False, width: int = 100
) -> str:
    """The report of one target for a person at a terminal.

    * ``color`` -- ANSI colours (default ``False``; the CLI passes :func:`use_color`).
    * ``verbose`` -- also list every passing check (default ``False``).
    * ``width`` -- long lines of prose in messages wrap at this column (default 100).
    """
    paint = _Paint(color)
    out: list[str] = []
    head = f"{report.target}  (loaded {report.load_mode})"
    out.append(paint(head, "header"))
    for note in report.notes:
        out.extend(_indent(note, "  note: ", width))

    if report.error is not None:
        out.append(paint("  cannot check this target:", "error"))
        out.extend(_indent(report.error, "    ", width))
        out.append(f"exit 2: {EXIT_MEANINGS[2]}")
        return "\n".join(out) + "\n"

    nw = max([len(_component_title(c)) for c in report.components] + [20])
    nw = min(nw, 60)
    cw = max([len(_checks_phrase(c)) for c in report.components] + [9])
    skipped_for: dict[str, str] = {}  # a skip's reason -> the component it was shown for
    for c in report.components:
        label = _LABELS.get(c.status, c.status.upper())
        title = _component_title(c)
        if c.status == "missing":
            out.append(f"  {paint(label.ljust(7), c.status)}  {title}")
            continue
        line = f"  {paint(label.ljust(7), c.status)}  {title.ljust(nw)}  "
        line += f"{_checks_phrase(c).ljust(cw)}  {c.seconds:6.2f}s"
        out.append(line.rstrip())
        if c.adaptations:
            out.append(f"           adapted: {'; '.join(c.adaptations)}")
        failing = [ch for ch in c.checks if ch.status in _FAILING]
        if c.status in _FAILING and not failing:
            out.append("           (no check reported a reason)")
        for ch in failing:
            word = "FAIL " if ch.status == "fail" else "ERROR"
            out.append(f"           {paint(word, ch.status)} {ch.name}")
            if ch.message:
                out.extend(_indent(ch.message, "                 ", width))
        if c.status == "skipped":  # what to give so that it can be checked: all of it
            for ch in c.checks:
                out.extend(_indent(ch.message, "           ", width))
            continue
        for ch in c.checks:
            if ch.status in ("note", "xfail") or ch.status == "skip" and ch.message:
                # a check that could not run says why (never a silent skip), once per reason
                brief = _first_line(ch.message)
                if ch.status == "skip" and brief in skipped_for:
                    seen = skipped_for[brief]
                    brief = "as above" if seen == c.name else f"as for {seen} above"
                elif ch.status == "skip":
                    skipped_for[brief] = c.name
                text = f"{ch.name}: {brief}" if brief else ch.name
                out.append(f"           {paint(ch.status.ljust(5), ch.status)} {text}")
            elif verbose and ch.status in ("pass", "skip"):
                out.append(f"           {paint(ch.status, ch.status)}  {ch.name}")

    out.append(summary_line(report) + f"  ({report.seconds:.1f}s)")
    checked = sum(1 for c in report.components if c.status != "missing")
    if checked == 0:
        out.append(NOTHING_FOUND)
    code = report.exit_code
    out.append(f"exit {code}: {EXIT_MEANINGS.get(code, '')}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# table


def render_table(reports: Sequence[TargetReport], *, color: bool = False) -> str:
    """One row per target, one column per component (``ok`` / ``FAIL`` / ``err`` / ``-``).

    Components missing from every target get no column; they are named below the table.
    """
    paint = _Paint(color)
    names: list[str] = []  # in the order the reports give them (the registry's)
    for r in reports:
        for c in r.components:
            if c.name not in names:
                names.append(c.name)
    present = [
        n
        for n in names
        if any(c.name == n and c.status != "missing" for r in reports for c in r.components)
    ]
    absent_everywhere = [
        n
        for n in names
        if n not in present and any(c.name == n for r in reports for c in r.components)
    ]

    tw = max([len(r.target) for r in reports] + [len("target"), len("passing")])
    tw = min(tw, 50)
    widths = [max(len(short_name(n)), 4) for n in present]
    tail = ["pass", "fail", "err", "miss", "exit"]

    def fit(text: str, w: int) -> str:
        return text if len(text) <= w else "..." + text[-(w - 3) :]

    def row(first: str, cells: list[tuple[str, str]], extra: list[str]) -> str:
        parts = [fit(first, tw).ljust(tw)]
        for (text, kind), w in zip(cells, widths, strict=True):
            parts.append(paint(text.ljust(w), kind) if kind else text.ljust(w))
        parts.extend(e.rjust(4) for e in extra)
        return "  ".join(parts).rstrip()

    out = [row("target", [(short_name(n), "") for n in present], tail)]
    out.append("-" * len(out[0]))
    for r in reports:
        if r.error is not None:
            reason = _first_line(r.error, 70)
            out.append(f"{fit(r.target, tw).ljust(tw)}  {paint('unusable', 'error')}: {reason}")
            continue
        by_name = {c.name: c for c in r.components}
        cells = []
        for n in present:
            comp = by_name.get(n)
            status = comp.status if comp is not None else "missing"
            cells.append((_CODES.get(status, status), status))
        s = r.summary
        extra = [str(s.get(k, 0)) for k in ("pass", "fail", "error", "missing")]
        extra.append(str(r.exit_code))
        out.append(row(r.target, cells, extra))
    out.append("-" * len(out[0]))
    usable = [r for r in reports if r.error is None]
    totals = []
    for n in present:
        ok = sum(1 for r in usable for c in r.components if c.name == n and c.status == "pass")
        found = sum(
            1 for r in usable for c in r.components if c.name == n and c.status != "missing"
        )
        totals.append((f"{ok}/{found}", ""))
    out.append(row("passing", totals, []))
    out.append("codes: ok = passes, FAIL = fails, err = could not be checked, - = not found")
    if absent_everywhere:
        out.extend(
            textwrap.wrap(
                "not found in any target: " + ", ".join(absent_everywhere),
                width=100,
                subsequent_indent="    ",
                break_long_words=False,
            )
        )
    clean = sum(1 for r in reports if r.exit_code == 0)
    failing = sum(1 for r in reports if r.exit_code == 1)
    unusable = sum(1 for r in reports if r.exit_code == 2)
    out.append(
        f"{_count(len(reports), 'target')}: {clean} passing, {failing} failing, {unusable} unusable"
    )
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# JSON


def _json_safe(value: Any) -> Any:
    """Plain JSON: non-finite floats become strings ("nan", "inf"), unknown objects their str."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    item = getattr(value, "item", None)  # NumPy scalars
    if callable(item):
        try:
            return _json_safe(item())
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)  # NumPy arrays
    if callable(tolist):
        try:
            return _json_safe(tolist())
        except (TypeError, ValueError):
            pass
    return str(value)


def report_dict(report: TargetReport) -> dict[str, Any]:
    """The JSON object of one target (see :func:`render_json`)."""
    return _json_safe(report.to_dict())  # type: ignore[no-any-return]


def render_json(
    report_or_reports: TargetReport | Iterable[TargetReport], *, indent: int | None = 2
) -> str:
    """JSON of one target (an object) or several (a list of objects).

    Each object: ``{"target", "load_mode", "error", "notes", "components": [{"name",
    "class", "status", "checks": [{"name", "status", "message", "details"}],
    "adaptations", "seconds"}], "summary": {"pass", "fail", "error", "missing",
    "exit_code"}, "seconds"}``. Always valid JSON (no NaN literals).
    """
    if isinstance(report_or_reports, TargetReport):
        data: Any = report_dict(report_or_reports)
    else:
        data = [report_dict(r) for r in report_or_reports]
    return json.dumps(data, indent=indent, allow_nan=False)


# ---------------------------------------------------------------------------------------------
# JUnit XML

# Characters XML 1.0 cannot hold at all (ElementTree would write them and produce invalid XML).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_ILLEGAL.sub("\N{REPLACEMENT CHARACTER}", text)


def _testcase(suite: ET.Element, classname: str, name: str, seconds: float) -> ET.Element:
    return ET.SubElement(
        suite,
        "testcase",
        classname=_xml_text(classname),
        name=_xml_text(name),
        time=f"{seconds:.4f}",
    )


def _outcome(case: ET.Element, tag: str, message: str, kind: str) -> None:
    el = ET.SubElement(case, tag, message=_xml_text(_first_line(message, 200)), type=kind)
    el.text = _xml_text(message)


def render_junit_xml(reports: TargetReport | Sequence[TargetReport], *,
                     assignment: Sequence[str] | None = None) -> str:
    """JUnit XML: one ``<testsuite>`` per target, one ``<testcase>`` per component x check.

    ``classname`` is ``target::Component``; fail -> ``<failure>``, error -> ``<error>``,
    missing component / skip / expected failure -> ``<skipped>``; a note passes and
    carries its text in ``<system-out>``. An unusable target is one erroring case ``load``.
    ``assignment``: only these components are reported, and one of them that is missing
    is a failure (the assignment asks for it).
    """
    if isinstance(reports, TargetReport):
        reports = [reports]
    root = ET.Element("testsuites", name="nnfs-oracle")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for r in reports:
        suite = ET.SubElement(root, "testsuite", name=_xml_text(r.target))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="load_mode", value=_xml_text(r.load_mode))
        for i, note in enumerate(r.notes):
            ET.SubElement(props, "property", name=f"note{i + 1}", value=_xml_text(note))
        if r.error is not None:
            case = _testcase(suite, f"{r.target}::load", "load", r.seconds)
            _outcome(case, "error", r.error, "TargetLoadError")
            counts["tests"] += 1
            counts["errors"] += 1
        for c in r.components:
            classname = f"{r.target}::{c.name}"
            if assignment is not None and c.name not in assignment:
                continue
            if c.status == "missing" and assignment is not None:
                case = _testcase(suite, classname, "present", 0.0)
                _outcome(case, "failure", f"{c.name} was not found in the target; the "
                         "assignment includes it", "missing")
                counts["tests"] += 1
                counts["failures"] += 1
                continue
            if c.status == "missing":
                # one case, not one per check: its checks never ran
                case = _testcase(suite, classname, "present", 0.0)
                _outcome(case, "skipped", f"{c.name} was not found in the target", "missing")
                counts["tests"] += 1
                counts["skipped"] += 1
                continue
            checks = list(c.checks)
            if not checks:
                status = c.status if c.status in _FAILING else "pass"
                checks = [CheckResult("component", status, "no check reported a reason")]
            each = c.seconds / len(checks)
            for ch in checks:
                case = _testcase(suite, classname, ch.name, each)
                counts["tests"] += 1
                if ch.status == "fail":
                    _outcome(case, "failure", ch.message or "failed", "fail")
                    counts["failures"] += 1
                elif ch.status == "error":
                    _outcome(case, "error", ch.message or "error", "error")
                    counts["errors"] += 1
                elif ch.status in ("skip", "xfail"):
                    kind = "xfail" if ch.status == "xfail" else "skip"
                    _outcome(case, "skipped", ch.message or ch.status, kind)
                    counts["skipped"] += 1
                elif ch.status == "note" and ch.message:
                    ET.SubElement(case, "system-out").text = _xml_text("note: " + ch.message)
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
        suite.set("time", f"{r.seconds:.3f}")
        total_time += r.seconds
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


# ---------------------------------------------------------------------------------------------
# HTML

_HTML_COLORS = {
    "pass": "#1a7f37",
    "fail": "#cf222e",
    "error": "#8250df",
    "missing": "#6e7781",
    "skipped": "#9a6700",
    "note": "#0969da",
    "xfail": "#9a6700",
    "skip": "#6e7781",
}


def _status_html(status: str) -> str:
    color = _HTML_COLORS.get(status, "inherit")
    label = _LABELS.get(status, status)
    return f'<span style="color:{color};font-weight:bold">{html.escape(label)}</span>'


def render_html(report: TargetReport) -> str:
    """A small HTML table of one target, for a notebook (every string escaped)."""
    e = html.escape
    parts = ['<div class="nnfs-oracle-report">']
    parts.append(f"<p><b>{e(report.target)}</b> <small>(loaded {e(report.load_mode)})</small></p>")
    if report.notes:
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in report.notes) + "</ul>")
    if report.error is not None:
        parts.append(
            f"<p>{_status_html('error')} cannot check this target:</p>"
            f"<pre>{e(report.error)}</pre></div>"
        )
        return "".join(parts)
    parts.append(
        '<table><thead><tr><th style="text-align:left">component</th>'
        '<th style="text-align:left">status</th><th>checks</th><th>seconds</th>'
        '<th style="text-align:left">details</th></tr></thead><tbody>'
    )
    for c in report.components:
        details: list[str] = []
        for ch in c.checks:
            if ch.status in ("fail", "error", "note", "xfail"):
                details.append(
                    f"{_status_html(ch.status)} <code>{e(ch.name)}</code>"
                    f'<pre style="white-space:pre-wrap;margin:0">{e(ch.message)}</pre>'
                )
        if c.adaptations:
            details.append(f"<small>adapted: {e('; '.join(c.adaptations))}</small>")
        checks = "" if c.status == "missing" else str(len(c.checks))
        seconds = "" if c.status == "missing" else f"{c.seconds:.2f}"
        parts.append(
            f"<tr><td><code>{e(_component_title(c))}</code></td><td>{_status_html(c.status)}</td>"
            f'<td style="text-align:right">{checks}</td>'
            f'<td style="text-align:right">{seconds}</td>'
            f'<td style="text-align:left">{"".join(details)}</td></tr>'
        )
    parts.append("</tbody></table>")
    code = report.exit_code
    parts.append(f"<p>{e(summary_line(report))} &mdash; {e(EXIT_MEANINGS.get(code, ''))}</p>")
    parts.append("</div>")
    return "".join(parts)


RENDERERS.update(text=render_text, html=render_html)
