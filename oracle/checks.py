"""The check generator: every property of the spec table, applied to one target component.

CONTRACT (used by oracle.worker, oracle.run, oracle.api, oracle.pytest_plugin):

    check_names(book_name) -> list[str]
        The static list of check names for a component (no target needed), so the
        pytest plugin can collect one test per component x check.

    check_component(book_name, cls, *, namespace, settings) -> ComponentResult
        Runs every check of `book_name` on the target's class `cls` in *this*
        process and returns the verdicts. Never raises for a misbehaving target:
        exceptions, NaN, wrong shapes become failing checks. (Hard crashes,
        hangs and sys.exit are handled one level up, by oracle.run.)

Each check is a Hypothesis run of one property over the component's case
strategy: the typical case first, then ``settings.examples`` generated cases,
then shrinking to a small counterexample (bounded in calls, so a failing target
costs seconds, not minutes).
"""

from __future__ import annotations

import copy
import os
import random
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, given, reject, seed
from hypothesis import settings as hsettings

from oracle import custom as C
from oracle import frames
from oracle import model_properties as _model_checks  # noqa: F401 (registers them)
from oracle import properties as P
from oracle import spec as S
from oracle.adapt import AdapterError, discover
from oracle.binding import CallError
from oracle.context import numpy_restored
from oracle.drivers import DRIVERS
from oracle.load import broken_definition, unset_name
from oracle.results import CheckResult, ComponentResult
from oracle.settings import Settings

# After the first failure, shrinking continues for at most this many calls or
# seconds; the smallest failing case seen so far is reported.
SHRINK_CALLS = 100
SHRINK_SECONDS = 1.0


class _ShrinkBudgetSpent(BaseException):
    """Raised through Hypothesis (a BaseException passes through it) to end shrinking."""


def check_names(book_name: str | S.Spec) -> list[str]:
    """The checks of a component (a book name or a spec record), in order (from the
    property registry)."""
    spec = S.SPECS[book_name] if isinstance(book_name, str) else book_name
    return list(dict.fromkeys(p.name for p in P.properties_for(spec)))


def _property(spec: S.Spec, name: str) -> P.Property | None:
    return next((p for p in P.properties_for(spec) if p.name == name), None)


# --------------------------------------------------------------------------- messages


def _where(exc: BaseException) -> str:
    """The innermost traceback frame in the target's own code."""
    f = frames.innermost(exc)
    if f is None:
        return ""
    line = f" `{f.line.strip()}`" if f.line else ""
    return f" in {f.name}() at {os.path.basename(f.filename)}:{f.lineno}{line}"


def _exception_message(exc: BaseException) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"raised {type(exc).__name__}{': ' + msg if msg else ''}{_where(exc)}"


def _exception_hint(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, EOFError):
        return "it called input(): a component must not read from the keyboard"
    if "could not be broadcast" in text or "shapes" in text and "not aligned" in text:
        return "a shape mismatch: check transposes (.T) and keepdims=True in sums"
    if isinstance(exc, IndexError) and "too many indices" in text:
        return "a label-format branch: sparse labels are 1-D, one-hot labels 2-D"
    if isinstance(exc, TypeError) and "object is not callable" in text:
        return ("a missing operator: `a(b)` calls a; `a * (b)` or `a / (b)` was meant, or a "
                "method name is shadowed by an attribute of the same name")
    if isinstance(exc, UnboundLocalError):
        return "a variable set in only one branch (sparse vs one-hot?) or an indentation slip"
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None) or ""
        if name in _MODULE_NAMES:
            return (f"{name!r} is never imported in the module: add `import "
                    f"{_MODULE_NAMES[name]}` at its top")
        return (f"{name or 'a name'!r} is not defined where it is used: a typo, a missing "
                "import, a variable of another method (self. forgotten?), or one set in only "
                "one branch")
    return ""


# Names a module uses for what it forgot to import.
_MODULE_NAMES = {"np": "numpy as np", "numpy": "numpy", "math": "math", "nnfs": "nnfs",
                 "scipy": "scipy", "random": "random", "copy": "copy"}


