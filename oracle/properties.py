"""Properties, each written once over the spec table.

A property takes a :class:`Context` (the spec, the class under test, the
precision to expect) and one drawn :class:`~oracle.spec.Case`, and raises
:class:`Mismatch` when the class under test disagrees with what is expected.
What is expected is the float64 reference (:mod:`reference`) or finite
differences of the class's own forward pass; the same functions certify the
reference in our suite (class under test = the reference, expected = numerics)
and judge a target (class under test = theirs, expected = the reference).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracle import numerics as nm
from oracle.adapt import Adapter, construct
from oracle.binding import takes_training
from oracle.compare import _array, _magnitude, _non_finite_cause, _terms, assert_matches
from oracle.context import Context, Mismatch, NotApplicable, numpy_patched
from oracle.diagnose import optimizer_cause, own_gradient_cause
from oracle.drivers import (
    Outcome,
    _c,
    _dropout_forward,
    _forward_method,
    _probe,
    accumulator,
    build,
    evaluate,
    functional,
    ready_loss,
    remembers_layers,
    run_optimizer,
    upstream_for,
)
from oracle.spec import SPECS, Case, Spec, optimizer_cases, optimizer_kind

# --------------------------------------------------------------------------- the registry


Strategy = Callable[[], st.SearchStrategy[Case]]


@dataclass(frozen=True)
class Property:
    """One check: what it tests (``test``, a function of a context and a drawn case, or of
    a context and a seed for a check on fixed inputs), which specs it applies to, and where
    its cases come from (a strategy made from the spec; the typical case of ``variant`` is
    tried first).  ``examples``: its share of the profile's example count."""

    name: str
    test: Callable[..., None]
    applies: Callable[[Spec], bool]
    strategy: Callable[[Spec], Strategy] = lambda s: s.cases
    variant: str = "cases"
    examples: float = 1.0
    fixed: bool = False  # runs on fixed inputs, once (no Hypothesis)


#: Every check, in the order a component's checks run and are reported.
PROPERTIES: list[Property] = []


def check(name: str, applies: Callable[[Spec], bool], **options: Any) -> Callable[
        [Callable[..., None]], Callable[..., None]]:
    """Register the decorated function as the check ``name`` of every spec ``applies``
    accepts (options: see :class:`Property`)."""
    def register(fn: Callable[..., None]) -> Callable[..., None]:
        PROPERTIES.append(Property(name, fn, applies, **options))
        return fn

    return register


#: What each check judges, for a rubric that gives points per group of checks (one slip
#: costs one group).  Names ending in "." cover every check they begin.
CHECK_GROUPS: dict[str, tuple[str, ...]] = {
    "forward": ("forward", "predictions", "predict", "evaluate", "calculate",
                "calculate_accumulated", "compare", "regularization_loss", "labels.one_hot",
                "init", "dropout.mask", "dropout.rate", "dropout.eval"),
    "gradients": ("backward.", "finite_differences", "kink", "regularization",
                  "dropout.backward", "options", "network"),
    "updates": ("update", "momentum", "decay", "train."),
    "numerics": ("stability", "dtype", "update.tiny_gradients"),
    "conventions": ("no_mutation", "determinism", "batch_size", "parameters"),
}


def group_of(check_name: str) -> str | None:
    """The group of a check (see :data:`CHECK_GROUPS`), or None for a result that is not a
    check's (``run``: the component could not be checked at all)."""
    for group, names in CHECK_GROUPS.items():
        if check_name in names:
            return group
    for group, names in CHECK_GROUPS.items():
        if any(n.endswith(".") and check_name.startswith(n) for n in names):
            return group
    return None


def properties_for(spec: Spec) -> list[Property]:
    """The checks of one component (a name may have one property per family)."""
    return [p for p in PROPERTIES if p.applies(spec)]


def _families(*names: str) -> Callable[[Spec], bool]:
    return lambda s: s.family in names


_VALUES = ("dense", "activation", "input", "loss", "combined")  # forward values to compare


# --------------------------------------------------------------------------- driving a class


# --------------------------------------------------------------------------- comparing


# --------------------------------------------------------------------------- properties


@check("forward", _families(*_VALUES))
def forward_matches_reference(ctx: Context, case: Case) -> None:
    """forward() gives the reference's output (a loss: its per-sample losses, or their
    mean where forward() returns the mean; a chapter-9 combined class: the softmax output
    and the mean loss it returns)."""
    got = evaluate(ctx, ctx.cls, case, backward=False)
    exp = evaluate(ctx, ctx.spec.reference, case, backward=False)
    if ctx.spec.family == "combined":
        if got.output is None:
            raise NotApplicable("no forward(): the final (backward-only) combined class")
        try:
            assert_matches(ctx, got.output, exp.output, "output", case)
        except Mismatch:
            if not _inherited_from_softmax(ctx, case, got):
                raise
            return  # the loss of a wrong softmax output is wrong too: same culprit
        if got.loss is not None:
            _returned_loss_matches(ctx, case, got, float(exp.loss))
        return
    g = np.asarray(got.output) if got.output is not None else got.output
    try:
        if (ctx.spec.family == "loss" and g is not None and g.ndim == 0
                and np.ndim(exp.output) == 1):
            assert_matches(ctx, g, np.mean(exp.output), "forward (mean loss)", case)
            return
        assert_matches(ctx, got.output, exp.output, "output", case,
                       terms=_terms(ctx, case, "output"), magnitude=_magnitude(ctx, case, "output"))
    except Mismatch:
        if not _another_clip(ctx, case, got):
            raise


