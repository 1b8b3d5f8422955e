"""What the command line's targets are: a folder of submissions is one target per submission.

A teacher's folder holds one file (or one subfolder) per student, each defining the book's
classes; a learner's project folder holds files that together make one network.  Loading the
first as one target would merge the students' classes, the last file winning, so one
student's bug would hide behind another's class.  :func:`expand` tells them apart without
running anything (it reads the sources with :mod:`ast`):

- the *units* of a folder without ``__init__.py``: its ``.py`` files, its notebooks and its
  source subfolders;
- a unit's *roles*: the book components its classes speak for by name (``DenseLayer`` and
  ``Layer_Dense`` both speak for ``Layer_Dense``), and the names of its other classes that
  have a forward or a backward;
- units that share a role are *submissions* when none of them imports another: each is its
  own target.  Units that share no role are one project (one target, as before).  Units that
  share a role and import each other cannot be read either way safely: that folder is an
  error, and ``--each`` or ``--one`` says which reading is meant.

Submissions are listed in natural order (``s2`` before ``s10``); :func:`shard` takes a
deterministic part of them so that a class can be spread over machines.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["READINGS", "Expansion", "Submission", "expand", "parse_shard", "shard"]

#: How a folder is read: decided from its sources, one target per file or subfolder, or
#: one target (a class defined twice: the later file's).
READINGS = ("auto", "each", "one")

_SKIP_FILES = {"setup.py", "conftest.py", "noxfile.py"}


@dataclass(frozen=True)
class Submission:
    """One target to check: ``path`` (a file, notebook, folder or module name), its name in
    its class (``alice.py``), the folder it was found in (or None), and its place in the
    whole run (``position`` of ``total``), which shards keep so that merging restores it."""

    path: str
    name: str
    folder: str | None = None
    position: int = 0
    total: int = 1


@dataclass
class Expansion:
    """The targets a command line names, and what was decided about each folder."""

    submissions: list[Submission] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line per folder read as submissions
    errors: dict[str, str] = field(default_factory=dict)  # target -> why it cannot be read


@dataclass
class _Unit:
    path: str
    stem: str  # the name its siblings would import it by
    roles: set[str] = field(default_factory=set)
    imports: set[str] = field(default_factory=set)
    broken: bool = False  # its source could not be read or parsed


def _method_names(node: ast.ClassDef) -> set[str]:
    return {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _scan(text: str, unit: _Unit) -> None:
    """Add the roles and imports of one module's source to ``unit``."""
    from oracle.adapt import BACKWARD_NAMES, FORWARD_NAMES, role_of

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        unit.broken = True
        return
    moving = set(FORWARD_NAMES) | set(BACKWARD_NAMES)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            role = role_of(node.name, words=False)  # Dense_Wrapped(Dense) is not a Dense
            if role is not None:
                unit.roles.add(role)
            elif _method_names(node) & moving:
                unit.roles.add(node.name)
        elif isinstance(node, ast.Import):
            unit.imports.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                unit.imports.add("." + (node.module or "").split(".")[0])
            elif node.module:
                unit.imports.add(node.module.split(".")[0])


def _units(folder: str) -> list[_Unit]:
    from oracle.load import TargetLoadError, natural_key, source_text

    units: list[_Unit] = []
    for entry in sorted(os.listdir(folder), key=natural_key):
        path = os.path.join(folder, entry)
        if entry.startswith((".", "_")) or entry in _SKIP_FILES:
            continue
        if os.path.isdir(path):
            files = [os.path.join(d, f) for d, dirs, fs in os.walk(path)
                     if not os.path.basename(d).startswith((".", "_"))
                     for f in fs if f.endswith((".py", ".ipynb"))]
            if not files or os.path.isfile(os.path.join(path, "pyvenv.cfg")):
                continue
            unit = _Unit(path, entry)
        elif entry.endswith((".py", ".ipynb")):
            files = [path]
            unit = _Unit(path, os.path.splitext(entry)[0])
        else:
            continue
        for f in files:
            try:
                _scan(source_text(f), unit)
            except TargetLoadError:
                unit.broken = True
        units.append(unit)
    return units


def _is_project_folder(path: str) -> bool:
    return os.path.isdir(path) and not os.path.isfile(os.path.join(path, "__init__.py"))