def _format(message: str, hint: str, case: S.Case | None, replay: str) -> str:
    parts = [message]
    if hint:
        parts.append(f"likely cause: {hint}")
    if case is not None:
        summary = case.summary()
        if summary:
            parts.append("minimal failing input:\n  " + summary.replace("\n", "\n  "))
    if replay:
        parts.append(f"replay: {replay}")
    return "\n".join(parts)


# --------------------------------------------------------------------------- running one check


def _hyp_settings(n: int) -> hsettings:
    return hsettings(
        max_examples=max(1, n),
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        print_blob=False,
    )


# --------------------------------------------------------------------------- the case book
#
# With one seed, Hypothesis draws the same cases for every class that passes a check: its
# choices depend only on the seed and on which cases passed.  A class of submissions can
# therefore draw them once, from the reference (which passes), and replay them to every
# submission without the engine.  A submission for which every replayed case passes gets
# the verdict the engine would have given it; at the first case that does not pass, the
# check runs again with the engine from the start, so a failure is found, shrunk and
# reported exactly as without the book.

#: (component, check, examples, seed) -> the cases the engine drew, in order.
CaseBook = dict[tuple[str, str, int, int], list[S.Case]]
_BOOK: CaseBook = {}
_RECORDING: CaseBook | None = None


def use_case_book(book: CaseBook) -> None:
    """Replay these cases (read from the file :func:`record_case_book` wrote)."""
    _BOOK.clear()
    _BOOK.update(book)


def record_case_book() -> CaseBook:
    """Start recording the cases the engine draws; returns the book being filled (a check's
    cases are kept only when the check passes)."""
    global _RECORDING
    _RECORDING = {}
    return _RECORDING


def run_check(
    spec: S.Spec, name: str, cls: type, *, namespace: dict[str, Any], settings: Settings,
    patched: bool | None = None, peers: dict[str, type] | None = None,
) -> CheckResult:
    plan = _property(spec, name)
    replay = _replay(settings, spec)
    ctx = P.Context(spec, cls, namespace, P.numpy_patched() if patched is None else patched,
                    peers=peers if peers is not None else _peers(namespace, settings))
    if plan is None:  # a name no property of this component registers: a bug, not a skip
        return CheckResult(name, "error", f"{spec.name} has no check named {name!r} (its "
                           f"checks: {', '.join(check_names(spec.name))})")
    if plan.fixed:
        return _fixed(plan, ctx, settings, replay)
    if name == "finite_differences":
        pre = _fd_precondition(ctx, spec)
        if pre is not None:
            return pre
    smallest: dict[str, Any] = {}
    state: dict[str, Any] = {"first_fail": None, "calls_after": 0, "applicable": False}

    def body(case: S.Case) -> None:
        if state["first_fail"] is not None:
            state["calls_after"] += 1
            if (state["calls_after"] > SHRINK_CALLS
                    or time.perf_counter() - state["first_fail"] > SHRINK_SECONDS):
                raise _ShrinkBudgetSpent()
        try:
            plan.test(ctx, case)
        except P.NotApplicable:
            if state["applicable"]:
                # the typical case ran: only this drawn case uses what the class lacks
                # (momentum for a chapter-9 SGD), so discard it rather than skip the check
                reject()
            raise
        except _ShrinkBudgetSpent:
            raise
        except Exception as e:
            if state["first_fail"] is None:
                state["first_fail"] = time.perf_counter()
            if "case" not in smallest or case.size() < smallest["case"].size():
                smallest.update(case=case, exc=e)
            # A small case can make a cause ambiguous (2 samples, 2 outputs, factor 2):
            # keep the first unambiguous one seen for this check.
            hint = getattr(e, "hint", "")
            if hint and "; or " not in hint and "hint" not in smallest:
                smallest["hint"] = hint
            raise

    n = max(1, round(settings.examples * plan.examples))
    key = (spec.name, name, n, settings.seed)
    drawn: list[S.Case] = []

    def recorded(case: S.Case) -> None:
        drawn.append(copy.deepcopy(case))
        body(case)

    recording = _RECORDING is not None and spec.plan is None
    test = given(plan.strategy(spec)())(recorded if recording else body)
    test = seed(settings.seed)(_hyp_settings(n)(test))
    if key in _BOOK and spec.plan is None:
        if _replays_clean(body, spec, plan, _BOOK[key], ctx):
            return CheckResult(name, "note", "; ".join(ctx.notes)) if ctx.notes else \
                CheckResult(name, "pass")
        smallest.clear()  # from the start, with the engine, as if there were no book
        state.update(first_fail=None, calls_after=0, applicable=False)
    ctx.notes.clear()
    try:
        # The typical case first (an explicit @example would stop Hypothesis from
        # searching for a smaller counterexample when it fails); then generation and
        # shrinking, which report the smallest failing case either found.
        try:
            body(S.typical(spec, plan.variant))
        except P.NotApplicable:
            raise
        except Exception:
            state["first_fail"] = None
            state["calls_after"] = 0
        state["applicable"] = True
        test()
    except P.NotApplicable as e:
        return CheckResult(name, "skip", str(e))
    except _ShrinkBudgetSpent:
        pass
    except Exception:  # the failure Hypothesis re-raises after shrinking
        pass
    except (SystemExit, KeyboardInterrupt) as e:
        what = f"called sys.exit({e.code!r})" if isinstance(e, SystemExit) else "was interrupted"
        return CheckResult(name, "error", f"the component {what} during the check{_where(e)}")
    if "exc" not in smallest:
        if recording and _RECORDING is not None:
            _RECORDING[key] = drawn
        if ctx.notes:
            return CheckResult(name, "note", "; ".join(ctx.notes))
        return CheckResult(name, "pass")
    exc, case = smallest["exc"], smallest["case"]
    if isinstance(exc, P.Mismatch):
        message, hint, details = exc.message, exc.hint, dict(exc.details)
        if "; or " in hint and smallest.get("hint"):
            hint = smallest["hint"]
    elif _raised_in_our_code(exc):
        return CheckResult(name, "error", "internal error of nnfs-oracle in this check (not a "
                           f"finding about the target): {type(exc).__name__}: {exc}")
    elif unset_name(exc) is not None:
        return CheckResult(name, "error", _format(
            f"{_exception_message(exc)}: the name is set by top-level code "
            f"({unset_name(exc)}) that defs-only loading did not run, or that raised",
            "run the whole module with --import (from the folder it expects), or define the "
            "name in the class", None, replay), {"replay": replay})
    elif _call_not_made(exc):
        # The oracle could not make the call: nothing is known of the values yet.
        return CheckResult(name, "error", _format(
            f"the check could not call the class: {exc}", _HOW_TO_MAP, None, replay),
            {"replay": replay, "hint": _HOW_TO_MAP})
    else:
        message, hint, details = _exception_message(exc), _exception_hint(exc), {}
    details["counterexample"] = case.summary()
    details["replay"] = replay
    if hint:
        details["hint"] = hint
    return CheckResult(name, "fail", _format(message, hint, case, replay), details)