def _returned_loss_matches(ctx: Context, case: Case, got: Outcome, expected: float) -> None:
    """The loss a chapter-9 combined forward returns: the mean cross-entropy of its output."""
    returned = got.loss
    if isinstance(returned, tuple) and returned:  # what a calculate() returning a pair gives
        ctx.note("forward() returns a tuple; its first item is read as the loss")
        returned = returned[0]
    try:
        loss = np.asarray(returned, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mismatch(f"forward() returns {type(got.loss).__name__}, not the loss") from None
    if loss.ndim == 1 and loss.shape[0] == case.samples:
        ctx.note("forward() returns per-sample losses; their mean is compared")
        loss = np.asarray(loss.mean())
    try:
        assert_matches(ctx, loss, np.asarray(expected), "forward (returned loss)", case)
    except Mismatch as m:
        if _loss_inherited(ctx, case, got, loss):
            return
        on_logits = _mean_cce(np.asarray(case.inputs, dtype=np.float64), case.y)
        if np.isclose(float(loss), on_logits, rtol=1e-6, atol=0.0):
            m.hint = ("the loss is computed on the inputs (the logits) instead of on the "
                      "softmax output: pass self.output to the loss")
        raise


def _mean_cce(p: np.ndarray, y: np.ndarray) -> float:
    """The book's mean categorical cross-entropy of rows p (sparse labels y)."""
    q = np.clip(p, 1e-7, 1 - 1e-7)[np.arange(len(p)), np.asarray(y)]
    return float(np.mean(-np.log(q)))


def _loss_inherited(ctx: Context, case: Case, got: Outcome, loss: np.ndarray) -> bool:
    """As :func:`_inherited_from_softmax`, for the returned loss: when it is exactly what
    the module's own loss class (``self.loss``) gives for the (correct) output, an error
    there belongs to ``Loss_CategoricalCrossentropy`` or ``Loss``."""
    obj = got.adapter.obj if got.adapter is not None else None
    delegate = getattr(obj, "loss", None)
    cls = type(delegate) if delegate is not None and not callable(delegate) else \
        ctx.peers.get("Loss_CategoricalCrossentropy")
    if not isinstance(cls, type):
        return False
    try:
        theirs = construct(cls)
        ready_loss(theirs)
        value = np.asarray(theirs.calculate(np.array(got.output, copy=True), _c(case.y)),
                           dtype=np.float64)
    except Exception:
        return False
    return _delegated(ctx, loss, value, f"{cls.__name__}.calculate gives")


def _inherited_from_softmax(ctx: Context, case: Case, got: Outcome) -> bool:
    """A chapter-9 combined class delegates its forward to the module's own softmax
    (``self.activation``).  When its output is exactly what that softmax gives, and
    that softmax is the wrong one, the error belongs to ``Activation_Softmax``: a
    note here, a failure there (the culprit is flagged once, where it lives)."""
    obj = got.adapter.obj if got.adapter is not None else None
    delegate = getattr(obj, "activation", None)
    cls = type(delegate) if delegate is not None else ctx.peers.get("Activation_Softmax")
    if not isinstance(cls, type):
        return False
    try:
        sm = Adapter(construct(cls))
        sm.forward(np.array(case.inputs, copy=True), training=False)
        theirs = np.asarray(sm.read("output"), dtype=np.float64)
        mine = np.asarray(got.output, dtype=np.float64)
    except Exception:
        return False
    return _delegated(ctx, mine, theirs, f"{cls.__name__} computes")


def _delegated(ctx: Context, mine: np.ndarray, theirs: np.ndarray, source: str) -> bool:
    """``mine`` is exactly what the module's own class gives: note it (and say where the
    error lives) instead of failing the combined class."""
    if theirs.shape != mine.shape or not np.allclose(mine, theirs, rtol=1e-12, atol=0.0,
                                                      equal_nan=True):
        return False
    ctx.note(f"forward() returns what the module's own {source}, which is wrong (see that "
             "component); the combined class itself delegates faithfully")
    return True


def backward_matches_reference(attr: str) -> Callable[[Context, Case], None]:
    def prop(ctx: Context, case: Case) -> None:
        got = evaluate(ctx, ctx.cls, case)
        exp = evaluate(ctx, ctx.spec.reference, case)
        assert_matches(ctx, got.grads[attr], exp.grads[attr], attr, case,
                       terms=_terms(ctx, case, attr), magnitude=_magnitude(ctx, case, attr))

    prop.__name__ = f"backward_{attr}_matches_reference"
    prop.__doc__ = f"backward() sets {attr} to the reference's, for the same inputs and dvalues."
    return prop


def _sets(attr: str) -> Callable[[Spec], bool]:
    return lambda s: attr in s.grads and s.plan is None  # a custom component has no reference


for _attr in ("dinputs", "dweights", "dbiases"):
    check(f"backward.{_attr}", _sets(_attr))(backward_matches_reference(_attr))


@check("regularization", lambda s: s.regularized is not None,
       strategy=lambda s: s.regularized, variant="regularized")
def regularized_gradients_match_reference(ctx: Context, case: Case) -> None:
    """With L1 and L2 penalties on weights and biases, dweights and dbiases are the
    reference's (data gradient + lambda1*sign + 2*lambda2*w)."""
    got = evaluate(ctx, ctx.cls, case)
    exp = evaluate(ctx, ctx.spec.reference, case)
    for attr in ("dweights", "dbiases"):
        try:
            assert_matches(ctx, got.grads[attr], exp.grads[attr], attr + " (with regularization)",
                           case, terms=_terms(ctx, case, attr),
                           magnitude=_magnitude(ctx, case, attr))
        except Mismatch as m:
            lam = {k: v for k, v in case.ctor.items() if "regularizer" in k}
            if not m.hint:
                plain = Case(**{**case.__dict__, "ctor": {
                    k: v for k, v in case.ctor.items() if "regularizer" not in k}})
                try:
                    data_ok = np.allclose(
                        np.asarray(evaluate(ctx, ctx.cls, plain).grads[attr], dtype=np.float64),
                        evaluate(ctx, ctx.spec.reference, plain).grads[attr],
                        rtol=1e-5, atol=1e-8)
                except Exception:
                    data_ok = False
                m.hint = (
                    "the data gradient is right without regularization, so look at the "
                    "penalty terms: L1 adds lambda1*sign(w) (+1 at w >= 0, -1 below), L2 adds "
                    "2*lambda2*w, each with the parameter's own lambda"
                ) if data_ok else (f"{attr} is wrong without regularization too: see "
                                   f"backward.{attr}")
            m.details["lambdas"] = lam
            raise


# --- finite differences ------------------------------------------------------------


def regularization_penalty(case: Case, field_name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The book's penalty on one parameter, through the reference's regularization_loss."""
    from reference import Layer_Dense, Loss

    def pen(x: np.ndarray) -> np.ndarray:
        layer = Layer_Dense(1, 1, **{k: v for k, v in case.ctor.items() if "regularizer" in k})
        layer.weights = x if field_name == "weights" else np.array(case.weights)
        layer.biases = x if field_name == "biases" else np.array(case.biases)
        return np.asarray(Loss().regularization_loss(layer))

    return pen


def numeric_gradient(
    ctx: Context, cls: type, case: Case, attr: str, *, stencil: int = 3
) -> tuple[np.ndarray, np.ndarray, float]:
    """Central-difference gradient for ``attr``; also the kink-crossing mask and scale."""
    s = ctx.spec
    fld = s.wrt[attr]
    x = getattr(case, fld)
    fn = functional(ctx, cls, case, fld)
    up = upstream_for(ctx, case)
    at_x = np.asarray(fn(x), dtype=np.float64)
    separable = s.separable.get(fld)
    if s.family == "loss" and at_x.ndim == 0:
        # forward() returns the mean loss (a variant): one number for the whole batch, so
        # no per-row structure, and the mean is already the quantity to differentiate
        up, separable = np.asarray(1.0), None
    num = nm.numeric_vjp(fn, x, up, separable=separable, stencil=stencil)  # type: ignore[arg-type]
    scale = float(np.sum(np.abs(up * at_x)))
    if s.family == "dense" and any(v > 0 for k, v in case.ctor.items() if "regularizer" in k):
        if fld in ("weights", "biases"):
            pen = regularization_penalty(case, fld)
            num = num + nm.numeric_vjp(pen, x, np.asarray(1.0), stencil=stencil)  # type: ignore[arg-type]
            scale += float(pen(x))
    crossing = np.zeros(np.shape(x), dtype=bool)
    if s.kinks is not None:
        d = s.kinks(case).get(fld)
        if d is not None:
            crossing = nm.crosses_kink(d, x, stencil=stencil)  # type: ignore[arg-type]
    return num, crossing, scale


_CUSTOM = ("custom", "custom_loss")


@check("finite_differences", _families("dense", "activation", "loss", *_CUSTOM), examples=0.5)
def gradients_match_finite_differences(ctx: Context, case: Case) -> None:
    """Every gradient attribute equals the central-difference VJP of the forward pass.

    Before declaring a mismatch, a 5-point stencil gives a second opinion: only
    when both disagree with the analytic value is it reported.  A custom component's
    gradients are screened along random directions first (:func:`own_gradients`).
    """
    if ctx.spec.plan is not None:
        own_gradients(ctx, case)
        return
    got = evaluate(ctx, ctx.cls, case)
    for attr in ctx.spec.grads:
        g = _array(got.grads[attr], attr)
        num, crossing, scale = numeric_gradient(ctx, ctx.cls, case, attr)
        if crossing.any():
            ctx.note(f"{int(crossing.sum())} element(s) of {attr} skipped: the step crosses a kink")
        tol = nm.fd_tolerance(scale)
        if g.shape != num.shape:
            assert_matches(ctx, g, num, f"{attr} vs finite differences", case, tol=tol)
        bad3 = tol.violations(g, num) & ~crossing
        if not bad3.any():
            continue
        num5, crossing5, _ = numeric_gradient(ctx, ctx.cls, case, attr, stencil=5)
        tol5 = nm.fd_tolerance(scale, stencil=5)
        # An element is wrong when the 3-point estimate disagrees and the 5-point one
        # (where its wider stencil stays clear of kinks) disagrees too.
        second = np.where(crossing5, num, num5)
        bad = bad3 & tol5.violations(g, second)
        if not bad.any():
            continue  # the 3-point estimate was the one in error
        gg = np.where(bad, g, second)
        try:
            assert_matches(ctx, gg, second, f"{attr} vs finite differences of forward()", case,
                           tol=nm.Tolerance(max(tol.rtol, tol5.rtol), max(tol.atol, tol5.atol),
                                            tol5.why))
        except Mismatch as m:
            if not _forward_agrees(ctx, case, got):
                m.hint = ("forward() itself disagrees with the reference (see the forward "
                          "check), and these finite differences differentiate that forward(): "
                          "fix it first; backward may well be right")
            raise


#: Elements of a custom component's gradient given a second opinion (one-sided differences
#: for a kink, SciPy's adaptive derivative) when they disagree with finite differences:
#: the worst ones, so that a failure costs a bounded number of forward passes.
SECOND_OPINIONS = 12


def own_gradients(ctx: Context, case: Case) -> None:
    """A custom component: ``dinputs`` and every parameter's gradient equal the
    derivative of ``<G, forward(...)>`` (G a random upstream gradient; for a loss, the
    gradient of the mean of its per-sample losses) by central differences of the class's
    own forward.

    Screened first along two random directions (two forward passes each, the way
    ``torch.autograd.gradcheck``'s fast mode does); only a disagreement there costs the
    element-wise differences.  An element is wrong when the 3-point estimate disagrees and
    then, for the worst elements, neither one-sided differences (a kink within the step:
    that element is skipped, and said) nor SciPy's adaptive derivative agree with it.
    """
    plan = ctx.spec.plan
    if plan.uncontrolled:
        raise NotApplicable(plan.uncontrolled)
    if ctx.patched:
        raise NotApplicable("nnfs.init() is active: np.dot rounds to float32, too coarse for "
                            "finite differences")
    got = evaluate(ctx, ctx.cls, case)
    for attr, fld in ctx.spec.wrt.items():
        g = _array(got.grads.get(attr), attr)
        x = np.asarray(case.get(fld), dtype=np.float64)
        fn = functional(ctx, ctx.cls, case, fld)
        up = upstream_for(ctx, case)
        if ctx.spec.family == "custom_loss" and np.ndim(got.output) == 0:
            up = np.asarray(1.0)  # forward returns the mean already
        if g.shape != x.shape:
            assert_matches(ctx, g, x, f"{attr} vs finite differences", case)
        ok, _, _ = nm.directional_screen(fn, x, up, g, directions=2)
        if ok:
            continue
        cmp, num = nm.certify(fn, x, up, g)
        if cmp.ok:
            continue  # the screen's own rounding; the certificate is element-wise
        tol = cmp.tolerance
        assert tol is not None
        bad = tol.violations(g, num)
        expected = num.copy()
        order = np.argsort(-np.abs(g - num).ravel())
        checked = [np.unravel_index(i, x.shape) for i in order[: SECOND_OPINIONS]
                   if bad.ravel()[i]]
        kinks = 0
        for idx in checked:
            left, right = nm.one_sided_slopes(fn, x, up, idx)
            if nm.at_kink(left, right, tol.atol):
                expected[idx] = g[idx]  # no derivative there to compare: skipped
                kinks += 1
        rest = [idx for idx in checked if expected[idx] != g[idx]]
        if rest:
            second = _scipy_elements(fn, x, up, rest)
            for idx, value in zip(rest, second, strict=True):
                if np.isfinite(value):
                    expected[idx] = value
        if kinks:
            ctx.note(f"{kinks} element(s) of {attr} skipped: the step crosses a kink")
        unchecked = bad & ~np.isin(np.arange(x.size).reshape(x.shape),
                                   [np.ravel_multi_index(i, x.shape) for i in checked])
        if not unchecked.any() and not tol.violations(g, expected).any():
            continue
        try:
            assert_matches(ctx, g, expected, f"{attr} vs finite differences of forward()",
                           case, tol=tol)
        except Mismatch as m:
            cause = own_gradient_cause(g, expected, attr=attr, samples=case.samples or 1,
                                       loss=ctx.spec.family == "custom_loss",
                                       alternatives=_slips(ctx, case, attr, fld, x, up))
            if cause:
                m.hint = cause
            raise


def _scipy_elements(fn: Callable[[np.ndarray], Any], x: np.ndarray, up: np.ndarray,
                    elements: list[tuple[Any, ...]]) -> list[float]:
    """SciPy's adaptive derivative of ``<up, fn(x)>`` in a few elements (a second
    numerical method, with steps of its own); a step of at most a tenth of the element's
    size keeps it on the side of a nearby kink where central differences were taken."""
    sub = np.array([x[i] for i in elements], dtype=np.float64)

    def part(t: np.ndarray) -> np.ndarray:
        xp = x.copy()
        for i, v in zip(elements, t, strict=True):
            xp[i] = v
        return np.asarray(nm._total(fn(xp), np.asarray(up)))

    try:
        d = nm.scipy_vjp(part, sub, np.asarray(1.0),
                         initial_step=0.01 * np.maximum(1.0, np.abs(sub)))
    except Exception:  # SciPy too old or the function misbehaves there: keep the estimate
        return [float("nan")] * len(elements)
    return [float(v) for v in d]


def _slips(ctx: Context, case: Case, attr: str, fld: str, x: np.ndarray,
           up: np.ndarray) -> dict[str, np.ndarray]:
    """What the gradient would be under known slips (computed only on failure): dvalues
    never multiplied in; each kernel (a parameter of 3 or more dimensions) flipped."""
    out: dict[str, np.ndarray] = {}
    if x.size > 4096:
        return out
    if ctx.spec.family == "custom" and up.ndim > 0:
        try:
            out["ones"] = nm.numeric_vjp(functional(ctx, ctx.cls, case, fld), x, np.ones_like(up))
        except Exception:
            pass
    for name, value in case.extra.get("params", {}).items():
        if np.ndim(value) >= 3:
            flipped = case.replaced(f"params.{name}", np.ascontiguousarray(value[..., ::-1, ::-1]))
            try:
                fn = functional(ctx, ctx.cls, flipped, fld)
                at = flipped.get(fld) if fld != f"params.{name}" else x
                alt = nm.numeric_vjp(fn, at, up)
                if fld == f"params.{name}":
                    alt = alt[..., ::-1, ::-1]
                out[f"flipped:{name}"] = alt
            except Exception:
                pass
    return out


def _forward_agrees(ctx: Context, case: Case, got: Outcome) -> bool:
    """Loosely (rtol 1e-5): is the target's forward output the reference's?"""
    try:
        ref_out = np.asarray(evaluate(ctx, ctx.spec.reference, case, backward=False).output,
                             dtype=np.float64)
        mine = np.asarray(got.output, dtype=np.float64)
        if mine.ndim == 0 and ref_out.ndim == 1:
            ref_out = np.asarray(ref_out.mean())
        return mine.shape == ref_out.shape and bool(np.allclose(mine, ref_out, rtol=1e-5,
                                                                atol=1e-8))
    except Exception:
        return True  # cannot tell: keep the finite-difference finding's own hint


# --- labels, stability, kinks, hygiene ---------------------------------------------


@check("labels.one_hot", lambda s: s.family in ("loss", "combined") and s.labels == "classes")
def sparse_and_one_hot_agree(ctx: Context, case: Case) -> None:
    """Sparse labels, one-hot labels (float, as np.eye gives them) and one-hot labels of an
    integer dtype give the same loss and gradient."""
    sp = evaluate(ctx, ctx.cls, case)
    oh = evaluate(ctx, ctx.cls, case, one_hot=True)
    ref = evaluate(ctx, ctx.spec.reference, case)
    as_ints = Case(**{**case.__dict__, "y_one_hot": np.asarray(case.y_one_hot).astype(np.int64)})
    ih = evaluate(ctx, ctx.cls, as_ints, one_hot=True)
    rows: tuple[tuple[str, Any, Any, Any], ...] = (
        ("forward", sp.output, oh.output, ref.output),
        ("dinputs", sp.grads.get("dinputs"), oh.grads.get("dinputs"), ref.grads.get("dinputs")),
        ("forward with integer one-hot labels", sp.output, ih.output, ref.output),
        ("dinputs with integer one-hot labels", sp.grads.get("dinputs"), ih.grads.get("dinputs"),
         ref.grads.get("dinputs")),
    )
    for what, a, b, r in rows:
        if r is None or (what.startswith("forward") and a is None):
            continue
        if np.ndim(a) == 0 and np.ndim(r) == 1:
            r = np.mean(r)
        sparse_ok = True
        try:
            assert_matches(ctx, a, r, f"{what} with sparse labels", case)
        except Mismatch:
            # sparse labels already disagree with the reference: that is the forward and
            # backward checks' finding; here the two label formats must at least agree
            sparse_ok, r = False, np.asarray(a, dtype=np.float64)
        try:
            label = what if "integer" in what else f"{what} with one-hot labels"
            assert_matches(ctx, b, r, label + ("" if sparse_ok else " vs sparse labels"), case)
        except Mismatch as m:
            if "integer" in what:
                m.hint = ("one-hot labels are told apart from sparse ones by their dtype: "
                          "integer one-hot labels take the sparse branch; tell them apart by "
                          "shape (len(y_true.shape) == 2)")
            m.hint = m.hint or ((
                "the one-hot branch (2-D y_true) disagrees while sparse labels work: check the "
                "`len(y_true.shape) == 2` branch (sum(y_pred * y_true, axis=1), or argmax)"
            ) if sparse_ok else (
                "sparse and one-hot labels give different results, and the sparse ones "
                "already differ from the reference (see forward/backward): check the "
                "`len(y_true.shape) == 1` branch (y_pred[range(samples), y_true])"))
            raise


@check("stability", lambda s: s.stability is not None, strategy=lambda s: s.stability,
       variant="stability")
def stays_finite(ctx: Context, case: Case) -> None:
    """Extreme inputs (large logits, probabilities of exactly 0 and 1) give finite
    results that still match the reference (or the reference with another clip constant:
    a convention, noted, not a failure), with sparse labels and, where the component takes
    them, one-hot labels (a one-hot branch that forgets to clip is inf at p = 0)."""
    _stays_finite(ctx, case, one_hot=False)
    if case.y_one_hot is not None:
        _stays_finite(ctx, Case(**{**case.__dict__, "y": case.y_one_hot}), one_hot=True)


def _stays_finite(ctx: Context, case: Case, *, one_hot: bool) -> None:
    s = ctx.spec
    labels = ", one-hot labels" if one_hot else ""
    # (the book does not clip in CCE's backward: -y/p is inf at p = 0 there too)
    backward = s.backward_finite_at_extremes
    got = evaluate(ctx, ctx.cls, case, backward=backward)
    exp = evaluate(ctx, s.reference, case, backward=backward)
    if got.output is not None:
        o = np.asarray(got.output, dtype=np.float64)
        eo = np.asarray(exp.output) if np.ndim(got.output) == np.ndim(exp.output) else np.mean(
            exp.output
        )
        try:
            assert_matches(ctx, o, eo, f"output (extreme inputs{labels})", case,
                           magnitude=_magnitude(ctx, case, "output"))
        except Mismatch:
            if s.family == "combined" and _inherited_from_softmax(ctx, case, got):
                pass
            elif not _another_clip(ctx, case, got):
                raise
            else:  # another convention: its gradients differ too, but must stay finite
                for attr, g in got.grads.items():
                    ga = _array(g, attr)
                    if not np.all(np.isfinite(ga)):
                        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(ga))[0])
                        raise Mismatch(f"{attr} (extreme inputs{labels}) contains {ga[idx]} at "
                                       f"index {idx}", hint=_non_finite_cause(s)) from None
                return
    for attr, g in got.grads.items():
        assert_matches(ctx, g, exp.grads[attr], f"{attr} (extreme inputs{labels})", case,
                       magnitude=_magnitude(ctx, case, attr))


#: Clip constants seen in the wild (the book's is 1e-7): machine epsilons and powers of ten.
_CLIPS = (float(np.finfo(np.float64).eps), float(np.finfo(np.float32).eps)) + tuple(
    10.0 ** -k for k in range(4, 17) if k != 7
)


def _clipped_loss(labels: str | None, p: np.ndarray, y: np.ndarray, lo: float,
                  hi: float | None, additive: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Per-sample losses (and BCE's dinputs) of the book's formula with another clip."""
    with np.errstate(all="ignore"):
        q = p + lo if additive else np.clip(p, lo, hi)
        if labels == "classes":
            picked = q[np.arange(len(q)), y] if y.ndim == 1 else np.sum(q * y, axis=1)
            return -np.log(picked), None
        n, k = p.shape
        per = np.mean(-(y * np.log(q) + (1 - y) * np.log(1 - q)), axis=-1)
        return per, -(y / q - (1 - y) / (1 - q)) / k / n


def _another_clip(ctx: Context, case: Case, got: Outcome) -> bool:
    """Does the target compute the book's loss with another clip constant ``c``
    (``np.clip(p, c, 1 - c)``, ``np.clip(p, c, 1)`` or ``p + c``)?  A stable convention:
    noted, not failed (a learner may take sklearn's 1e-15 or NumPy's eps)."""
    if not ctx.spec.clipped:
        return False
    p = np.asarray(case.inputs, dtype=np.float64)
    y = np.asarray(case.y)
    o = np.asarray(got.output, dtype=np.float64)
    if not np.all(np.isfinite(o)):
        return False
    d = got.grads.get("dinputs")
    rtol = 1e-5 if ctx.patched else 1e-9  # float32 under nnfs.init()
    for c in (*_CLIPS, 1e-7):
        for hi, additive, how in ((1 - c, False, f"np.clip(p, {c:.3g}, 1 - {c:.3g})"),
                                  (None, False, f"np.clip(p, {c:.3g}, None)"),
                                  (None, True, f"p + {c:.3g}")):
            if c == 1e-7 and hi is not None:
                continue  # the book's own
            per, dinputs = _clipped_loss(ctx.spec.labels, p, y, c, hi, additive)
            want = per if o.ndim == per.ndim else np.mean(per)
            if o.shape != np.shape(want) or not np.allclose(o, want, rtol=rtol, atol=0.0):
                continue
            if d is not None and dinputs is not None and not additive and not (
                np.shape(d) == dinputs.shape
                and np.allclose(np.asarray(d, dtype=np.float64), dinputs, rtol=rtol, atol=0.0)
            ):
                continue
            ctx.note(f"predictions are kept away from 0 and 1 with {how} instead of the "
                     "book's np.clip(p, 1e-7, 1 - 1e-7): stable, another convention")
            return True
    return False


@check("kink", lambda s: s.subgradient_at_kink, examples=0.5)
def relu_kink_convention(ctx: Context, case: Case) -> None:
    """At exactly 0 the book passes no gradient; any t*dvalues with t in [0, 1] is a valid
    subgradient (a note), anything else is wrong."""
    assert case.inputs is not None and case.dvalues is not None
    x = case.inputs.copy()
    x.flat[:: max(1, x.size // 3)] = 0.0
    c = Case(**{**case.__dict__, "inputs": x})
    got = evaluate(ctx, ctx.cls, c)
    exp = evaluate(ctx, ctx.spec.reference, c)
    g = _array(got.grads["dinputs"], "dinputs")
    zero = x == 0
    assert_matches(ctx, np.where(zero, 0.0, g), np.where(zero, 0.0, exp.grads["dinputs"]),
                   "dinputs away from 0", c)
    dv = case.dvalues[zero]
    gz = g[zero]
    if np.allclose(gz, 0.0):
        return
    t = np.divide(gz, dv, out=np.zeros_like(gz), where=dv != 0)
    if np.all((t >= -1e-12) & (t <= 1 + 1e-12)) and np.allclose(gz, t * dv):
        ctx.note(
            "at inputs exactly 0 the gradient passes through (a mask with < 0): a valid "
            "subgradient; the book zeroes it (<= 0)"
        )
        return
    raise Mismatch(
        f"dinputs at inputs exactly 0 is {gz.tolist()}: not between 0 and dvalues {dv.tolist()}",
        hint="mask the gradient with the forward inputs: dinputs[inputs <= 0] = 0",
    )


@check("no_mutation", _families(*_VALUES, "dropout", *_CUSTOM), examples=0.5)
def does_not_mutate(ctx: Context, case: Case) -> None:
    """forward() and backward() leave the caller's arrays (inputs, dvalues, y_true) as
    they were."""
    s = ctx.spec
    arrays = {"inputs": _c(case.inputs), "dvalues": _c(case.dvalues), "y": _c(case.y)}
    if s.family == "combined":
        from reference import Activation_Softmax

        sm = Activation_Softmax()
        sm.forward(case.inputs)
        arrays["dvalues"] = np.array(sm.output, copy=True)
    pristine = {k: _c(v) for k, v in arrays.items()}
    evaluate(ctx, ctx.cls, case, arrays=arrays, backward=s.family != "input")
    for k, v in arrays.items():
        if v is None:
            continue
        if not np.array_equal(v, pristine[k]):
            name = {"y": "y_true", "dvalues": "dvalues"}.get(k, k)
            raise Mismatch(
                f"the caller's {name} array was modified in place",
                hint=f"copy before modifying ({name}.copy()); e.g. self.dinputs = dvalues.copy()"
                if k == "dvalues" else f"do not write into {name}; work on a copy",
            )


@check("dtype", _families(*_VALUES, *_CUSTOM), examples=0.25)
def dtype_is_preserved(ctx: Context, case: Case) -> None:
    """float64 inputs give float64 results (float32 accepted under nnfs.init()); a first
    layer given integer data computes in floating point."""
    got = evaluate(ctx, ctx.cls, case)
    items = [("output", got.output)] + list(got.grads.items())
    for what, v in items:
        if v is None:
            continue
        a = np.asarray(v)
        if a.dtype == np.float64:
            continue
        if a.dtype == np.float32 and ctx.patched:
            continue  # nnfs.init() makes np.dot (and more) return float32: expected
        raise Mismatch(
            f"{what} has dtype {a.dtype} for float64 inputs"
            + ("" if ctx.patched else " (and nnfs.init() was not called)"),
            hint="an explicit astype/float32 or a dtype= argument drops precision",
        )
    if ctx.spec.integer_inputs and case.inputs is not None:
        # integer data (pixel values, counts) goes straight into a first layer
        ints = np.rint(4 * np.asarray(case.inputs)).astype(np.int64)
        arrays = {"inputs": ints, "dvalues": _c(case.dvalues), "y": None}
        got_i = evaluate(ctx, ctx.cls, case, arrays=arrays, backward=False)
        ref_i = evaluate(ctx, ctx.spec.reference, case, arrays={**arrays, "inputs": ints.copy()},
                         backward=False)
        out = np.asarray(got_i.output)
        if out.dtype.kind in "iub":
            raise Mismatch(
                f"output has dtype {out.dtype} for integer inputs",
                hint="the output takes the inputs' dtype (np.empty_like(inputs), "
                "inputs.dtype): integer data truncates it; np.dot(inputs, weights) + biases "
                "is floating point",
            )
        assert_matches(ctx, out, ref_i.output, "output for integer inputs", case)


def _fortran(v: Any) -> Any:
    """A copy of a 2-D array in Fortran (column-major) order, as ``x.T`` of a C array is."""
    if isinstance(v, np.ndarray) and v.ndim == 2:
        return np.asfortranarray(v.copy())
    return _c(v)


@check("determinism", _families("dense", "activation", "loss", "combined", *_CUSTOM),
       examples=0.25)
def is_deterministic(ctx: Context, case: Case) -> None:
    """Two identical calls agree; a second call on the same object gives what a fresh
    object gives; the same values in Fortran order give the same results."""
    a = evaluate(ctx, ctx.cls, case)
    b = evaluate(ctx, ctx.cls, case)
    pairs = [("output", a.output, b.output)] + [
        (k, a.grads[k], b.grads.get(k)) for k in a.grads
    ]
    for what, x, y in pairs:
        if x is None:
            continue
        if not np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True):
            raise Mismatch(
                f"{what} differs between two identical calls",
                hint="state carried between calls (an accumulator, a += on an attribute)",
            )
    # The same object called again on other data (a training loop does nothing else):
    # what it gives must be what a fresh one gives.
    again = _rows_rolled(case)
    if again is None or a.adapter is None:
        return
    second = evaluate(ctx, ctx.cls, again, adapter=a.adapter)
    # against a fresh object of the same class: a formula error is the other checks' finding
    fresh = evaluate(ctx, ctx.cls, again)
    stale = ("state kept from the first call is used in the second (a cached Jacobian, "
             "inputs or a mask saved once, an attribute set only when it is missing)")
    rows = [("output", second.output, fresh.output)] + [
        (k, second.grads.get(k), fresh.grads.get(k)) for k in a.grads]
    for what, x, y in rows:
        if x is None or y is None:
            continue
        try:
            assert_matches(ctx, x, y, f"{what} of a second call on the same object", again,
                           terms=_terms(ctx, again, what), magnitude=_magnitude(ctx, again, what))
        except Mismatch as m:
            m.hint = stale
            raise
    # The same values in Fortran order (a transposed view, np.asfortranarray, a slice of
    # columns): only the memory layout differs, so the results must not.
    if ctx.spec.family == "combined":  # its backward takes the softmax output evaluate makes
        return
    arrays = {"inputs": _fortran(case.inputs), "dvalues": _fortran(case.dvalues), "y": _c(case.y)}
    if not any(isinstance(v, np.ndarray) and v.ndim == 2 and min(v.shape) >= 2
               for v in arrays.values()):
        return
    f = evaluate(ctx, ctx.cls, case, arrays=arrays)
    rows = [("output", f.output, a.output)] + [(k, f.grads.get(k), a.grads.get(k))
                                              for k in a.grads]
    for what, x, y in rows:
        if x is None or y is None:
            continue
        try:
            assert_matches(ctx, x, y, f"{what} for the same arrays in Fortran order", case,
                           terms=_terms(ctx, case, what), magnitude=_magnitude(ctx, case, what))
        except Mismatch as m:
            m.hint = ("the result depends on the memory order of the arrays: a buffer filled "
                      "through .flat, ravel() or reshape() of an array whose order differs "
                      "(np.empty_like keeps the order of its argument)")
            raise


@check("options", lambda s: s.plan is not None and bool(s.plan.variants), fixed=True)
def gradients_hold_with_other_options(ctx: Context, seed: int) -> None:
    """A custom layer built with another value of an option it takes (stride 2, padding 1)
    still has the gradients of its own forward: the branches its defaults never take."""
    from oracle.custom import custom_case, custom_spec

    for variant in ctx.spec.plan.variants:
        spec = custom_spec(variant)
        sub = Context(spec, ctx.cls, ctx.namespace, ctx.patched, peers=ctx.peers)
        case = custom_case(variant, 2, seed)
        try:
            own_gradients(sub, case)
        except Mismatch as m:
            m.message = (f"built as {variant.construction.said}: {m.message}\n"
                         f"input:\n  " + case.summary().replace("\n", "\n  "))
            raise
        for n in sub.notes:
            ctx.note(n)


@check("batch_size", _families(*_CUSTOM), examples=0)
def works_at_other_batch_sizes(ctx: Context, case: Case) -> None:
    """A custom component built once runs forward and backward at another batch size (one
    sample, and two more than probed), its results shaped for that batch."""
    from oracle.custom import custom_case

    plan = ctx.spec.plan
    n0 = plan.input_shape[0]
    base = custom_case(plan, n0, 7)
    first = evaluate(ctx, ctx.cls, base)
    for n in (n0 + 2, 1):
        other = custom_case(plan, n, 7 + n)
        other.extra["params"] = base.extra["params"]  # the same layer, other samples
        try:
            # the object that ran at n0 samples (a buffer kept from its first call shows)
            got = evaluate(ctx, ctx.cls, other, adapter=first.adapter)
        except Mismatch:
            raise
        except Exception as e:
            raise Mismatch(f"forward/backward at a batch of {n} (probed with {n0}) raised "
                           f"{type(e).__name__}: {e}",
                           hint="a size fixed when the class was written or first called "
                           "(a batch size in a reshape, an array kept from the first call): "
                           "take sizes from the inputs (inputs.shape[0])") from None
        if plan.kind != "loss":
            out = np.asarray(got.output)
            if out.shape[:1] != (n,):
                raise Mismatch(f"output has shape {out.shape} for a batch of {n}",
                               hint="reshape with the inputs' own batch size "
                               "(inputs.shape[0]), not a fixed one")
        fresh = evaluate(ctx, ctx.cls, other)
        for what, x, y in [("output", got.output, fresh.output)] + [
                (k, got.grads.get(k), fresh.grads.get(k)) for k in fresh.grads]:
            if x is not None and y is not None and np.shape(x) == np.shape(y):
                try:
                    assert_matches(ctx, x, y, f"{what} at a batch of {n} after a call at {n0}",
                                   other)
                except Mismatch as m:
                    m.hint = ("state kept from the first call is used in the next (a buffer "
                              "or shape saved once, an attribute set only when missing)")
                    raise
        for attr, fld in ctx.spec.wrt.items():
            want = np.shape(other.get(fld))  # type: ignore[arg-type]
            have = np.shape(got.grads.get(attr))  # type: ignore[arg-type]
            if have != want:
                raise Mismatch(f"{attr} has shape {have} for a "
                               f"batch of {n}; expected {want}",
                               hint="a size fixed when the class was written or first called")


def _rows_rolled(case: Case) -> Case | None:
    """The case with its samples in another order (the same values, so the same margins
    from kinks): other data for a second call.  None for a single sample."""
    n = case.samples
    if not n or n < 2:
        return None
    order = np.roll(np.arange(n), 1)
    fields = {k: (v[order] if isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == n
                  else v)
              for k, v in case.__dict__.items() if k in ("inputs", "dvalues", "y", "y_one_hot")}
    return Case(**{**case.__dict__, **fields})


@check("init", _families("dense"), examples=0.25)
def initialisation(ctx: Context, case: Case) -> None:
    """A new Dense has weights (n_inputs, n_neurons) and biases (1, n_neurons); another
    scale, a same-sign draw or nonzero biases are notes."""
    i, o = case.ctor["n_inputs"], case.ctor["n_neurons"]
    ad = Adapter(construct(ctx.cls, i, o), ctx.adaptations)
    w = np.asarray(ad.get_param("weights"))
    b = np.asarray(ad.get_param("biases"))
    if w.shape != (i, o):
        raise Mismatch(
            f"weights have shape {w.shape}, expected (n_inputs, n_neurons) = {(i, o)}",
            hint="the book stores weights as (n_inputs, n_neurons) so that output = inputs @ W",
        )
    if b.shape not in ((1, o), (o,)):
        raise Mismatch(f"biases have shape {b.shape}, expected (1, n_neurons) = {(1, o)}")
    if b.shape == (o,):
        ctx.note("biases have shape (n,), the book uses (1, n)")
    if w.size >= 16:
        sd = float(np.std(w))
        if not 0.002 <= sd <= 0.05:
            ctx.note(f"weights initialised with standard deviation {sd:.3g}; the book uses 0.01")
        if np.all(w > 0) or np.all(w < 0):
            ctx.note("every initial weight has the same sign (np.random.rand draws from [0, 1)); "
                     "the book draws 0.01 * np.random.randn, centred on 0")
    if np.any(b != 0):
        ctx.note("biases are not initialised to zero (the book starts from zeros)")


# --- dropout ------------------------------------------------------------------------


@check("dropout.mask", _families("dropout"))
def dropout_mask(ctx: Context, case: Case) -> None:
    """output = inputs * mask with every mask value 0 or 1/(1 - rate)."""
    assert case.inputs is not None
    rate = case.ctor["rate"]
    _, out = _dropout_forward(ctx, case)
    o = _array(out, "output")
    if o.shape != case.inputs.shape:
        raise Mismatch(f"output has shape {o.shape}, expected {case.inputs.shape}")
    mask = o / case.inputs
    keep = 1.0 - rate
    ok = np.isclose(mask, 0.0, atol=1e-6) | np.isclose(mask, 1.0 / keep, rtol=1e-6)
    if ok.all():
        _new_mask_each_call(ctx, case)
        return
    vals = sorted({round(float(v), 6) for v in mask.ravel()})[:6]
    hint = ""
    if all(np.isclose(v, 0) or np.isclose(v, 1) for v in vals):
        hint = "the mask is not scaled: divide it by the keep probability 1 - rate"
    elif all(np.isclose(v, 0) or np.isclose(v, 1 / rate) for v in vals):
        hint = "the mask is scaled by 1/rate: rate is the probability to DROP; keep = 1 - rate"
    raise Mismatch(
        f"output/inputs takes values {vals}; with rate={rate:.4g} it must be 0 or "
        f"1/(1-rate) = {1 / keep:.6g}",
        hint=hint,
    )


def _new_mask_each_call(ctx: Context, case: Case) -> None:
    """Two training forwards of one object draw two masks.  On 32x32 inputs two
    independent masks agree everywhere with probability (r^2 + (1-r)^2)^1024 <= 1e-44
    for rates in [0.05, 0.95]: equal masks mean a mask drawn once and reused."""
    rate = float(case.ctor["rate"])
    x = np.ones((32, 32))
    ad = build(ctx, ctx.cls, case)
    ad.forward(x.copy(), training=True)
    first = np.array(_array(ad.read("output"), "output"), dtype=np.float64, copy=True)
    ad.forward(x.copy(), training=True)
    second = np.asarray(_array(ad.read("output"), "output"), dtype=np.float64)
    if 0.05 <= rate <= 0.95 and first.shape == second.shape and np.array_equal(first, second):
        raise Mismatch(
            "two training forward passes of one object dropped exactly the same units "
            f"(32x32 inputs, rate={rate:.4g}): the mask is drawn once and reused",
            hint="draw a new mask in every forward(): self.binary_mask = "
            "np.random.binomial(1, 1 - self.rate, size=inputs.shape) / (1 - self.rate)",
        )


@check("dropout.backward", _families("dropout"))
def dropout_backward(ctx: Context, case: Case) -> None:
    """dinputs = dvalues * the mask of the forward pass (the same mask, not a new one)."""
    assert case.inputs is not None and case.dvalues is not None
    ad, out = _dropout_forward(ctx, case)
    mask = _array(out, "output") / case.inputs
    ad.backward(np.array(case.dvalues, copy=True))
    assert_matches(ctx, ad.read("dinputs"), case.dvalues * mask, "dinputs", case)


def dropout_keeps_the_right_fraction(ctx: Context, rate: float, seed: int) -> None:
    """The kept fraction is consistent with 1 - rate: an exact two-sided binomial test.

    The binomial CDF comes from ``scipy.special`` (``bdtr``/``bdtrc``), which
    ``scipy.stats.binomtest`` also rests on, without the second it takes to
    import ``scipy.stats`` in every worker.
    """
    from scipy.special import bdtr, bdtrc

    shape = (200, 50)  # 10,000 Bernoulli draws: the test tells 1-rate from rate easily
    x = np.full(shape, 1.0)
    np.random.seed(seed)  # targets draw from the global RNG, as the book does
    case = Case(inputs=x, ctor={"rate": rate})
    _, out = _dropout_forward(ctx, case)
    kept = int(np.count_nonzero(_array(out, "output")))
    n = x.size
    keep = 1.0 - rate
    # two-sided: twice the smaller tail (the "central" p-value), capped at 1
    p = min(1.0, 2.0 * min(float(bdtr(kept, n, keep)), float(bdtrc(kept - 1, n, keep))))
    # False-alarm rate 1e-6 per test on a correct layer (three rates per check).
    if p < 1e-6:
        hint = ""
        if abs(kept / n - rate) < abs(kept / n - (1 - rate)):
            hint = "rate is the probability to DROP: binomial(1, 1 - rate, size)"
        raise Mismatch(
            f"kept {kept} of {n} values with rate={rate}: expected about {n * (1 - rate):.0f} "
            f"(binomial test p = {p:.2g} < 1e-6)",
            hint=hint,
        )


@check("dropout.rate", _families("dropout"), fixed=True)
def dropout_keeps_the_rate(ctx: Context, seed: int) -> None:
    """At rates 0.1, 0.5 and 0.8 the kept fraction is consistent with 1 - rate."""
    for rate in (0.1, 0.5, 0.8):
        dropout_keeps_the_right_fraction(ctx, rate, seed)


@check("dropout.eval", _families("dropout"), examples=0.25)
def dropout_eval_is_identity(ctx: Context, case: Case) -> None:
    """After a training pass, forward(training=False) sets output to the inputs."""
    fwd = _forward_method(ctx.cls)
    if fwd is None or not takes_training(fwd):
        raise NotApplicable("forward() has no training argument (the chapter-15 form)")
    # a training pass first, as in a real loop: an evaluation pass that only returns its
    # inputs would leave that pass's (masked) self.output for the next layer to read
    ad = build(ctx, ctx.cls, case)
    ad.forward(np.array(case.inputs, copy=True), training=True)
    ad.forward(np.array(case.inputs, copy=True), training=False)
    try:
        assert_matches(ctx, ad.read("output"), case.inputs, "output with training=False", case)
    except Mismatch as m:
        m.hint = m.hint or ("with training=False set self.output = inputs.copy() (the next "
                            "layer reads self.output)")
        raise


# --- optimizers ---------------------------------------------------------------------


def _optimizer_cases(**options: Any) -> Callable[[Spec], Strategy]:
    return lambda s: (lambda: optimizer_cases(kind=optimizer_kind(s.name), **options))


def optimizer_matches_reference(ctx: Context, case: Case) -> None:
    """k steps of the target's optimizer give the reference's parameters after every step.

    Compared on the *updates* (new - old), with a tolerance scaled by the
    parameters: the difference of two parameters loses eps*|w| to cancellation.
    """
    _, (opt, got, got2) = run_optimizer(ctx, ctx.cls, case, ctx.adaptations, companion=True)
    _, (ropt, exp, exp2) = run_optimizer(ctx, ctx.spec.reference, case, [], companion=True)
    eps = ctx.eps_floor
    it = getattr(opt, "iterations", None)
    if isinstance(it, (int, np.integer)) and it == 2 * len(got) and len(got) > 0:
        raise Mismatch(
            f"iterations is {it} after {len(got)} steps of two layers",
            hint="iterations is counted in update_params(), once per layer: count it in "
            "post_update_params(), once per step",
        )
    for which, g_hist, e_hist, start in (
        ("", got, exp, (case.weights, case.biases)),
        (" of a second layer in the same step", got2, exp2,
         (-0.5 * case.weights, -0.5 * case.biases)),
    ):
        prev = start
        for step, ((gw, gb), (ew, eb)) in enumerate(zip(g_hist, e_hist, strict=True), start=1):
            for name, g, e, p in (("weights", gw, ew, prev[0]), ("biases", gb, eb, prev[1])):
                scale = float(np.max(np.abs(p))) + float(np.max(np.abs(e)))
                # 64*eps*|w|: the update is read as a difference of two parameters.
                tol = nm.Tolerance(64 * eps, 64 * eps * scale,
                                   f"update read as new - old: atol = 64*eps*max|w| ({eps:.1e})")
                try:
                    assert_matches(ctx, np.asarray(g) - p, e - p,
                                   f"{name} update{which} at step {step}", case, tol=tol)
                except Mismatch as m:
                    m.details["step"] = step
                    if which:  # the first layer was right: the layers share state
                        m.hint = ("the first layer's updates are right: optimizer state is "
                                  "shared between layers (kept on the optimizer by class "
                                  "name or shape instead of on each layer, or iterations "
                                  "advanced in update_params)")
                        raise
                    m.hint = optimizer_cause(
                        optimizer_kind(ctx.spec.name), case.ctor, [case.weights, case.biases],
                        [list(gs) for gs in zip(case.extra["dweights"], case.extra["dbiases"],
                                                strict=True)],
                        [list(ps) for ps in got],
                    ) or _other_defaults(opt, ropt, case) or m.hint or _optimizer_hint(
                        optimizer_kind(ctx.spec.name), case, step)
                    raise
            prev = (ew, eb)
    if isinstance(it, (int, np.integer)) and it != len(got):
        raise Mismatch(
            f"iterations is {it} after {len(got)} steps",
            hint="post_update_params() must do self.iterations += 1",
        )


check("update", _families("optimizer"), strategy=_optimizer_cases())(
    optimizer_matches_reference)
check("update.tiny_gradients", _families("optimizer"), strategy=_optimizer_cases(tiny=True),
      variant="tiny")(optimizer_matches_reference)
check("decay", _families("optimizer"), strategy=_optimizer_cases(decay=True),
      variant="decay")(optimizer_matches_reference)
check("momentum", lambda s: s.momentum, strategy=_optimizer_cases(momentum=True),
      variant="momentum")(optimizer_matches_reference)


def _other_defaults(opt: Any, ref_opt: Any, case: Case) -> str:
    """Hyperparameters left at their defaults (not passed by the case) whose default is not
    the book's: Adam's epsilon of 1e-8 from the paper, say."""
    differ = []
    for name in ("learning_rate", "decay", "epsilon", "rho", "beta_1", "beta_2", "momentum"):
        if name in case.ctor or not hasattr(ref_opt, name):
            continue
        mine, book = getattr(opt, name, None), getattr(ref_opt, name)
        if isinstance(mine, (int, float)) and not np.isclose(float(mine), float(book),
                                                             rtol=1e-12, atol=0.0):
            differ.append(f"{name} = {mine:g} (the book's default is {book:g})")
    if not differ:
        return ""
    return ("a default differs from the book's: " + ", ".join(differ)
            + "; the checks build the optimizer as the book's users do, with the defaults")


def _optimizer_hint(kind: str, case: Case, step: int) -> str:
    """No known slip reproduces the numbers: restate the book's formulas to compare with."""
    h = []
    if case.ctor.get("decay", 0) > 0 and step > 1:
        h.append("learning-rate decay: lr / (1 + decay * iterations), iterations counted from 0")
    if kind == "adagrad":
        h.append("cache += g**2; param -= lr * g / (np.sqrt(cache) + epsilon)")
    if kind == "rmsprop":
        h.append("cache = rho * cache + (1 - rho) * g**2; "
                 "param -= lr * g / (np.sqrt(cache) + epsilon)")
    if kind == "adam":
        h.append("m = beta_1 * m + (1 - beta_1) * g; c = beta_2 * c + (1 - beta_2) * g**2; "
                 "both divided by 1 - beta**(iterations + 1); "
                 "param -= lr * m_hat / (np.sqrt(c_hat) + epsilon)")
    if kind == "sgd" and case.ctor.get("momentum", 0) > 0:
        h.append("momentum: update = momentum * previous_update - lr * g, stored back on the layer")
    return ("no common slip reproduces these numbers; compare with the book's update: "
            + "; ".join(h)) if h else ""


# --- the Loss base class ------------------------------------------------------------


@check("calculate", _families("loss_base"))
def calculate_is_the_mean(ctx: Context, case: Case) -> None:
    """Loss.calculate() is the mean of the per-sample losses forward() returns."""
    per = np.array(case.inputs, copy=True)

    loss = construct(_probe(ctx.cls, per.copy))
    ready_loss(loss)
    out = loss.calculate(np.zeros((per.shape[0], 1)), np.zeros(per.shape[0]))
    if isinstance(out, tuple):
        ctx.note("calculate() returns a tuple; its first item is read as the data loss")
        out = out[0]
    assert_matches(ctx, np.asarray(out, dtype=np.float64), np.asarray(np.mean(per)),
                   "calculate() (mean of the per-sample losses)", case)


@check("calculate", _families("loss"), examples=0.25)
def loss_calculate_is_the_mean(ctx: Context, case: Case) -> None:
    """A loss's ``calculate(output, y)`` (the base class's, reached through this loss) is
    the mean of the per-sample losses of the reference.  Skipped where that calculate()
    is the module's own ``Loss`` component's, which its own checks judge."""
    owner = next((k for k in ctx.cls.__mro__ if "calculate" in vars(k)), None)
    if owner is None:
        raise NotApplicable("no calculate()")
    if owner is ctx.peers.get("Loss"):
        raise NotApplicable(f"calculate() is {owner.__name__}'s, checked as Loss")
    loss = construct(ctx.cls)
    ready_loss(loss)  # the book's calculate() accumulates from new_pass()
    out = loss.calculate(_c(case.inputs), _c(case.y))
    if isinstance(out, tuple):
        ctx.note("calculate() returns a tuple; its first item is read as the data loss")
        out = out[0]
    expected = np.mean(evaluate(ctx, ctx.spec.reference, case, backward=False).output)
    try:
        assert_matches(ctx, np.asarray(out, dtype=np.float64), np.asarray(expected),
                       f"calculate() (of {owner.__name__})", case)
    except Mismatch as m:
        if owner is not ctx.cls:
            m.hint = m.hint or (f"forward() is right (see the forward check), so look at "
                                f"{owner.__name__}.calculate(): the mean of the per-sample "
                                "losses forward() returns")
        raise


@check("calculate_accumulated", _families("loss_base"), examples=0.5)
def accumulated_is_the_mean_over_samples(ctx: Context, case: Case) -> None:
    """After new_pass() and two batches of different sizes, calculate_accumulated() is the
    mean over all samples (not the mean of the batch means)."""
    batches = [np.array(case.inputs, copy=True), np.array(case.extra["second_batch"], copy=True)]
    queue = list(batches)

    loss = construct(_probe(ctx.cls, lambda: queue.pop(0).copy()))
    ready_loss(loss)
    new_pass = accumulator(loss, "new_pass")
    acc = accumulator(loss, "calculate_accumulated")
    if not callable(new_pass) or not callable(acc):
        raise NotApplicable("no new_pass()/calculate_accumulated() (chapters before 19)")
    new_pass()
    for b in batches:
        loss.calculate(np.zeros((len(b), 1)), np.zeros(len(b)))
    out = acc()
    if isinstance(out, tuple):
        out = out[0]
    expected = np.mean(np.concatenate(batches))
    try:
        assert_matches(ctx, np.asarray(out, dtype=np.float64), np.asarray(expected),
                       "calculate_accumulated()", case)
    except Mismatch as m:
        m.hint = m.hint or (
            "calculate_accumulated() divides the sum of every per-sample loss since new_pass() "
            "by the number of SAMPLES seen (accumulated_count += len(sample_losses)), not batches"
        )
        raise
    # a second epoch: new_pass() forgets the first one entirely (sum and count)
    second = np.array(case.extra["second_batch"], copy=True)
    queue.append(second)
    new_pass()
    loss.calculate(np.zeros((len(second), 1)), np.zeros(len(second)))
    out = acc()
    if isinstance(out, tuple):
        out = out[0]
    try:
        assert_matches(ctx, np.asarray(out, dtype=np.float64), np.asarray(np.mean(second)),
                       "calculate_accumulated() after a second new_pass()", case)
    except Mismatch as m:
        m.hint = ("new_pass() must reset both accumulators: accumulated_sum = 0 and "
                  "accumulated_count = 0")
        raise


@check("regularization_loss", _families("loss_base"))
def regularization_loss_matches_reference(ctx: Context, case: Case) -> None:
    """regularization_loss() over the remembered layers (or per layer, chapters 14-17) is
    the reference's; calculate(..., include_regularization=True) returns the pair."""
    from reference import Layer_Dense, Loss

    def reference_layers() -> list[Any]:
        out = []
        for c in case.extra["layers"]:
            lay = Layer_Dense(1, 1, **{k: v for k, v in c.ctor.items() if "regularizer" in k})
            lay.weights, lay.biases = np.array(c.weights), np.array(c.biases)
            out.append(lay)
        return out

    def module_layers(dense: type) -> list[Any]:
        out = []
        for c in case.extra["layers"]:
            w, b = np.array(c.weights), np.array(c.biases)
            lay = construct(dense, w.shape[0], w.shape[1],
                            **{k: v for k, v in c.ctor.items() if "regularizer" in k})
            ad = Adapter(lay, [])
            ad.set_param("weights", w)
            ad.set_param("biases", b)
            out.append(lay)
        return out

    theirs = construct(_probe(ctx.cls, lambda: np.zeros(1)))
    fn = getattr(theirs, "regularization_loss", None)
    if not callable(fn):
        raise NotApplicable("no regularization_loss()")
    from oracle.adapt import _accepts

    def total(layers: list[Any]) -> Any:
        remember = remembers_layers(theirs)
        if remember is not None:
            remember(layers)
            if not _accepts(fn, "layer", 1) or _has_default(fn):
                return fn()
        return sum(fn(lay) for lay in layers)

    expected = sum(Loss().regularization_loss(lay) for lay in reference_layers())
    try:
        got = total(reference_layers())
    except AttributeError as e:
        # The module's Loss reads the regularizers under its own Layer_Dense's names
        # (weight_regularizer_L1): give it layers of that class.  When those fail too,
        # the module disagrees with itself, and that error is the one reported.
        dense = ctx.peers.get("Layer_Dense")
        if not isinstance(dense, type):
            raise
        try:
            layers = module_layers(dense)
        except Exception:
            raise e from None
        got = total(layers)
        ctx.note(f"regularization_loss() reads what the book's Layer_Dense does not have "
                 f"({e}): it was given layers of the module's own {dense.__name__}")
    try:
        assert_matches(ctx, np.asarray(got, dtype=np.float64), np.asarray(expected),
                       "regularization_loss()", case)
    except Mismatch as m:
        per = [Loss().regularization_loss(lay) for lay in reference_layers()]
        single = [j for j, v in enumerate(per) if np.isclose(float(got), v, rtol=1e-9, atol=0)]
        if single and (sum(1 for v in per if v) > 1 or not per[single[0]]):
            which = "the first" if single[0] == 0 else (
                "the last" if single[0] == len(per) - 1 else f"layer {single[0]}'s")
            m.hint = (f"only {which} layer's penalty is counted: a return inside the loop over "
                      "the layers, or = where += accumulates")
        m.hint = m.hint or (
            "lambda1*sum(|w|) + lambda2*sum(w**2) for weights and for biases, each with its own "
            "lambdas, over every trainable layer"
        )
        raise
    _calculate_with_regularization(ctx, case, theirs, float(expected))


def _calculate_with_regularization(ctx: Context, case: Case, loss: Any, expected: float) -> None:
    """``calculate(..., include_regularization=True)`` returns (data loss, regularization
    loss) as numbers (chapters 18+, after remember_trainable_layers)."""
    from oracle.adapt import _accepts

    calc = getattr(loss, "calculate", None)
    if not callable(calc) or not callable(accumulator(loss, "remember_trainable_layers")) \
            or not _accepts(calc, "include_regularization", 3):
        return
    n = 3
    start = accumulator(loss, "new_pass")
    if start is not None:
        start()  # the book's calculate accumulates, and its accumulators start there
    out = calc(np.zeros((n, 1)), np.zeros(n), include_regularization=True)
    _regularization_pair(ctx, case, "calculate", out, expected)
    acc = accumulator(loss, "calculate_accumulated")
    if callable(acc) and _accepts(acc, "include_regularization", 1):
        _regularization_pair(ctx, case, "calculate_accumulated",
                             acc(include_regularization=True), expected)


def _regularization_pair(ctx: Context, case: Case, method: str, out: Any,
                         expected: float) -> None:
    what = f"{method}(..., include_regularization=True)"
    if not isinstance(out, tuple) or len(out) != 2:
        raise Mismatch(
            f"{what} returns {type(out).__name__}, expected a (data_loss, regularization_loss) "
            "pair (the training loop unpacks two values)",
            hint="return data_loss, self.regularization_loss()")
    reg = out[1]
    if callable(reg) or not isinstance(reg, (int, float, np.number, np.ndarray)):
        raise Mismatch(
            f"{what} returns a regularization loss of type {type(reg).__name__}, not a number",
            hint="call the method: self.regularization_loss(), not self.regularization_loss")
    assert_matches(ctx, np.asarray(reg, dtype=np.float64), np.asarray(expected),
                   f"regularization loss returned by {what}", case)


def _has_default(fn: Any) -> bool:
    import inspect

    try:
        params = [p for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        return True
    return all(p.default is not p.empty for p in params)



# --- chapters 16-22: predictions, parameters, accuracy ---------------------------------


_PREDICTIONS = ("predictions", "prediction", "predict", "get_predictions")


def _exact(what: str, got: Any, expected: np.ndarray, hint: str = "") -> None:
    """Class indices and 0/1 flags are compared exactly: they are computed by comparisons,
    never rounded."""
    g = np.asarray(got)
    if g.shape != expected.shape:
        raise Mismatch(f"{what} has shape {g.shape}, expected {expected.shape}",
                       hint=hint, details={"got_shape": list(g.shape),
                                           "expected_shape": list(expected.shape)})
    wrong = np.argwhere(g != expected)
    if len(wrong):
        idx = tuple(int(i) for i in wrong[0])
        raise Mismatch(f"{what}: {len(wrong)} of {expected.size} values differ; first at index "
                       f"{idx}: expected {expected[idx]!r}, got {g[idx]!r}", hint=hint,
                       details={"worst_index": list(idx)})


@check("predictions", _families("activation"), examples=0.25)
def predictions_match_reference(ctx: Context, case: Case) -> None:
    """predictions(outputs) of the output activation (chapter 16+): Softmax the row-wise
    argmax, Sigmoid ``(outputs > 0.5) * 1``, Linear and ReLU the outputs themselves."""
    ref = ctx.spec.reference()
    ref.forward(np.array(case.inputs, copy=True), training=False)
    outputs = np.asarray(ref.output, dtype=np.float64)
    # a probability of exactly 0.5 is a tie the book breaks one way and (outputs >= 0.5)
    # the other: both are sound, so keep the drawn outputs off it
    outputs = np.where(np.abs(outputs - 0.5) < 1e-9, 0.25, outputs)
    ad = build(ctx, ctx.cls, case)
    try:
        fn = ad.method(*_PREDICTIONS)
    except NotApplicable:
        others = [c.__name__ for b, c in ctx.peers.items() if b != ctx.spec.name
                  and SPECS[b].output_layer and isinstance(c, type)
                  and any(callable(getattr(c, n, None)) for n in _PREDICTIONS)]
        if not others or not ctx.spec.output_layer:
            raise
        raise Mismatch(f"{ctx.cls.__name__} has no predictions() method, though "
                       f"{', '.join(others)} of the same module do: a Model with this output "
                       "layer fails when it asks it for predictions",
                       hint="define predictions(self, outputs) inside the class (an "
                       "indentation slip makes it a module-level function)") from None
    got = fn(outputs.copy())
    expected = np.asarray(ref.predictions(outputs.copy()))
    if expected.dtype.kind in "iub":
        hint = ctx.spec.hints.get("predictions", "")
        g = np.asarray(got)
        if g.shape != expected.shape and g.size == expected.size and expected.ndim == 1 \
                and np.array_equal(g.ravel(), expected):
            ctx.note(f"predictions(outputs) returns the right classes as shape {g.shape}; the "
                     f"book's is {expected.shape} (its Accuracy_Categorical compares them with "
                     "labels of shape (samples,), which a column would broadcast against)")
            return
        _exact("predictions(outputs)", got, expected, hint)
        return
    try:
        assert_matches(ctx, got, expected, "predictions(outputs)", case)
    except Mismatch as m:
        m.hint = m.hint or ("a linear or ReLU output is its own prediction: return outputs "
                            "(a regression model compares the values themselves)")
        raise


_GET_PARAMETERS = ("get_parameters", "get_params", "parameters")
_SET_PARAMETERS = ("set_parameters", "set_params", "load_params")


@check("parameters", _families("dense"), examples=0.25)
def parameters_round_trip(ctx: Context, case: Case) -> None:
    """get_parameters() returns (weights, biases) in that order; after set_parameters(w, b)
    the layer holds them and forward() uses them; set_parameters(*get_parameters()) into
    another layer gives the same forward (chapter 21)."""
    from reference import Layer_Dense

    ad = build(ctx, ctx.cls, case)
    get, put = ad.method(*_GET_PARAMETERS), ad.method(*_SET_PARAMETERS)
    w, b = np.asarray(case.weights), np.asarray(case.biases)
    got = get()
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Mismatch(f"get_parameters() returns {type(got).__name__}"
                       f"{'' if not isinstance(got, (tuple, list)) else f' of {len(got)}'}, "
                       "expected the pair (weights, biases)",
                       hint="return self.weights, self.biases")
    swapped = "get_parameters() returns (biases, weights): the book's order is (weights, biases)"
    for value, expected, what in ((got[0], w, "weights"), (got[1], b, "biases")):
        try:
            assert_matches(ctx, value, expected, f"get_parameters() {what}", case)
        except Mismatch as m:
            if np.shape(got[0]) == b.shape and np.shape(got[1]) == w.shape:
                m.hint = swapped
            raise
    w2, b2 = -1.5 * w + 0.25, 0.5 - 2.0 * b  # other numbers than those held
    put(np.array(w2, copy=True), np.array(b2, copy=True))
    for book, expected in (("weights", w2), ("biases", b2)):
        assert_matches(ctx, ad.get_param(book), expected,
                       f"{book} after set_parameters(weights, biases)", case)
    ad.forward(np.array(case.inputs, copy=True), training=False)
    ref = Layer_Dense(w.shape[0], w.shape[1])
    ref.set_parameters(w2, b2)
    ref.forward(np.array(case.inputs, copy=True))
    try:
        assert_matches(ctx, ad.read("output"), ref.output,
                       "forward output after set_parameters(weights, biases)", case)
    except Mismatch as m:
        m.hint = m.hint or ("set_parameters() must replace the arrays forward() reads: "
                            "self.weights = weights; self.biases = biases")
        raise
    other = build(ctx, ctx.cls, Case(**{**case.__dict__, "weights": w * 0.0 + 0.5,
                                        "biases": b * 0.0 - 0.5}))
    other_put = other.method(*_SET_PARAMETERS)
    other_put(*get())
    other.forward(np.array(case.inputs, copy=True), training=False)
    assert_matches(ctx, other.read("output"), ref.output,
                   "forward output of another layer after set_parameters(*get_parameters())",
                   case)


# --- accuracy -------------------------------------------------------------------------------


def _accuracy(ctx: Context, cls: type, **ctor: Any) -> Any:
    return construct(cls, book=ctx.spec.reference, **ctor)


def _regression_pattern(ctx: Context, case: Case, acc: Any, precision: float) -> None:
    """compare() of predictions placed inside (0.5) and outside (2) the precision
    ``precision`` around the targets is exactly the pattern of where they were placed."""
    y = np.asarray(case.y, dtype=np.float64)
    predictions = y + case.extra["factors"] * precision
    expected = np.abs(case.extra["factors"]) < 1
    _compare(ctx, case, acc, predictions, y, expected, "compare(predictions, y)")


def _compare(ctx: Context, case: Case, acc: Any, predictions: np.ndarray, y: np.ndarray,
             expected: np.ndarray, what: str, hint: str = "") -> None:
    compare = getattr(acc, "compare", None)
    if callable(compare):
        got = np.asarray(compare(predictions.copy(), y.copy()))
        if got.shape != expected.shape and got.size == expected.size:
            got = got.reshape(expected.shape)
        _exact(what, got.astype(bool) if got.dtype.kind in "iubf" else got, expected, hint)
        return
    calculate = getattr(acc, "calculate", None)
    if not callable(calculate):
        raise NotApplicable("no compare() and no calculate()")
    _new_pass(acc)
    got = calculate(predictions.copy(), y.copy())
    assert_matches(ctx, np.asarray(got, dtype=np.float64), np.asarray(np.mean(expected)),
                   what.replace("compare", "calculate"), case)


@check("compare", _families("accuracy"))
def compare_matches_reference(ctx: Context, case: Case) -> None:
    """compare(predictions, y) is True exactly where a prediction is right: for class
    indices, on sparse labels and on their one-hot twins (argmax over axis 1) and, with
    ``binary=True``, on 0/1 labels compared as they are; for regression, within the
    precision ``std(y_train) / 250`` that ``init(y_train)`` sets."""
    if ctx.spec.precision:
        acc = _accuracy(ctx, ctx.cls)
        init = accumulator(acc, "init")
        if init is None:
            raise NotApplicable("no init(y): the precision is not set from the training "
                                "targets as the book's is")
        init(np.array(case.extra["train"], copy=True))
        _regression_pattern(ctx, case, acc, float(np.std(case.extra["train"]) / 250))
        return
    acc = _accuracy(ctx, ctx.cls)
    _init(acc, case.y)
    predictions = np.asarray(case.inputs)
    expected = predictions == np.asarray(case.y)
    _compare(ctx, case, acc, predictions, np.asarray(case.y), expected,
             "compare(predictions, y) on sparse labels")
    _compare(ctx, case, acc, predictions, np.asarray(case.y_one_hot), expected,
             "compare(predictions, y) on one-hot labels",
             "one-hot labels are turned into class indices first: y = np.argmax(y, axis=1) "
             "when len(y.shape) == 2 (and the accuracy is not binary)")
    try:
        binary = _accuracy(ctx, ctx.cls, binary=True)
    except NotApplicable:
        ctx.note("the constructor takes no binary flag: binary labels not checked")
        return
    bp, by = case.extra["binary"]
    _init(binary, by)
    _compare(ctx, case, binary, np.asarray(bp), np.asarray(by), np.asarray(bp) == np.asarray(by),
             "compare(predictions, y) with binary=True",
             "with binary=True the 0/1 labels are compared as they are, element by element "
             "(no argmax: a logistic output has one column per independent yes/no)")


def _init(acc: Any, y: Any, **kw: Any) -> None:
    init = accumulator(acc, "init")
    if callable(init):
        init(np.array(y, copy=True), **kw)


@check("init", lambda s: s.precision)
def precision_is_set_once(ctx: Context, case: Case) -> None:
    """init(y) sets the precision from the training targets (std(y) / 250) the first time
    only; init(y2) keeps it; init(y2, reinit=True) recomputes it from y2."""
    acc = _accuracy(ctx, ctx.cls)
    init = accumulator(acc, "init")
    if init is None:
        raise NotApplicable("no init(y)")
    train = np.asarray(case.extra["train"], dtype=np.float64)
    other = train * 3.0 + 1.0  # another spread: another precision
    init(train.copy())
    p1 = float(np.std(train) / 250)
    try:
        _regression_pattern(ctx, case, acc, p1)
    except Mismatch as m:
        m.hint = m.hint or "precision = np.std(y) / 250, from the targets init(y) is given"
        raise
    init(other.copy())
    try:
        _regression_pattern(ctx, case, acc, p1)
    except Mismatch as m:
        m.message = f"after init(y) and a second init(y2): {m.message}"
        m.hint = ("the precision is computed once: only when it is None or reinit=True (a "
                  "Model calls init(y) at every train(); the precision must not follow "
                  "whatever data comes next)")
        raise
    try:
        init(other.copy(), reinit=True)
    except TypeError as e:
        raise NotApplicable(f"init() takes no reinit flag ({e})") from None
    try:
        _regression_pattern(ctx, case, acc, float(np.std(other) / 250))
    except Mismatch as m:
        m.message = f"after init(y2, reinit=True): {m.message}"
        m.hint = "reinit=True recomputes the precision from the new targets"
        raise


@check("calculate", _families("accuracy"), examples=0.5)
def accuracy_calculate_is_the_mean(ctx: Context, case: Case) -> None:
    """calculate(predictions, y) (the base class's, reached through this accuracy) is the
    mean of the reference's comparisons.  Skipped where that calculate() is the module's
    own ``Accuracy`` component's, which its own checks judge."""
    owner = next((k for k in ctx.cls.__mro__ if "calculate" in vars(k)), None)
    if owner is None:
        raise NotApplicable("no calculate()")
    if owner is ctx.peers.get("Accuracy") and owner is not ctx.cls:
        raise NotApplicable(f"calculate() is {owner.__name__}'s, checked as Accuracy")
    acc = _accuracy(ctx, ctx.cls)
    ref = ctx.spec.reference()
    if ctx.spec.precision:
        _init(acc, case.extra["train"])
        ref.init(case.extra["train"])
        y = np.asarray(case.y, dtype=np.float64)
        predictions = y + case.extra["factors"] * ref.precision
    else:
        _init(acc, case.y)
        y, predictions = np.asarray(case.y_one_hot), np.asarray(case.inputs)
    _new_pass(acc)
    got = acc.calculate(predictions.copy(), y.copy())
    assert_matches(ctx, np.asarray(got, dtype=np.float64),
                   np.asarray(ref.calculate(predictions, y)),
                   f"calculate(predictions, y) (of {owner.__name__})", case)


def _new_pass(acc: Any) -> None:
    new_pass = accumulator(acc, "new_pass")
    if callable(new_pass):
        new_pass()


def _accuracy_probe(cls: type, comparisons: Callable[[], np.ndarray]) -> type:
    """A subclass of the target's Accuracy whose compare() returns ``comparisons()``."""

    def compare(self: Any, *args: Any, **kwargs: Any) -> np.ndarray:  # noqa: ARG001
        return comparisons()

    def unused(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: ARG001
        return None

    body: dict[str, Any] = {n: unused for n in getattr(cls, "__abstractmethods__", ())}
    body["compare"] = compare
    # calculate() may ask for the comparisons under another name (compare_predictions)
    try:
        source = inspect.getsource(cls.calculate)  # type: ignore[attr-defined]
    except (OSError, TypeError, AttributeError):
        source = ""
    for name in set(re.findall(r"self\.(\w*compar\w*)\s*\(", source)):
        body[name] = compare
    return type("_Probe", (cls,), body)


@check("calculate", _families("accuracy_base"))
def accuracy_base_calculate_is_the_mean(ctx: Context, case: Case) -> None:
    """Accuracy.calculate() returns the mean of what compare() returns."""
    batches = [np.asarray(case.inputs), np.asarray(case.extra["second_batch"])]
    queue = list(batches)
    acc = construct(_accuracy_probe(ctx.cls, lambda: queue.pop(0).copy()))
    _new_pass(acc)
    for k, c in enumerate(batches):  # the second: after a batch was accumulated
        got = acc.calculate(np.zeros(len(c)), np.zeros(len(c)))
        try:
            assert_matches(ctx, np.asarray(got, dtype=np.float64), np.asarray(np.mean(c)),
                           f"calculate() of batch {k + 1} (the mean of its comparisons)", case)
        except Mismatch as m:
            m.hint = m.hint or ("calculate() returns this batch's accuracy, "
                                "np.mean(comparisons), not the running one" if k else
                                "accuracy = np.mean(comparisons): the fraction of right samples")
            raise


@check("calculate_accumulated", _families("accuracy_base"), examples=0.5)
def accuracy_accumulated_over_samples(ctx: Context, case: Case) -> None:
    """After new_pass() and two batches of different sizes, calculate_accumulated() is the
    fraction of right samples over both (not the mean of the batch accuracies); a second
    new_pass() forgets the first epoch (sum and count)."""
    batches = [np.asarray(case.inputs), np.asarray(case.extra["second_batch"])]
    queue = list(batches)
    acc = construct(_accuracy_probe(ctx.cls, lambda: queue.pop(0).copy()))
    new_pass = accumulator(acc, "new_pass")
    total = accumulator(acc, "calculate_accumulated")
    if not callable(new_pass) or not callable(total):
        raise NotApplicable("no new_pass()/calculate_accumulated()")
    new_pass()
    for b in batches:
        acc.calculate(np.zeros(len(b)), np.zeros(len(b)))
    try:
        assert_matches(ctx, np.asarray(total(), dtype=np.float64),
                       np.asarray(np.mean(np.concatenate(batches))), "calculate_accumulated()",
                       case)
    except Mismatch as m:
        m.hint = m.hint or (
            "calculate_accumulated() divides the number of right samples since new_pass() "
            "by the number of SAMPLES seen (accumulated_count += len(comparisons)), not "
            "batches")
        raise
    queue.append(batches[1])
    new_pass()
    acc.calculate(np.zeros(len(batches[1])), np.zeros(len(batches[1])))
    try:
        assert_matches(ctx, np.asarray(total(), dtype=np.float64),
                       np.asarray(np.mean(batches[1])),
                       "calculate_accumulated() after a second new_pass()", case)
    except Mismatch as m:
        m.hint = ("new_pass() must reset both accumulators: accumulated_sum = 0 and "
                  "accumulated_count = 0")
        raise

__all__ = [
    "Context", "Mismatch", "NotApplicable", "Outcome", "evaluate", "numpy_patched",
    "optimizer_kind",
]