def _read_folder(folder: str, reading: str) -> tuple[list[_Unit] | None, str]:
    """The submissions of a folder (None: it is one target) and what was decided, said."""
    units = _units(folder)
    shown = folder.rstrip("/\\") + os.sep
    stems = {u.stem for u in units}
    imported = {s for u in units for s in u.imports & stems}
    notebooks = [u for u in units if u.path.endswith(".ipynb")]
    if len(notebooks) > 1 and len(notebooks) == len(units) and reading != "one":
        return units, (f"{shown}: {len(units)} notebooks, each checked on its own (notebooks "
                       "are never merged into one target)")
    if reading == "one" or len(units) < 2:
        return None, ""
    if reading == "each":
        subs = [u for u in units if u.stem not in imported] or units
        return subs, (f"{shown}: {len(subs)} submission{'s' if len(subs) != 1 else ''}, each "
                      "checked on its own (--each)")
    shared: dict[str, list[str]] = {}
    for u in units:
        for role in u.roles:
            shared.setdefault(role, []).append(os.path.basename(u.path))
    shared = {r: where for r, where in shared.items() if len(where) > 1}
    if not shared:
        return None, ""
    sharing = {os.path.basename(u.path): u for u in units if any(
        os.path.basename(u.path) in w for w in shared.values())}
    tangled = sorted(f"{name} imports {other}" for name, u in sharing.items()
                     for other in sharing if other != name
                     and sharing[other].stem in u.imports)
    role, where = max(sorted(shared.items()), key=lambda kv: len(kv[1]))
    if tangled:
        raise ValueError(
            f"{shown} cannot be read safely: {role} is defined in both {where[0]} and "
            f"{where[1]}, and {tangled[0]}. Say how to read it: --each (one target per file "
            "or subfolder) or --one (one target, a class defined twice taken from the later "
            "file)")
    subs = [u for u in units if (u.roles or u.broken) and u.stem not in imported]
    helpers = [os.path.basename(u.path) for u in units if u not in subs]
    said = (f"{shown}: {len(subs)} submissions, each checked on its own: they define the "
            f"same classes ({role} in {where[0]} and {where[1]}"
            f"{' and more' if len(shared) > 1 or len(where) > 2 else ''}) and do not import "
            "each other")
    if helpers:
        said += f"; not submissions: {', '.join(helpers)}"
    return subs, said + " (--one reads it as one target)"


def _lone_notebook(path: str) -> str | None:
    """The notebook of a folder whose only source is one notebook (a Gradescope submission
    folder, a student's subfolder): that notebook is the target, since a folder is loaded
    from its ``.py`` files."""
    if not os.path.isdir(path):
        return None
    sources = []
    for d, dirs, files in os.walk(path):
        dirs[:] = [x for x in dirs if not x.startswith((".", "_"))]  # checkpoints, caches
        sources += [os.path.join(d, f) for f in files if f.endswith((".py", ".ipynb"))]
    if len(sources) == 1 and sources[0].endswith(".ipynb"):
        return sources[0]
    return None


def expand(targets: Iterable[str], reading: str = "auto") -> Expansion:
    """The submissions the command line's ``targets`` name, in order.

    A file, a notebook, a package and a module name are one target each.  A folder without
    ``__init__.py`` is read as ``reading`` says (see the module's docstring).  A folder that
    cannot be read safely is in ``errors`` (the caller reports it as an unusable target).
    """
    if reading not in READINGS:
        raise ValueError(f"unknown reading {reading!r}; choose one of: {', '.join(READINGS)}")
    out = Expansion()
    found: list[tuple[str, str, str | None]] = []
    for target in targets:
        path = os.path.expanduser(target)
        if not _is_project_folder(path):
            found.append((target, os.path.basename(target.rstrip("/\\")) or target, None))
            continue
        try:
            units, said = _read_folder(path, reading)
        except ValueError as exc:
            out.errors[target] = str(exc)
            found.append((target, os.path.basename(target.rstrip("/\\")) or target, None))
            continue
        if units is None:
            found.append((_lone_notebook(path) or target,
                          os.path.basename(target.rstrip("/\\")) or target, None))
            continue
        out.notes.append(said)
        found += [(_lone_notebook(u.path) or u.path, os.path.basename(u.path), target)
                  for u in units]
    total = len(found)
    out.submissions = [Submission(p, n, f, i, total) for i, (p, n, f) in enumerate(found)]
    return out


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/5"`` -> ``(2, 5)``; raises ``ValueError`` unless ``1 <= I <= N``."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ValueError(f"expected a shard as I/N with 1 <= I <= N (like 2/5), got {text!r}")
    return int(m.group(1)), int(m.group(2))


def shard(submissions: Sequence[Submission], index: int, count: int) -> list[Submission]:
    """Shard ``index`` of ``count`` (1-based): every ``count``-th submission, starting at
    ``index``.  Deterministic, and the shards of one run are disjoint and cover it; sizes
    differ by at most one."""
    return list(submissions[index - 1::count])