def _replays_clean(body: Callable[[S.Case], None], spec: S.Spec, plan: P.Property,
                   cases: list[S.Case], ctx: P.Context) -> bool:
    """Run the typical case and the book's cases through ``body``; True when every one
    passes (the verdict is then the engine's), False at the first that does not.

    Each case runs as the engine runs it: Python's and NumPy's global generators seeded as
    Hypothesis seeds them for a test case, and restored after.  When a case does not pass,
    the generators are put back as they were before the replay, so that the engine's run
    that follows starts from where it would have without the book."""
    from hypothesis.internal.entropy import deterministic_PRNG

    ctx.notes.clear()
    saved = (random.getstate(), np.random.get_state())
    try:
        body(S.typical(spec, plan.variant))
        for case in cases:
            with deterministic_PRNG():
                body(copy.deepcopy(case))  # a class that writes into its inputs spoils none
    except (Exception, SystemExit, KeyboardInterrupt):
        ctx.notes.clear()
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        return False
    return True


def _raised_in_our_code(exc: BaseException) -> bool:
    """A NameError or ImportError raised in oracle/ or reference/ is a bug of ours: the
    target cannot cause it there."""
    if not isinstance(exc, (NameError, ImportError)):
        return False
    tb = traceback.extract_tb(exc.__traceback__)
    return bool(tb) and frames.is_ours(tb[-1].filename)


_HOW_TO_MAP = (
    "the class's interface differs from the book's in a way the checks cannot bridge; name "
    "the class with --map Book=Yours and a method with --map Book.method=yours (e.g. "
    "--map Layer_Dense.forward=predict), or give the method the book's parameters")

