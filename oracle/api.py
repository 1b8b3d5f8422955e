"""The Python API: ``oracle.check(target)`` judges an implementation and returns its report.

Example::

    import oracle
    report = oracle.check("my_network.py", mapping={"Layer_Dense": "DenseLayer"})
    print(report)            # the same text the command line prints
    assert report.ok, report

A target is a path (a script, a notebook, a package directory) or a module name,
run in a child process; or live objects -- a module, a ``types.SimpleNamespace``,
a dict of classes, a class or a list of classes -- checked in this process.

The helpers below (:func:`parse_mapping`, :func:`validate_component`,
:func:`apply_expected_failures`) are shared with the command line and the pytest
plugin, so all three accept and refuse the same things with the same words.
"""

from __future__ import annotations

import dataclasses
import os
import types
from collections.abc import Iterable, Mapping
from typing import Any

import oracle.report  # noqa: F401  -- the reports it returns render themselves
from oracle.results import ComponentResult, TargetReport
from oracle.settings import PROFILE_EXAMPLES, Settings

__all__ = [
    "apply_expected_failures",
    "assert_certified",
    "certify",
    "check",
    "check_class",
    "feedback",
    "grade",
    "make_settings",
    "parse_mapping",
    "validate_component",
    "validate_expected_failures",
]


_NAMES_HINT = "`nnfs-oracle list` shows the book's names"


def _components() -> list[str]:
    from oracle.adapt import COMPONENTS

    return list(COMPONENTS)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'X'?)"`` for the closest of `choices`, or ``""``."""
    from oracle.adapt import did_you_mean as closest

    return closest(name, choices)


def validate_component(name: str, *, what: str = "component", custom: bool = False) -> str:
    """Return `name` if it is one of the book's component names, else raise ``ValueError``.

    ``custom``: also accept the name of a class of the target's own (a custom component),
    unless it is so close to a book name (a case, a letter) that it is likely a slip."""
    components = _components()
    if not isinstance(name, str):
        raise ValueError(f"{what} must be a string naming a book class, got {name!r}")
    if name in components:
        return name
    if custom:
        from oracle.custom import could_be_custom

        if could_be_custom(name):
            return name
    raise ValueError(f"unknown {what} {name!r}{did_you_mean(name, components)}; {_NAMES_HINT}")