_BINDING_WORDS = ("positional argument", "keyword argument", "required argument",
                  "takes no arguments", "missing 1 required", "unexpected keyword")


def _call_not_made(exc: BaseException) -> bool:
    """A call the oracle could not make: no binding fits the signature (CallError), the
    book's interface is not there (AdapterError), or a TypeError raised by Python while
    binding our call's arguments (the innermost frame is ours, not the target's)."""
    if isinstance(exc, (CallError, AdapterError)):
        return True
    if not isinstance(exc, TypeError) or not any(w in str(exc) for w in _BINDING_WORDS):
        return False
    tb = traceback.extract_tb(exc.__traceback__)
    return bool(tb) and frames.is_ours(tb[-1].filename)


def _replay(settings: Settings, spec: S.Spec) -> str:
    if spec.plan is not None and spec.plan.factory is not None:  # oracle.certify(object)
        extra = f", max_examples={settings.max_examples}" if settings.max_examples else ""
        return f"oracle.certify(layer, inputs, seed={settings.seed}{extra})"
    return settings.replay(spec.name)


def _fd_precondition(ctx: P.Context, spec: S.Spec) -> CheckResult | None:
    """Finite differences certify only what is computed in float64."""
    if ctx.patched:
        return CheckResult(
            "finite_differences", "skip",
            "nnfs.init() is active: np.dot rounds to float32 even where arrays stay float64, "
            "too coarse for finite differences (the reference comparison covers the gradients)",
        )
    try:
        out = P.evaluate(ctx, ctx.cls, S.typical(spec), backward=False).output
    except Exception:
        return None  # let the check itself report the exception
    if out is not None and np.asarray(out).dtype != np.float64:
        return CheckResult(
            "finite_differences", "skip",
            f"forward() computes in {np.asarray(out).dtype}: finite differences need float64 "
            "(the reference comparison covers the gradients)",
        )
    return None


def _fixed(plan: P.Property, ctx: P.Context, settings: Settings, replay: str) -> CheckResult:
    """A check on fixed inputs (the dropout rate's binomial test): run once."""
    try:
        plan.test(ctx, settings.seed)
    except P.NotApplicable as e:
        return CheckResult(plan.name, "skip", str(e))
    except P.Mismatch as m:
        return CheckResult(plan.name, "fail", _format(m.message, m.hint, None, replay),
                           {"hint": m.hint, "replay": replay})
    except Exception as e:
        if _call_not_made(e):
            return CheckResult(plan.name, "error", _format(
                f"the check could not call the class: {e}", _HOW_TO_MAP, None, replay))
        if frames.innermost(e) is None:  # no frame of the target's: a bug of ours
            return CheckResult(plan.name, "error", "internal error of nnfs-oracle in this "
                               f"check (not a finding about the target): {type(e).__name__}: "
                               f"{e}")
        return CheckResult(plan.name, "fail", _format(_exception_message(e),
                           _exception_hint(e), None, replay))
    return CheckResult(plan.name, "note", "; ".join(ctx.notes)) if ctx.notes else \
        CheckResult(plan.name, "pass")


# --------------------------------------------------------------------------- a component


def check_component(
    book_name: str, cls: type, *, namespace: dict[str, Any], settings: Settings
) -> ComponentResult:
    if book_name not in S.SPECS:  # a class of the target's own: its record is made now
        return check_custom(book_name, cls, namespace=namespace, settings=settings)
    return check_spec(S.SPECS[book_name], cls, namespace=namespace, settings=settings)


def check_custom(name: str, cls: type, *, namespace: dict[str, Any], settings: Settings,
                 plan: C.CustomPlan | None = None) -> ComponentResult:
    """A custom component (:mod:`oracle.custom`): probed, given a spec record, checked by
    the same properties.  One that cannot be driven is ``skipped``, saying what to give."""
    t0 = time.perf_counter()
    broken = broken_definition(cls)
    if broken is not None:
        return ComponentResult(name, cls.__name__, "error",
                               [CheckResult("definition", "error", broken)])
    state = np.random.get_state()  # the caller's global generator is left as it was
    try:
        # No reference to compare float32 results with: a custom component is certified in
        # float64, with NumPy's own functions in place of those nnfs.init() patched.
        with numpy_restored():
            result, plan = _custom_result(name, cls, namespace, settings, plan)
    except (C.CustomError, ValueError) as e:
        return ComponentResult(name, cls.__name__, "skipped",
                               [CheckResult("interface", "skip", f"not checked: {e}")],
                               seconds=time.perf_counter() - t0)
    finally:
        np.random.set_state(state)
    result.adaptations.insert(0, plan.describe())
    if P.numpy_patched():
        result.adaptations.append("nnfs.init() is active: checked with NumPy's own float64 "
                                  "np.dot, zeros, eye and random.randn")
    if plan.uncontrolled:
        result.adaptations.append(plan.uncontrolled)
    return result


def _custom_result(name: str, cls: type, namespace: dict[str, Any], settings: Settings,
                   plan: C.CustomPlan | None) -> tuple[ComponentResult, C.CustomPlan]:
    """The plan (probed unless given) and the checks of its run-time spec record."""
    if plan is None:
        config = C.LayerConfig.from_dict(settings.layers.get(name, {}),
                                         what=f"the config of {name}: ")
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            plan = C.plan_for_class(name, cls, config)
    return check_spec(C.custom_spec(plan), cls, namespace=namespace, settings=settings), plan


def check_spec(
    spec: S.Spec, cls: type, *, namespace: dict[str, Any], settings: Settings
) -> ComponentResult:
    """Every check of one spec record on the class under test."""
    book_name = spec.name
    t0 = time.perf_counter()
    broken = broken_definition(cls)
    if broken is not None:
        return ComponentResult(book_name, getattr(cls, "__name__", str(cls)), "error",
                               [CheckResult("definition", "error", broken,
                                            {"component": book_name})])
    patched = P.numpy_patched()
    peers = _peers(namespace, settings)
    results: list[CheckResult] = []
    adaptations: list[str] = []
    names = check_names(spec)
    for name in names:
        try:
            # Overflow in a learner's exp() is judged by its result, not its warning.
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                r = run_check(spec, name, cls, namespace=namespace, settings=settings,
                              patched=patched, peers=peers)
        except Exception as e:  # a bug of ours must not hide the other checks
            r = CheckResult(name, "error", f"internal error in check {name}: {e!r}")
        results.append(r)
    if results and all(r.status == "skip" for r in results):
        # Found by name, but nothing could be run on it: not a pass (a stub passes nothing)
        results.append(CheckResult("interface", "error", _nothing_ran(cls, results)))
    for r in results:
        r.details.setdefault("component", book_name)
    # The adapter notes collected while driving the class, deduplicated in order.
    ctx_notes = _adaptations(spec, cls, namespace, patched, peers)
    adaptations.extend(n for n in ctx_notes if n not in adaptations)
    if patched:
        adaptations.append("nnfs.init() is active: float32 results accepted")
    status = ComponentResult.status_of(results)
    return ComponentResult(
        book_name, getattr(cls, "__name__", str(cls)), status, results, adaptations,
        time.perf_counter() - t0,
    )


def _nothing_ran(cls: type, results: list[CheckResult]) -> str:
    reasons = list(dict.fromkeys(r.message for r in results if r.message))
    methods = sorted(n for n in dir(cls) if not n.startswith("_")
                     and callable(getattr(cls, n, None)))
    have = ", ".join(methods) or "none besides __init__"
    return (f"no check could run on {getattr(cls, '__name__', cls)}: {'; '.join(reasons[:3])}. "
            f"Its methods: {have}; the checks drive the book's methods: forward and backward; "
            "update_params for an optimizer")


def _peers(namespace: dict[str, Any], settings: Settings) -> dict[str, type]:
    """The module's class for each book component it has (its optimizers' own Dense)."""
    try:
        found = discover(namespace, settings.mapping)
    except Exception:
        return {}
    return {k: f.cls for k, f in found.items() if f.cls is not None}


def _adaptations(spec: S.Spec, cls: type, namespace: dict[str, Any], patched: bool,
                 peers: dict[str, type]) -> list[str]:
    """Drive the typical case once more, only to learn which adaptations were needed."""
    ctx = P.Context(spec, cls, namespace, patched, peers=peers)
    try:
        DRIVERS[spec.family].exercise(ctx, cls, S.typical(spec))
    except Exception:
        pass
    return ctx.adaptations