def read_layer_configs(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
    """The ``[tool.nnfs-oracle.layers.NAME]`` tables of a pyproject.toml (default: the one in
    the working folder, if any): how to build and drive custom components.  Raises
    ``ValueError`` for a table it cannot use."""
    from oracle.custom import LayerConfig

    file = os.fspath(path) if path is not None else "pyproject.toml"
    if not os.path.isfile(file):
        if path is not None:
            raise ValueError(f"no file {file!r}")
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest's own dependency
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        with open(file, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{file}: {exc}") from None
    tables = data.get("tool", {}).get("nnfs-oracle", {}).get("layers", {})
    if not isinstance(tables, dict):
        raise ValueError(f"{file}: [tool.nnfs-oracle.layers] must be a table of tables")
    out: dict[str, dict[str, Any]] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ValueError(f"{file}: [tool.nnfs-oracle.layers.{name}] must be a table")
        LayerConfig.from_dict(table, what=f"{file}: [tool.nnfs-oracle.layers.{name}]: ")
        out[name] = dict(table)
    return out


def parse_layers(values: Iterable[str] | Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``--layer`` values (``'Conv2D: args=(3, 4, 3), input_shape=(2, 3, 8, 8)'``) or a
    dict ``{name: {key: value}}`` -> checked configs; ``ValueError`` for a bad one."""
    from oracle.custom import LayerConfig, parse_layer_option

    out: dict[str, dict[str, Any]] = {}
    if values is None:
        return out
    items = values.items() if isinstance(values, Mapping) else (
        parse_layer_option(v) for v in values)
    for name, config in items:
        if not isinstance(config, Mapping):
            raise ValueError(f"the config of {name} must be a dict of key: value")
        LayerConfig.from_dict(dict(config), what=f"--layer {name}: ")
        out[str(name)] = {**out.get(str(name), {}), **dict(config)}
    return out


#: The book's methods a mapping may rename (Layer_Dense.forward=predict).
_METHODS = ("forward", "backward", "update_params", "pre_update_params", "post_update_params")


def parse_mapping(values: str | Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """``BookName=TheirName`` pairs (repeatable and/or comma-separated) -> a checked dict.

    The left side must be a book name (``nnfs-oracle list``); the right side is the
    name of the class in the target. Raises ``ValueError`` with a clear message.
    """
    if values is None:
        return {}
    pairs: list[tuple[str, str]] = []
    if isinstance(values, Mapping):
        pairs = [(str(k), v) for k, v in values.items()]
    else:
        if isinstance(values, str):
            values = [values]
        for value in values:
            for item in str(value).split(","):
                item = item.strip()
                if not item:
                    continue
                left, sep, right = item.partition("=")
                if not sep:
                    raise ValueError(
                        f"mapping {item!r} is not of the form BookName=YourName "
                        "(e.g. Layer_Dense=DenseLayer)"
                    )
                pairs.append((left.strip(), right.strip()))
    components = _components()
    out: dict[str, str] = {}
    for book, theirs in pairs:
        if not isinstance(theirs, str) or not theirs.strip():
            raise ValueError(f"mapping for {book!r} has no class name on the right of '='")
        theirs = theirs.strip()
        component, dot, method = book.partition(".")
        if dot:  # Book.method=theirs: the name of one of the book's methods in the class
            if component not in components or method not in _METHODS:
                raise ValueError(
                    f"mapping {book}={theirs}: name a method as Book.method=yours, with a book "
                    f"class and one of {', '.join(_METHODS)}")
            if not theirs.isidentifier():
                raise ValueError(f"mapping {book}={theirs}: {theirs!r} is not a method name")
            out[book] = theirs
            continue
        if book not in components:
            hint = did_you_mean(book, components)
            if not hint and theirs in components:
                hint = f" (did you mean {theirs}={book}? the book's name goes on the left)"
            raise ValueError(
                f"unknown book class {book!r} on the left of a mapping{hint}; {_NAMES_HINT}"
            )
        if not all(part.isidentifier() for part in theirs.split(".")):
            raise ValueError(f"mapping {book}={theirs}: {theirs!r} is not a Python class name")
        if book in out and out[book] != theirs:
            raise ValueError(f"{book} is mapped twice: to {out[book]!r} and to {theirs!r}")
        out[book] = theirs
    return out


def _check_names(component: str) -> list[str]:
    from oracle.checks import check_names

    return list(check_names(component))


def _split_key(key: str) -> tuple[str, str | None]:
    comp, sep, check_name = key.partition("::")
    return comp.strip(), (check_name.strip() if sep else None)


def _matches(check_name: str, pattern: str | None) -> bool:
    """A pattern names one check exactly, or a dotted group of checks (``backward``)."""
    return pattern is None or check_name == pattern or check_name.startswith(pattern + ".")


def validate_expected_failures(expected: Mapping[str, str] | None) -> dict[str, str]:
    """``{"Component": reason}`` / ``{"Component::check": reason}`` -> a checked dict.

    Component names must be book names and check names must exist (see
    ``nnfs-oracle list``); every entry needs a non-empty reason.
    """
    if not expected:
        return {}
    if not isinstance(expected, Mapping):
        raise ValueError(
            "expected_failures must be a dict {'Component' or 'Component::check': reason}, "
            f"got {type(expected).__name__}"
        )
    out: dict[str, str] = {}
    for key, reason in expected.items():
        if not isinstance(key, str):
            raise ValueError(f"expected failure key {key!r} must be a string")
        comp, check_name = _split_key(key)
        validate_component(comp, what="component in expected failure")
        if check_name is not None:
            names = _check_names(comp)
            if not any(_matches(n, check_name) for n in names):
                raise ValueError(
                    f"expected failure {key!r}: {comp} has no check {check_name!r}"
                    f"{did_you_mean(check_name, names)}; its checks are: {', '.join(names)}"
                )
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"expected failure {key!r} needs a reason (a non-empty string)")
        out[key if check_name is None else f"{comp}::{check_name}"] = reason.strip()
    return out


def apply_expected_failures(report: TargetReport, expected: Mapping[str, str]) -> list[str]:
    """Turn failing checks named in `expected` into ``xfail``; return the stale entries.

    A failing or erroring check that matches ``Component`` or ``Component::check``
    becomes ``xfail`` (its message keeps what went wrong) and its component's status
    is recomputed, so an expected failure does not fail the component. An entry that
    matched no failing check is stale: one line per entry is returned (and nothing
    is changed for it). Components the report did not check are not judged stale.
    """
    if not expected or report.error is not None:
        return []
    entries = [(key, *_split_key(key), reason) for key, reason in expected.items()]
    used: set[str] = set()
    for comp in report.components:
        mine = [e for e in entries if e[1] == comp.name]
        if not mine:
            continue
        changed = False
        for ch in comp.checks:
            for key, _c, pattern, reason in mine:
                if not _matches(ch.name, pattern):
                    continue
                if ch.status == "xfail":  # already expected upstream
                    used.add(key)
                elif ch.status in ("fail", "error"):
                    ch.details = {**ch.details, "expected_failure": reason, "was": ch.status}
                    ch.message = f"expected failure ({reason})" + (
                        f": {ch.message}" if ch.message else ""
                    )
                    ch.status = "xfail"
                    used.add(key)
                    changed = True
                break
        if changed and comp.checks:
            comp.status = ComponentResult.status_of(comp.checks)
    stale = []
    present = {c.name: c for c in report.components}
    for key, comp_name, _pattern, reason in entries:
        if key in used or comp_name not in present:
            continue
        if present[comp_name].status == "missing":
            why = f"{comp_name} was not found in the target"
        else:
            why = "it did not fail"
        stale.append(f"stale expected failure {key!r} ({reason}): {why}")
    return stale


def make_settings(
    *,
    mapping: str | Iterable[str] | Mapping[str, str] | None = None,
    expected_failures: Mapping[str, str] | None = None,
    max_examples: int | None = None,
    seed: int = 0,
    profile: str = "default",
    timeout: float = 60.0,
    import_mode: bool = False,
    components: Iterable[str] | None = None,
    layers: Iterable[str] | Mapping[str, Any] | None = None,
    custom: bool = True,
    reading: str = "auto",
) -> Settings:
    """A checked :class:`~oracle.settings.Settings`; raises ``ValueError`` on a bad value."""
    from oracle.targets import READINGS

    if reading not in READINGS:
        raise ValueError(f"reading must be one of {', '.join(READINGS)}, got {reading!r}")
    if max_examples is not None:
        if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
            raise ValueError(f"max_examples must be a positive integer, got {max_examples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if profile not in PROFILE_EXAMPLES:
        raise ValueError(
            f"unknown profile {profile!r}{did_you_mean(str(profile), PROFILE_EXAMPLES)}; "
            f"choose one of: {', '.join(PROFILE_EXAMPLES)}"
        )
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"timeout must be a number of seconds, got {timeout!r}") from None
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    comps: list[str] | None = None
    if components is not None:
        if isinstance(components, str):
            components = [components]
        comps = []
        for c in components:
            name = validate_component(c, custom=custom)
            if name not in comps:
                comps.append(name)
    return Settings(
        profile=profile,
        max_examples=max_examples,
        seed=seed,
        timeout=timeout,
        import_mode=bool(import_mode),
        mapping=parse_mapping(mapping),
        components=comps,
        expected_failures=validate_expected_failures(expected_failures),
        layers=parse_layers(layers),
        custom=bool(custom),
        named=comps is not None,
        reading=reading,
    )


def _namespace_of(target: Any) -> tuple[dict[str, Any], str] | None:
    """Live objects -> (namespace, label); None for a path or module name."""
    if isinstance(target, types.ModuleType):
        return dict(vars(target)), target.__name__
    if isinstance(target, types.SimpleNamespace):
        return dict(vars(target)), "namespace"
    if isinstance(target, Mapping):
        bad = [k for k in target if not isinstance(k, str)]
        if bad:
            raise TypeError(
                f"a dict target maps class names (strings) to classes, got key {bad[0]!r}"
            )
        return dict(target), "dict"
    if isinstance(target, type):
        return {target.__name__: target}, target.__qualname__
    if isinstance(target, (list, tuple)) and target and all(isinstance(t, type) for t in target):
        return {t.__name__: t for t in target}, "classes"
    return None


def run_settings(target: Any, settings: Settings) -> TargetReport:
    """Run one target (path, module name or live objects) with ready-made settings.

    Never raises for a failing or unusable target: a load error lands in ``report.error``.
    """
    from oracle.load import TargetLoadError
    from oracle.run import run_namespace, run_target

    try:
        ns = _namespace_of(target)
        if ns is not None:
            namespace, label = ns
            return run_namespace(namespace, label, settings)
        return run_target(os.fspath(target), settings)
    except TargetLoadError as exc:  # a load error raised rather than reported
        label = os.fspath(target) if isinstance(target, (str, os.PathLike)) else repr(target)
        return TargetReport(str(label), error=str(exc))


def check(
    target: Any,
    *,
    mapping: Mapping[str, str] | str | Iterable[str] | None = None,
    expected_failures: Mapping[str, str] | None = None,
    max_examples: int | None = None,
    seed: int = 0,
    profile: str = "default",
    timeout: float = 60.0,
    import_mode: bool = False,
    components: Iterable[str] | None = None,
    layers: Mapping[str, Any] | Iterable[str] | None = None,
    custom: bool = True,
) -> TargetReport:
    """Check an nnfs implementation against the reference; return its :class:`TargetReport`.

    * ``target`` -- a path (``.py`` script, ``.ipynb`` notebook, package directory) or a
      module name, run in a child process; or a module object, a
      ``types.SimpleNamespace``, a dict ``{name: class}``, a class or a list of classes,
      checked in this process.
    * ``mapping`` -- ``{"Layer_Dense": "DenseLayer"}``: the book's name -> your class
      name, for classes discovery does not recognise (default: none).
    * ``expected_failures`` -- ``{"Loss_MeanAbsoluteError::backward.dinputs": "book
      erratum"}`` or ``{"Component": reason}``: matching failing checks become ``xfail``
      and do not fail their component; entries that did not fail are listed as stale in
      ``report.notes`` (default: none).
    * ``max_examples`` -- examples per property, overriding the profile (default: the
      profile's count).
    * ``seed`` -- the same seed replays the same inputs (default ``0``).
    * ``profile`` -- ``"dev"``, ``"default"``, ``"ci"`` or ``"thorough"``.
    * ``timeout`` -- seconds per component before its worker is stopped (default ``60``).
    * ``import_mode`` -- import a file target normally (runs its top-level code) instead
      of loading only its definitions (default ``False``).
    * ``components`` -- check only these book names, or classes of the target's own
      (default: all, and every class with forward and backward that is not the book's).
    * ``layers`` -- how to build and drive custom components the checks cannot work out:
      ``{"Conv2D": {"args": [3, 4, 3], "input_shape": [2, 3, 8, 8]}}`` (keys: args, kwargs,
      input_shape, input, params, kind, skip), as ``[tool.nnfs-oracle.layers.Conv2D]``.
    * ``custom`` -- ``False``: only the book's components.

    Never raises for a failing or unusable target (``report.error`` says why it could
    not be used; ``report.exit_code`` is then 2). Raises ``ValueError`` / ``TypeError``
    for bad arguments, such as an unknown component name.
    """
    if not isinstance(target, (str, os.PathLike)) and _namespace_of(target) is None:
        raise TypeError(
            "target must be a path or module name (str / os.PathLike), a module, a "
            f"SimpleNamespace, a dict of classes, a class or a list of classes; got "
            f"{type(target).__name__}"
        )
    settings = make_settings(
        mapping=mapping,
        expected_failures=expected_failures,
        max_examples=max_examples,
        seed=seed,
        profile=profile,
        timeout=timeout,
        import_mode=import_mode,
        components=components,
        layers=layers,
        custom=custom,
    )
    report = run_settings(target, settings)
    report.notes.extend(apply_expected_failures(report, settings.expected_failures))
    return report


def restrict(settings: Settings, components: list[str]) -> Settings:
    """A copy of `settings` that checks only `components` (a component the target lacks is
    then missing, not an error: the caller chose them, not the user)."""
    return dataclasses.replace(settings, components=list(components), named=False)


def certify(
    layer: Any,
    inputs: Any,
    *,
    y_true: Any = None,
    params: Iterable[str] | str | None = None,
    name: str | None = None,
    max_examples: int | None = None,
    seed: int = 0,
    profile: str = "default",
) -> TargetReport:
    """Certify one layer or loss object of any kind against finite differences of its own
    forward; return a :class:`TargetReport` with one component, as :func:`check` does.

    * ``layer`` -- an object with ``forward`` and ``backward`` in the book's interface
      (``forward(inputs[, training])`` sets ``output``, ``backward(dvalues)`` sets
      ``dinputs`` and ``dX`` for each parameter ``X``); a loss when ``y_true`` is given
      (``forward(y_pred, y_true)``, ``backward(dvalues, y_true)``). Fresh objects are deep
      copies of it; it is never modified.
    * ``inputs`` -- an example input (batch first; integer ids for an embedding). The
      checks start from it and the layer's own parameter values, then draw others of the
      same shape at other batch sizes.
    * ``params`` -- the attribute names of the parameters (default: every ``X`` whose
      ``dX`` backward sets with the same shape).
    * ``name`` -- the name in the report (default: the class's).
    * ``max_examples``, ``seed``, ``profile`` -- as for :func:`check`.

    Runs in this process; NumPy's global random state is restored afterwards.
    """
    import time

    from oracle.checks import check_custom
    from oracle.context import numpy_restored
    from oracle.custom import CustomError, plan_for_object

    settings = make_settings(max_examples=max_examples, seed=seed, profile=profile)
    label = name or type(layer).__name__
    report = TargetReport(label, load_mode="object")
    t0 = time.monotonic()
    try:  # (probing restores NumPy's global random state itself)
        with numpy_restored():
            plan = plan_for_object(layer, inputs, params=params, name=label, y_true=y_true)
    except CustomError as exc:
        report.error = f"cannot certify {label}: {exc}"
        return report
    report.components.append(check_custom(label, type(layer), namespace={}, settings=settings,
                                          plan=plan))
    report.seconds = time.monotonic() - t0
    return report


def assert_certified(layer: Any, inputs: Any, **kwargs: Any) -> TargetReport:
    """:func:`certify` for a test: raises ``AssertionError`` with the whole report (every
    finding, at full length) unless it passes; returns the report otherwise::

        def test_my_conv():
            oracle.assert_certified(Conv2D(3, 4, 3), np.random.randn(2, 3, 8, 8))
    """
    report = certify(layer, inputs, **kwargs)
    if not report.ok:
        from oracle.report import render_text

        raise AssertionError("\n" + render_text(report, verbose=False))
    return report


def _rubric(rubric: Any) -> Any:
    from oracle.rubric import Rubric, read_rubric, rubric_from_dict

    if isinstance(rubric, Rubric):
        return rubric
    if isinstance(rubric, Mapping):
        return rubric_from_dict(dict(rubric), "a dict")
    if isinstance(rubric, (str, os.PathLike)):
        return read_rubric(rubric)
    raise TypeError(f"a rubric is a path to TOML, a dict or a Rubric, got {type(rubric).__name__}")


def grade(report: TargetReport, rubric: Any) -> Any:
    """The :class:`~oracle.rubric.Grade` of a report under ``rubric`` (a path to TOML, a
    ``pyproject.toml``, a dict of the same table, or a :class:`~oracle.rubric.Rubric`):
    ``.score``, ``.max_score`` and ``.tests``, one per component or group of checks.
    Raises ``ValueError`` for a rubric it cannot use."""
    from oracle.rubric import grade as _grade

    return _grade(report, _rubric(rubric))


def feedback(report: TargetReport, rubric: Any = None) -> str:
    """The text a student reads: the score under ``rubric`` (if given), each part's points,
    and what failed with its likely cause (a test that is not visible: no inputs)."""
    from oracle.gradebook import render_feedback

    return render_feedback(report, None if rubric is None else grade(report, rubric))


def run_class(targets: Iterable[str], settings: Settings, *, shard: tuple[int, int] | None = None,
              jobs: int | None = None) -> tuple[list[TargetReport], list[str]]:
    """Expand ``targets`` (a folder of submissions is one target per submission, as
    ``settings.reading`` says), keep shard ``(I, N)`` of them, check them in parallel; the
    reports in order, each with its submission's name and place, and what was decided about
    each folder."""
    from oracle.load import TargetLoadError
    from oracle.run import run_target, run_targets
    from oracle.targets import expand
    from oracle.targets import shard as part_of

    expansion = expand(targets, settings.reading)
    subs = expansion.submissions if shard is None else part_of(expansion.submissions, *shard)
    paths = [sb.path for sb in subs if sb.path not in expansion.errors]
    try:
        done = run_targets(paths, settings, jobs=jobs) if len(paths) > 1 else [
            run_target(p, settings) for p in paths]
    except TargetLoadError:  # one bad target must not hide the others
        done = [run_settings(p, settings) for p in paths]
    ran = iter(done)
    reports = []
    for sb in subs:
        r = TargetReport(sb.path, error=expansion.errors[sb.path]) \
            if sb.path in expansion.errors else next(ran)
        if sb.folder is not None or shard is not None or len(subs) > 1:
            r.submission, r.position, r.total = sb.name, sb.position, sb.total
        if sb.folder is not None:
            r.notes.insert(0, f"submission {sb.name} of {sb.folder}, checked on its own")
        reports.append(r)
    return reports, list(expansion.notes)


def check_class(targets: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], *,
                reading: str = "auto", jobs: int | None = None,
                **kwargs: Any) -> list[TargetReport]:
    """Check a class: a folder of submissions (one target per file, subfolder or notebook:
    see :mod:`oracle.targets`), or a list of targets; one report per submission, in order,
    each with ``.submission``.  ``reading``: ``"auto"``, ``"each"`` or ``"one"``; the other
    keywords are :func:`check`'s.  Grade them with :func:`grade`."""
    if isinstance(targets, (str, os.PathLike)):
        targets = [targets]
    settings = make_settings(reading=reading, **kwargs)
    reports, _ = run_class([os.fspath(t) for t in targets], settings, jobs=jobs)
    for r in reports:
        r.notes.extend(apply_expected_failures(r, settings.expected_failures))
    return reports
