"""The property suite that certifies :mod:`reference`.

Each property is written once and fanned out over the spec table
(:data:`oracle.spec.SPECS`), filtered by capability, in the manner of PyTorch's
OpInfo: a component opts in by its record, not by a test of its own.  Where a
property of :mod:`oracle.properties` says exactly what is meant here, it runs
with the reference as the class under test (``Context(spec, cls=spec.reference)``),
so the functions that judge a learner's classes are the ones that certify ours.

What "expected" means here is never the reference itself: central differences
(:func:`oracle.numerics.numeric_vjp`), ``scipy.differentiate``
(:func:`oracle.numerics.scipy_vjp`), closed forms written out in this file
(combined softmax + cross-entropy, the optimizer recurrences), or invariants
(softmax rows, linearity of backward, dropout's mask, the kink conventions).

Cases are drawn element by element (``oracle.spec.FAST`` off while drawing), so
Hypothesis explores and shrinks single values -- the margins themselves, the
extremes of each range -- rather than seeds of a NumPy generator.

Set ``NNFS_ORACLE_FD_LOG=path`` to append, per component, attribute and method
(central differences, SciPy, gradient of calculate, regularization, and the
invariants' own tolerances), the worst errors seen and the fraction of the
tolerance they used (JSON lines; a line whenever a process sees a new worst).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.stats import binomtest

from oracle import numerics as nm
from oracle import properties as P
from oracle import spec as S
from oracle import strategies as nst
from oracle.spec import SPECS, Case, Spec

EPS = nm.EPS64

# --------------------------------------------------------------------------- the table, filtered


def specs_where(pred: Callable[[Spec], bool]) -> list[Any]:
    return [pytest.param(s, id=s.name) for s in SPECS.values() if pred(s)]


GRADIENT_SPECS = specs_where(lambda s: bool(s.grads))
REGULARIZED_SPECS = specs_where(lambda s: s.regularized is not None)
LOSS_SPECS = specs_where(lambda s: s.family in ("loss", "combined"))
LABEL_SPECS = specs_where(lambda s: s.labels == "classes" and s.family in ("loss", "combined"))
COMBINED_SPECS = specs_where(lambda s: s.family == "combined")
#: Components whose forward output is a softmax (the activation, and the combined
#: class's chapter-9 forward, which stores the probabilities in ``output``).
SOFTMAX_SPECS = specs_where(
    lambda s: s.name in ("Activation_Softmax", "Activation_Softmax_Loss_CategoricalCrossentropy")
)
BACKWARD_SPECS = specs_where(lambda s: s.family in ("dense", "activation", "dropout"))
ARRAY_SPECS = specs_where(lambda s: s.family not in ("optimizer", "loss_base", "accuracy",
                                                    "accuracy_base", "model"))
KINKED_SPECS = specs_where(lambda s: s.kinks is not None)
LOSS_BASE_SPECS = specs_where(lambda s: s.family == "loss_base")
SEPARABLE = [
    pytest.param(s, fld, id=f"{s.name}-{fld}")
    for s in SPECS.values()
    for fld in s.separable
    if s.separable[fld] is not None and fld in s.wrt.values()
]


def test_the_table_is_covered() -> None:
    """Every family with gradients is certified against numerics; no spec is left out."""
    families = {p.values[0].family for p in GRADIENT_SPECS}
    assert families == {"dense", "activation", "loss", "combined"}
    assert len(LOSS_SPECS) >= 5 and len(COMBINED_SPECS) == 1 and len(SOFTMAX_SPECS) == 2
    groups = (ARRAY_SPECS, OPTIMIZER_VARIANTS, LOSS_BASE_SPECS)
    # the accuracies and the Model are certified in test_book_rest (no gradients to check)
    rest = {n for n, s in SPECS.items() if s.family in ("accuracy", "accuracy_base", "model")}
    assert {p.values[0].name for group in groups for p in group} | rest == set(SPECS)


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _elementwise() -> Iterator[None]:
    old = getattr(S, "FAST", False)
    S.FAST = False
    try:
        yield
    finally:
        S.FAST = old


def draw(data: st.DataObject, strategy: Callable[[], st.SearchStrategy[Case]], label: str) -> Case:
    """A case from one of the table's strategies, drawn element by element."""
    with _elementwise():
        return data.draw(strategy(), label=label)


def seeded_class(cls: type, seed: int) -> type:
    """``cls`` with its random generator seeded (dropout), so that runs replay exactly."""

    class Seeded(cls):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("rng", np.random.default_rng(seed))
            super().__init__(*args, **kwargs)

    Seeded.__name__ = Seeded.__qualname__ = cls.__name__
    return Seeded


def context(spec: Spec, cls: type | None = None) -> P.Context:
    if cls is None:
        cls = seeded_class(spec.reference, 0) if spec.family == "dropout" else spec.reference
    return P.Context(spec, cls=cls)


def assert_close(actual: Any, desired: Any, tol: nm.Tolerance, what: str) -> None:
    """numpy.isclose-form comparison; the message says what, where, and why that tolerance."""
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    assert a.shape == d.shape, f"{what}: shape {a.shape}, expected {d.shape}"
    cmp = nm.compare(a, d, tol)
    assert cmp.ok, (
        f"{what}: {cmp.n_bad} of {cmp.size} values differ; worst at {cmp.worst_index}: "
        f"got {cmp.got!r}, expected {cmp.expected!r} (abs err {cmp.abs_err:.3g}; "
        f"rtol {tol.rtol:.3g}, atol {tol.atol:.3g}: {tol.why})"
    )


def errors(actual: np.ndarray, desired: np.ndarray) -> tuple[float, float]:
    """(max abs err, max rel err); the relative error is taken over the entries of at least
    1e-3 times the largest one and at least 1e-8 (an entry that is zero up to rounding, or
    a gradient that vanishes, has none)."""
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    if a.size == 0:
        return 0.0, 0.0
    err = np.abs(a - d)
    big = (np.abs(d) >= 1e-3 * float(np.max(np.abs(d)))) & (np.abs(d) >= 1e-8)
    rel = float(np.max(err[big] / np.abs(d[big]))) if big.any() else 0.0
    return float(np.max(err)), rel


def tolerance_used(actual: np.ndarray, desired: np.ndarray, tol: nm.Tolerance) -> float:
    """The largest |actual - desired| / (atol + rtol |desired|): the fraction of the
    tolerance used (a failure is > 1; the margin against flaky failures is its inverse)."""
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    if a.size == 0:
        return 0.0
    allowed = np.maximum(tol.atol + tol.rtol * np.abs(d), 1e-300)
    return float(np.max(np.abs(a - d) / allowed))


_WORST: dict[tuple[str, str, str], tuple[float, float, float]] = {}


def log_error(
    component: str, attr: str, method: str, actual: np.ndarray, desired: np.ndarray,
    tol: nm.Tolerance,
) -> None:
    """Append a JSON line to $NNFS_ORACLE_FD_LOG when this process sees a new worst error:
    max abs err, max rel err (see :func:`errors`) and the fraction of the tolerance used."""
    if os.environ.get("NNFS_ORACLE_FD_LOG"):
        log_worst(component, attr, method,
                  (*errors(actual, desired), tolerance_used(actual, desired, tol)))


def log_worst(component: str, attr: str, method: str, new: tuple[float, float, float]) -> None:
    path = os.environ.get("NNFS_ORACLE_FD_LOG")
    if not path:
        return
    key = (component, attr, method)
    old = _WORST.get(key, (-1.0, -1.0, -1.0))
    if all(n <= o for n, o in zip(new, old, strict=True)):
        return
    worst = _WORST[key] = tuple(max(n, o) for n, o in zip(new, old, strict=True))  # type: ignore[assignment]
    record = {
        "component": component, "attr": attr, "method": method, "max_abs_err": worst[0],
        "max_rel_err": worst[1], "tolerance_used": worst[2], "pid": os.getpid(),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def kink_distance(spec: Spec, case: Case, fld: str) -> np.ndarray | None:
    if spec.kinks is None:
        return None
    return spec.kinks(case).get(fld)


# ------------------------------------------------------------------ gradients: central differences


def check_central_differences(spec: Spec, case: Case) -> None:
    """Every gradient attribute against the 3-point central-difference VJP of the forward
    pass (plus the penalty's, when regularized), with no element skipped at a kink and no
    5-point second opinion: stricter than the property that judges targets."""
    ctx = context(spec)
    got = P.evaluate(ctx, ctx.cls, case)
    for attr in spec.grads:
        num, crossing, scale = P.numeric_gradient(ctx, ctx.cls, case, attr)
        assert not crossing.any(), f"{attr}: a drawn case puts a stencil across a kink"
        g = np.asarray(got.grads[attr])
        tol = nm.fd_tolerance(scale)
        log_error(spec.name, attr, "central", g, num, tol)
        assert_close(g, num, tol, f"{spec.name}.{attr} vs central differences")


@pytest.mark.parametrize("spec", GRADIENT_SPECS)
@given(data=st.data())
def test_gradients_match_central_differences(spec: Spec, data: st.DataObject) -> None:
    case = draw(data, spec.cases, "case")
    P.gradients_match_finite_differences(context(spec), case)
    check_central_differences(spec, case)


@pytest.mark.parametrize("spec", REGULARIZED_SPECS)
@given(data=st.data())
def test_regularized_gradients_match_central_differences(spec: Spec, data: st.DataObject) -> None:
    assert spec.regularized is not None
    case = draw(data, spec.regularized, "case")
    P.gradients_match_finite_differences(context(spec), case)
    check_central_differences(spec, case)


@pytest.mark.parametrize("spec", GRADIENT_SPECS)
def test_gradients_match_central_differences_on_the_typical_case(spec: Spec) -> None:
    check_central_differences(spec, S.typical(spec))
    if spec.regularized is not None:
        check_central_differences(spec, S.typical(spec, "regularized"))


# --------------------------------------------------------------------------- gradients: SciPy


def scipy_gradient(
    fn: Callable[[np.ndarray], Any], x: np.ndarray, upstream: np.ndarray,
    distance: np.ndarray | None,
) -> np.ndarray:
    """``d/dx <upstream, fn(x)>`` by :func:`oracle.numerics.scipy_vjp`.

    SciPy's first (largest) step per element is ``min(0.05 * max(1, |x_e|), d_e / 2)``,
    with ``d_e`` the distance to the nearest kink, so no abscissa reaches across one.
    """
    x = np.array(x, dtype=np.float64)
    step = 0.05 * np.maximum(1.0, np.abs(x))
    if distance is not None:
        step = np.minimum(step, np.asarray(distance, dtype=np.float64) / 2.0)
    return nm.scipy_vjp(fn, x, upstream, initial_step=step)


def scipy_tolerance(scale: float, x: np.ndarray, distance: np.ndarray | None) -> nm.Tolerance:
    """SciPy's Richardson table (order 8, steps halved up to 7 times from the first step
    s_e) stops when two estimates agree to rtol 1e-10.  Its rounding error is about
    eps * scale / h_min with h_min = s_e / 128; we allow 100x that.  rtol 1e-7 covers a
    table that stops early (the estimate it returns is the last, not the best)."""
    first = 0.05 * np.maximum(1.0, np.abs(x))
    if distance is not None:
        first = np.minimum(first, distance / 2.0)
    h_min = float(np.min(first)) / 128.0
    atol = 100.0 * EPS * max(scale, 1.0) / h_min
    return nm.Tolerance(1e-7, atol, f"scipy.differentiate, smallest step {h_min:.1e}: "
                        "atol = 100*eps*scale/h_min, rtol 1e-7")


def check_scipy(spec: Spec, case: Case) -> None:
    ctx = context(spec)
    got = P.evaluate(ctx, ctx.cls, case)
    up = P.upstream_for(ctx, case)
    for attr in spec.grads:
        fld = spec.wrt[attr]
        x = np.asarray(getattr(case, fld), dtype=np.float64)
        fn = P.functional(ctx, ctx.cls, case, fld)
        scale = float(np.sum(np.abs(up * np.asarray(fn(x), dtype=np.float64))))
        dist = kink_distance(spec, case, fld)
        num = scipy_gradient(fn, x, up, dist)
        if fld in ("weights", "biases") and spec.regularized is not None and any(
            v > 0 for k, v in case.ctor.items() if "regularizer" in k
        ):
            pen = P.regularization_penalty(case, fld)
            num = num + scipy_gradient(pen, x, np.asarray(1.0), dist)
            scale += float(pen(x))
        g = np.asarray(got.grads[attr])
        tol = scipy_tolerance(scale, x, dist)
        log_error(spec.name, attr, "scipy", g, num, tol)
        assert_close(g, num, tol, f"{spec.name}.{attr} vs scipy.differentiate")


def _slow(fraction: int) -> Any:
    """Settings for a property that costs ~fraction times more per example than the others:
    the active profile's example count divided by ``fraction`` (at least 5)."""
    return settings(max_examples=max(5, settings().max_examples // fraction))


@pytest.mark.parametrize("spec", GRADIENT_SPECS)
@_slow(4)
@given(data=st.data())
def test_gradients_match_scipy_differentiate(spec: Spec, data: st.DataObject) -> None:
    check_scipy(spec, draw(data, spec.cases, "case"))


@pytest.mark.parametrize("spec", REGULARIZED_SPECS)
@_slow(4)
@given(data=st.data())
def test_regularized_gradients_match_scipy_differentiate(spec: Spec, data: st.DataObject) -> None:
    assert spec.regularized is not None
    check_scipy(spec, draw(data, spec.regularized, "case"))


@pytest.mark.parametrize("spec", GRADIENT_SPECS)
def test_gradients_match_scipy_differentiate_on_the_typical_case(spec: Spec) -> None:
    check_scipy(spec, S.typical(spec))
    if spec.regularized is not None:
        check_scipy(spec, S.typical(spec, "regularized"))


# --------------------------------------------------------------------------- separability claims


@pytest.mark.parametrize(("spec", "fld"), SEPARABLE)
@given(data=st.data())
def test_separability_claims_hold(spec: Spec, fld: str, data: st.DataObject) -> None:
    """The table's ``separable`` claim (which lets finite differences perturb a whole row or
    column at once) gives the same numbers as perturbing one element at a time."""
    case = draw(data, spec.cases, "case")
    ctx = context(spec)
    fn = P.functional(ctx, ctx.cls, case, fld)
    x = getattr(case, fld)
    up = P.upstream_for(ctx, case)
    grouped = nm.numeric_vjp(fn, x, up, separable=spec.separable[fld])
    single = nm.numeric_vjp(fn, x, up)
    scale = float(np.sum(np.abs(up * np.asarray(fn(x)))))
    assert_close(grouped, single, nm.fd_tolerance(scale),
                 f"{spec.name}: {fld} claimed {spec.separable[fld]!r}-separable")


# ------------------------------------------------------------------ losses: gradient of calculate


def mean_loss(spec: Spec, cls: type, y: np.ndarray) -> Callable[[np.ndarray], Any]:
    """The scalar a loss's backward differentiates: ``calculate`` (the mean over samples)
    for a loss, the chapter-9 ``forward`` (which returns that mean) for the combined class.
    A fresh object per call: ``calculate`` accumulates."""
    if spec.family == "combined":
        return lambda z: np.asarray(cls().forward(np.array(z), np.array(y)))
    return lambda p: np.asarray(cls().calculate(np.array(p), np.array(y)))


def loss_backward(spec: Spec, cls: type, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    obj = cls()
    if spec.family == "combined":
        softmax = SPECS["Activation_Softmax"].reference()
        softmax.forward(np.array(x))
        obj.backward(np.array(softmax.output), np.array(y))
    else:
        obj.backward(np.array(x), np.array(y))
    return np.asarray(obj.dinputs)


def label_formats(case: Case) -> list[tuple[str, np.ndarray]]:
    assert case.y is not None
    out = [("sparse" if case.y_one_hot is not None else "targets", case.y)]
    if case.y_one_hot is not None:
        out.append(("one-hot", case.y_one_hot))
    return out


def loss_gradient_is_gradient_of_calculate(spec: Spec, cls: type, case: Case) -> None:
    """dinputs equals the central-difference gradient of the mean loss, for every label
    format; raises AssertionError otherwise."""
    x = np.asarray(case.inputs, dtype=np.float64)
    dist = kink_distance(spec, case, "inputs")
    if dist is not None:
        assert not nm.crosses_kink(dist, x).any()
    for fmt, y in label_formats(case):
        f = mean_loss(spec, cls, y)
        num = nm.numeric_vjp(f, x, np.asarray(1.0))
        got = loss_backward(spec, cls, x, y)
        tol = nm.fd_tolerance(abs(float(f(x))))
        if cls is spec.reference:
            log_error(spec.name, "dinputs", "calculate", got, num, tol)
        assert_close(got, num, tol,
                     f"{spec.name}.backward ({fmt} labels) vs d calculate / d inputs")


@pytest.mark.parametrize("spec", LOSS_SPECS)
@given(data=st.data())
def test_loss_gradient_is_the_gradient_of_the_mean_loss(spec: Spec, data: st.DataObject) -> None:
    loss_gradient_is_gradient_of_calculate(spec, spec.reference, draw(data, spec.cases, "case"))


@pytest.mark.parametrize("spec", LOSS_SPECS)
def test_loss_gradient_is_the_gradient_of_the_mean_loss_on_the_typical_case(spec: Spec) -> None:
    loss_gradient_is_gradient_of_calculate(spec, spec.reference, S.typical(spec))


# --------------------------------------------------------------------------- the MAE erratum


class BookMeanAbsoluteError(SPECS["Loss_MeanAbsoluteError"].reference):  # type: ignore[misc,name-defined]
    """The reference with the book's published backward: sign(y_true - y_pred)."""

    def backward(self, dvalues: Any, y_true: Any) -> None:
        samples = len(dvalues)
        outputs = len(dvalues[0])
        self.dinputs = np.sign(y_true - dvalues) / outputs
        self.dinputs = self.dinputs / samples


@given(data=st.data())
def test_the_published_mae_backward_fails_the_gradient_properties(data: st.DataObject) -> None:
    spec = SPECS["Loss_MeanAbsoluteError"]
    case = draw(data, spec.cases, "case")
    P.gradients_match_finite_differences(context(spec), case)  # the reference passes
    with pytest.raises(P.Mismatch, match="dinputs"):
        P.gradients_match_finite_differences(context(spec, BookMeanAbsoluteError), case)
    with pytest.raises(AssertionError, match="backward"):
        loss_gradient_is_gradient_of_calculate(spec, BookMeanAbsoluteError, case)


# --------------------------------------------------------------------------- combined softmax + CCE


@pytest.mark.parametrize("spec", COMBINED_SPECS)
@given(data=st.data())
def test_combined_backward_is_the_chain_rule_and_the_closed_form(
    spec: Spec, data: st.DataObject
) -> None:
    """Combined backward == Softmax.backward(CCE.backward(p, y)) == (p - onehot) / N, for
    sparse and one-hot labels.  The chain computes -1/(p N) and adds 1/N back, each with
    a few roundings of magnitude 1/N (and p / N for the others): 64 eps / N covers it."""
    case = draw(data, spec.cases, "case")
    softmax_cls = SPECS["Activation_Softmax"].reference
    cce_cls = SPECS["Loss_CategoricalCrossentropy"].reference
    z = np.asarray(case.inputs)
    n = z.shape[0]
    assert case.y_one_hot is not None
    tol = nm.Tolerance(64 * EPS, 64 * EPS / n, "a few roundings of terms of size 1/N")
    for fmt, y in label_formats(case):
        sm = softmax_cls()
        sm.forward(z)
        p = np.array(sm.output)
        combined = spec.reference()
        combined.backward(p.copy(), np.array(y))
        cce = cce_cls()
        cce.backward(p.copy(), np.array(y))
        sm.backward(cce.dinputs)
        log_error(spec.name, "dinputs", "chain", combined.dinputs, sm.dinputs, tol)
        assert_close(combined.dinputs, sm.dinputs, tol, f"combined vs chain ({fmt} labels)")
        assert_close(combined.dinputs, (p - case.y_one_hot) / n, tol,
                     f"combined vs (p - onehot)/N ({fmt} labels)")


@pytest.mark.parametrize("spec", LABEL_SPECS)
@given(data=st.data())
def test_sparse_and_one_hot_labels_agree_exactly(spec: Spec, data: st.DataObject) -> None:
    """The same labels in both formats give the same losses and gradients, bit for bit:
    the one-hot branch sums one nonzero product with zeros, and the gradients are built
    from the same one-hot rows."""
    case = draw(data, spec.cases, "case")
    ctx = context(spec)
    P.sparse_and_one_hot_agree(ctx, case)
    sparse = P.evaluate(ctx, ctx.cls, case)
    onehot = P.evaluate(ctx, ctx.cls, case, one_hot=True)
    assert np.array_equal(np.asarray(sparse.output), np.asarray(onehot.output))
    assert np.array_equal(sparse.grads["dinputs"], onehot.grads["dinputs"])
    if spec.family == "loss":
        for fmt, y in label_formats(case):
            loss = spec.reference().calculate(np.array(case.inputs), y)
            assert loss == spec.reference().calculate(np.array(case.inputs), case.y), fmt


# --------------------------------------------------------------------------- softmax invariants


def softmax_output(spec: Spec, x: np.ndarray) -> np.ndarray:
    c = Case(inputs=np.array(x), dvalues=np.zeros_like(x), y=np.zeros(len(x), dtype=np.int64))
    out = P.evaluate(context(spec), spec.reference, c, backward=False).output
    return np.asarray(out, dtype=np.float64)


@pytest.mark.parametrize("spec", SOFTMAX_SPECS)
@pytest.mark.parametrize("variant", ["cases", "stability"])
@given(data=st.data(), shift=st.floats(-1000.0, 1000.0))
def test_softmax_rows_sum_to_one_and_ignore_a_row_shift(
    spec: Spec, variant: str, data: st.DataObject, shift: float
) -> None:
    """Rows sum to 1 within (K + 2) eps (K rounded quotients and their sum); adding a
    per-row constant changes each entry by at most its relative rounding, which is
    2 ulp of the largest shifted logit (the exp's argument) plus the row's K eps."""
    strategy = spec.stability if variant == "stability" else spec.cases
    assert strategy is not None
    z = np.asarray(draw(data, strategy, "case").inputs)
    n, k = z.shape
    s = softmax_output(spec, z)
    assert np.all(s >= 0) and np.all(np.isfinite(s))
    assert np.all(np.abs(s.sum(axis=1) - 1.0) <= 4 * (k + 2) * EPS)
    offsets = shift * np.linspace(-1.0, 1.0, n)[:, None]
    shifted = z + offsets
    s2 = softmax_output(spec, shifted)
    big = 1.0 + float(np.max(np.abs(z))) + float(np.max(np.abs(shifted)))
    tol = nm.Tolerance(8 * EPS * big + 8 * k * EPS, 1e-300, "exp of a rounded shifted logit")
    log_error(spec.name, "output", f"shift-{variant}", s2, s, tol)
    rows = np.abs(s.sum(axis=1) - 1.0)
    log_worst(spec.name, "output", "row-sum", (0.0, 0.0, float(rows.max()) / (4 * (k + 2) * EPS)))
    assert_close(s2, s, tol, f"{spec.name} with rows shifted by up to {shift}")


# --------------------------------------------------------------------------- backward is linear


def _magnitude_bound(case: Case) -> float:
    """A bound of the factor each dvalues entry is multiplied by, summed over the
    (at most max-dimension) terms of one result entry: the inputs, weights and dropout
    scale are the only multipliers, and softmax/sigmoid/ReLU derivatives are <= 1."""
    m = 1.0
    for a in (case.inputs, case.weights):
        if a is not None and np.size(a):
            m = max(m, float(np.max(np.abs(a))))
    if "rate" in case.ctor:
        m = max(m, 1.0 / (1.0 - case.ctor["rate"]))
    dims = [d for a in (case.inputs, case.weights) if a is not None for d in np.shape(a)]
    return m * (1 + max(dims, default=1))


@pytest.mark.parametrize("spec", BACKWARD_SPECS)
@given(data=st.data(), a=st.floats(-4.0, 4.0), b=st.floats(-4.0, 4.0))
def test_backward_is_linear_in_dvalues(
    spec: Spec, data: st.DataObject, a: float, b: float
) -> None:
    """backward(a G1 + b G2) = a backward(G1) + b backward(G2), and backward(0) = 0 exactly
    (one forward pass, then three backward passes on the same object: one dropout mask).
    Tolerance: 64 eps times the magnitude of the terms summed (see _magnitude_bound), and
    an absolute 1e-300 for the subnormal range."""
    case = draw(data, spec.cases, "case")
    assert case.dvalues is not None
    g2 = data.draw(nst.upstream_gradients(case.dvalues.shape), label="second dvalues")
    ctx = context(spec)
    obj = P.build(ctx, ctx.cls, case)
    obj.forward(np.array(case.inputs), training=True)
    attrs = spec.grads or ("dinputs",)

    def back(g: np.ndarray) -> dict[str, np.ndarray]:
        obj.backward(np.array(g))
        return {k: np.array(obj.read(k)) for k in attrs}

    g1 = np.asarray(case.dvalues)
    r1, r2, r12 = back(g1), back(g2), back(a * g1 + b * g2)
    zero = back(np.zeros_like(g1))
    scale = (abs(a) * float(np.max(np.abs(g1))) + abs(b) * float(np.max(np.abs(g2))))
    # + 1e-300: with subnormal a or b, a*G rounds absolutely (to ~5e-324), not relatively
    bound = 64 * EPS * scale * _magnitude_bound(case) + 1e-300
    for k in attrs:
        assert np.all(zero[k] == 0), f"{spec.name}.{k} is not zero for zero dvalues"
        tol = nm.Tolerance(0.0, bound, "64 eps * terms")
        log_error(spec.name, k, "linearity", r12[k], a * r1[k] + b * r2[k], tol)
        assert_close(r12[k], a * r1[k] + b * r2[k], tol, f"{spec.name}.{k}(a*G1 + b*G2)")


# --------------------------------------------------------------------------- nothing is mutated


def _frozen(a: Any) -> Any:
    if a is None:
        return None
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


@pytest.mark.parametrize("spec", ARRAY_SPECS)
@given(data=st.data())
def test_no_input_dvalues_or_label_array_is_mutated(spec: Spec, data: st.DataObject) -> None:
    """The property that judges targets, then a stricter form: every array handed over is
    read-only, so any write into it raises instead of passing unnoticed."""
    case = draw(data, spec.cases, "case")
    ctx = context(spec)
    P.does_not_mutate(ctx, case)
    for y in ([case.y, case.y_one_hot] if case.y_one_hot is not None else [case.y]):
        arrays = {"inputs": _frozen(case.inputs), "dvalues": _frozen(case.dvalues),
                  "y": _frozen(y)}
        if spec.family == "combined":
            z = np.asarray(case.inputs)
            arrays["dvalues"] = _frozen(softmax_output(SPECS["Activation_Softmax"], z))
        pristine = {k: None if v is None else v.copy() for k, v in arrays.items()}
        P.evaluate(ctx, ctx.cls, case, arrays=arrays, backward=spec.family != "input")
        for k, v in arrays.items():
            assert v is None or np.array_equal(v, np.asarray(pristine[k])), k


# --------------------------------------------------------------------------- regularization


@pytest.mark.parametrize("spec", REGULARIZED_SPECS)
@given(data=st.data())
def test_regularization_gradient_is_the_gradient_of_regularization_loss(
    spec: Spec, data: st.DataObject
) -> None:
    """What regularization adds to dweights/dbiases equals the central-difference gradient
    of ``Loss.regularization_loss`` (the strategy keeps L1 parameters off 0)."""
    assert spec.regularized is not None
    case = draw(data, spec.regularized, "case")
    plain = Case(**{**case.__dict__, "ctor": {k: v for k, v in case.ctor.items()
                                              if "regularizer" not in k}})
    ctx = context(spec)
    with_reg = P.evaluate(ctx, ctx.cls, case)
    without = P.evaluate(ctx, ctx.cls, plain)
    for attr, fld in (("dweights", "weights"), ("dbiases", "biases")):
        x = np.asarray(getattr(case, fld))
        dist = kink_distance(spec, case, fld)
        if dist is not None:
            assert not nm.crosses_kink(dist, x).any()
        pen = P.regularization_penalty(case, fld)
        num = nm.numeric_vjp(pen, x, np.asarray(1.0))
        added = np.asarray(with_reg.grads[attr]) - np.asarray(without.grads[attr])
        data_part = float(np.max(np.abs(without.grads[attr])))
        tol = nm.fd_tolerance(float(pen(x)))
        tol = nm.Tolerance(tol.rtol, tol.atol + 8 * EPS * data_part, tol.why)
        log_error(spec.name, attr, "regularization", added, num, tol)
        assert_close(added, num, tol, f"{spec.name}.{attr}: regularization term")


# --------------------------------------------------------------------------- kink conventions


_RELU = SPECS["Activation_ReLU"].reference
_DENSE = SPECS["Layer_Dense"].reference
_MAE = SPECS["Loss_MeanAbsoluteError"].reference

_at_kinks = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=5),
    elements=st.sampled_from([0.0, -0.0]) | st.floats(-3.0, 3.0),
)


@given(x=_at_kinks)
@example(x=np.array([[0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324]]))
def test_relu_gradient_is_zero_at_zero(x: np.ndarray) -> None:
    """The book's convention: dinputs = dvalues where inputs > 0, else 0 -- at 0 too."""
    dvalues = np.arange(1.0, x.size + 1.0).reshape(x.shape)
    relu = _RELU()
    relu.forward(x)
    relu.backward(dvalues)
    assert np.array_equal(relu.dinputs, np.where(x > 0, dvalues, 0.0))
    spec = SPECS["Activation_ReLU"]
    P.relu_kink_convention(context(spec), Case(inputs=x, dvalues=dvalues))


@given(w=_at_kinks, lam=st.floats(1e-4, 1.0))
@example(w=np.array([[0.0, -0.0], [1.0, -1.0]]), lam=0.5)
def test_l1_slope_is_plus_one_at_zero(w: np.ndarray, lam: float) -> None:
    """L1's subgradient is +1 where a parameter is >= 0 (so at 0, and at -0.0), -1 below.
    With zero inputs and dvalues the data part is exactly 0, so the result is exact."""
    n_in, n_out = w.shape
    b = w[:1].copy()
    layer = _DENSE(n_in, n_out, weight_regularizer_l1=lam, bias_regularizer_l1=lam)
    layer.weights, layer.biases = w.copy(), b.copy()
    layer.forward(np.zeros((2, n_in)))
    layer.backward(np.zeros((2, n_out)))
    assert np.array_equal(layer.dweights, lam * np.where(w < 0, -1.0, 1.0))
    assert np.array_equal(layer.dbiases, lam * np.where(b < 0, -1.0, 1.0))


@given(p=_at_kinks)
@example(p=np.array([[0.0, 1.0, -2.5]]))
def test_mae_gradient_is_zero_where_prediction_equals_target(p: np.ndarray) -> None:
    """np.sign's convention at |y - p| = 0: no gradient (any of [-1, 1]/(N*O) would do)."""
    y = np.where(np.arange(p.size).reshape(p.shape) % 2 == 0, p, p + 1.0)
    mae = _MAE()
    mae.backward(p, y)
    n, o = p.shape
    expected = np.where(p == y, 0.0, np.sign(p - y)) / o / n
    assert np.array_equal(mae.dinputs, expected)


# --------------------------------------------------------------------------- the kink guard


def _place(spec: Spec, case: Case) -> tuple[Case, str]:
    """The case with element (0, 0) of one field exactly at the component's kink."""
    c = Case(**{**case.__dict__, "ctor": dict(case.ctor), "extra": dict(case.extra)})
    if spec.name == "Activation_ReLU":
        c.inputs = np.array(case.inputs)
        c.inputs[0, 0] = 0.0
        return c, "inputs"
    if spec.name == "Loss_MeanAbsoluteError":
        c.y = np.array(case.y)
        c.y[0, 0] = case.inputs[0, 0]  # type: ignore[index]
        return c, "inputs"
    if spec.name in ("Loss_CategoricalCrossentropy", "Loss_BinaryCrossentropy"):
        c.inputs = np.array(case.inputs)
        c.inputs[0, 0] = nst.CLIP
        return c, "inputs"
    if spec.name == "Layer_Dense":
        c.ctor["weight_regularizer_l1"] = 0.1
        c.weights = np.array(case.weights)
        c.weights[0, 0] = 0.0
        return c, "weights"
    raise AssertionError(f"{spec.name} has kinks but no placement in this test: add one")


@pytest.mark.parametrize("spec", KINKED_SPECS)
@pytest.mark.parametrize("fast", [False, True], ids=["elementwise", "seeded"])
@given(data=st.data())
def test_the_kink_guard_holds_on_drawn_cases_and_fires_at_the_kink(
    spec: Spec, fast: bool, data: st.DataObject
) -> None:
    """The strategies' margins keep every 3-point stencil clear of the kinks (in both
    drawing modes); an element placed at the kink is flagged, and only that one."""
    assert spec.kinks is not None
    strategy = spec.regularized if spec.regularized is not None else spec.cases
    old = getattr(S, "FAST", False)
    S.FAST = fast
    try:
        case = data.draw(strategy(), label="case")
    finally:
        S.FAST = old
    for fld, dist in spec.kinks(case).items():
        x = np.asarray(getattr(case, fld))
        assert not nm.crosses_kink(dist, x).any(), f"{fld}: a drawn value is within a step"
    placed, fld = _place(spec, case)
    flagged = nm.crosses_kink(spec.kinks(placed)[fld], getattr(placed, fld))
    expected = np.zeros(flagged.shape, dtype=bool)
    expected[0, 0] = True
    assert np.array_equal(flagged, expected)


# --------------------------------------------------------------------------- dropout


DROPOUT = SPECS["Layer_Dropout"]


@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_dropout_masks_forward_and_backward_with_one_mask(data: st.DataObject, seed: int) -> None:
    """output = inputs * mask and dinputs = dvalues * mask, with the same mask, every mask
    value 0 or 1/(1 - rate); training=False is the identity (a copy)."""
    case = draw(data, DROPOUT.cases, "case")
    cls = seeded_class(DROPOUT.reference, seed)
    ctx = context(DROPOUT, cls)
    P.dropout_mask(ctx, case)
    P.dropout_backward(ctx, case)
    P.dropout_eval_is_identity(ctx, case)
    rate = case.ctor["rate"]
    x = np.asarray(case.inputs)
    layer = cls(rate)
    layer.forward(x.copy(), training=True)
    mask = np.asarray(layer.binary_mask)
    keep = 1.0 - rate
    assert np.all((mask == 0.0) | np.isclose(mask, 1.0 / keep, rtol=4 * EPS, atol=0.0))
    assert np.array_equal(layer.output, x * mask)
    layer.backward(np.array(case.dvalues))
    assert np.array_equal(layer.dinputs, case.dvalues * mask)
    layer.forward(x.copy(), training=False)
    assert np.array_equal(layer.output, x)


#: Rates and fixed seeds for the binomial test.  The seeds are fixed so the test is
#: deterministic (zero flakiness: it passes or fails the same way on every run).  The
#: false-alarm rate is ALPHA per binomial test; this test runs two per (rate, seed) (the
#: engine's property and a direct one on other draws), 36 in all, so the chance that a
#: correct layer fails for some choice of seeds is at most 36 * ALPHA = 3.6e-5.
ALPHA = 1e-6
DRAWS = 10_000


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("rate", [0.05, 0.1, 0.25, 0.5, 0.75, 0.9])
def test_dropout_keeps_a_fraction_consistent_with_one_minus_rate(rate: float, seed: int) -> None:
    cls = seeded_class(DROPOUT.reference, seed)
    P.dropout_keeps_the_right_fraction(context(DROPOUT, cls), rate, seed)
    layer = seeded_class(DROPOUT.reference, 1000 + seed)(rate)
    layer.forward(np.ones(DRAWS), training=True)
    kept = int(np.count_nonzero(layer.output))
    p = binomtest(kept, DRAWS, 1.0 - rate).pvalue
    assert p >= ALPHA, f"kept {kept} of {DRAWS} with rate {rate}: binomial p = {p:.3g}"


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.7])
def test_the_binomial_test_rejects_rate_used_as_keep(rate: float) -> None:
    """The test has power: a layer keeping with probability ``rate`` fails it."""

    class RateAsKeep(DROPOUT.reference):  # type: ignore[misc,name-defined]
        def __init__(self, rate: float, **kw: Any) -> None:
            super().__init__(1.0 - rate, rng=np.random.default_rng(7))

    with pytest.raises(P.Mismatch, match="binomial"):
        P.dropout_keeps_the_right_fraction(context(DROPOUT, RateAsKeep), rate, 7)


# --------------------------------------------------------------------------- optimizers


def expected_trajectory(
    kind: str, hp: dict[str, float], params: list[np.ndarray], grads: list[list[np.ndarray]]
) -> tuple[list[list[np.ndarray]], list[list[np.ndarray]], dict[str, list[np.ndarray]]]:
    """The book's update rules, written out independently of :mod:`reference`.

    Returns, per step, every parameter after the step, an elementwise bound of the
    rounding error accumulated so far, and the final optimizer state per parameter.

    With ``t`` counting steps from 0 and ``lr_t = lr / (1 + decay * t)``:

    * sgd:      ``theta -= lr_t g``; with momentum ``mu``: ``m = mu m - lr_t g; theta += m``
    * adagrad:  ``c += g^2;  theta -= lr_t g / (sqrt(c) + eps)``
    * rmsprop:  ``c = rho c + (1 - rho) g^2;  theta -= lr_t g / (sqrt(c) + eps)``
    * adam:     ``m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;``
      ``theta -= lr_t (m / (1 - b1^(t+1))) / (sqrt(v / (1 - b2^(t+1))) + eps)``

    The error bound: each step rounds ``theta + delta`` (eps |theta|) and computes delta
    with a relative error of a few tens of eps -- relative to delta's *magnitude*, the
    same recurrence on |g| (momentum and Adam's first moment can cancel).  We allow
    64 eps per step on both.
    """
    lr, decay = hp["learning_rate"], hp.get("decay", 0.0)
    eps = hp.get("epsilon", 0.0)
    theta = [np.array(p, dtype=np.float64) for p in params]
    first = [np.zeros_like(p) for p in theta]  # momentum / first moment
    first_mag = [np.zeros_like(p) for p in theta]
    second = [np.zeros_like(p) for p in theta]  # cache / second moment
    bound = [np.zeros_like(p) for p in theta]
    history: list[list[np.ndarray]] = []
    bounds: list[list[np.ndarray]] = []
    for t, step_grads in enumerate(grads):
        lr_t = lr / (1.0 + decay * t)
        for j, g in enumerate(step_grads):
            if kind == "sgd":
                mu = hp.get("momentum", 0.0)
                if mu:
                    first[j] = mu * first[j] - lr_t * g
                    first_mag[j] = mu * first_mag[j] + lr_t * np.abs(g)
                    delta, mag = first[j], first_mag[j]
                else:
                    delta, mag = -lr_t * g, lr_t * np.abs(g)
            elif kind in ("adagrad", "rmsprop"):
                if kind == "adagrad":
                    second[j] = second[j] + g * g
                else:
                    rho = hp["rho"]
                    second[j] = rho * second[j] + (1.0 - rho) * g * g
                delta = -lr_t * g / (np.sqrt(second[j]) + eps)
                mag = np.abs(delta)
            elif kind == "adam":
                b1, b2 = hp["beta_1"], hp["beta_2"]
                first[j] = b1 * first[j] + (1.0 - b1) * g
                first_mag[j] = b1 * first_mag[j] + (1.0 - b1) * np.abs(g)
                second[j] = b2 * second[j] + (1.0 - b2) * g * g
                denom = np.sqrt(second[j] / (1.0 - b2 ** (t + 1))) + eps
                delta = -lr_t * (first[j] / (1.0 - b1 ** (t + 1))) / denom
                mag = lr_t * (first_mag[j] / (1.0 - b1 ** (t + 1))) / denom
            else:
                raise AssertionError(kind)
            theta[j] = theta[j] + delta
            bound[j] = bound[j] + 64 * EPS * (np.abs(theta[j]) + mag)
        history.append([p.copy() for p in theta])
        bounds.append([b.copy() for b in bound])
    state = {"first": first, "second": second, "first_mag": first_mag}
    return history, bounds, state


def _optimizer_variants() -> list[Any]:
    out = []
    for s in SPECS.values():
        if s.family != "optimizer":
            continue
        kind = S.optimizer_kind(s.name)
        variants: dict[str, dict[str, Any]] = {"cases": {}, "decay": {"decay": True},
                                                "tiny": {"tiny": True}}
        if kind == "sgd":
            variants["momentum"] = {"momentum": True}
        for name, kw in variants.items():
            out.append(pytest.param(s, kw, id=f"{s.name}-{name}"))
    return out


OPTIMIZER_VARIANTS = _optimizer_variants()


@pytest.mark.parametrize(("spec", "variant"), OPTIMIZER_VARIANTS)
@given(data=st.data())
def test_optimizer_steps_follow_the_closed_form_recurrences(
    spec: Spec, variant: dict[str, Any], data: st.DataObject
) -> None:
    kind = S.optimizer_kind(spec.name)
    case = draw(data, lambda: S.optimizer_cases(kind=kind, **variant), "case")
    assert case.weights is not None and case.biases is not None
    grads = [list(pair) for pair in zip(case.extra["dweights"], case.extra["dbiases"],
                                        strict=True)]
    history, bounds, state = expected_trajectory(
        kind, case.ctor, [case.weights, case.biases], grads
    )
    layer, (opt, got) = P.run_optimizer(context(spec), spec.reference, case, [])
    for step, ((w, b), exp, bnd) in enumerate(zip(got, history, bounds, strict=True), start=1):
        for name, value, e, tol in (("weights", w, exp[0], bnd[0]), ("biases", b, exp[1], bnd[1])):
            err = np.abs(np.asarray(value) - e)
            log_worst(spec.name, name, "recurrence",
                      (float(err.max()), 0.0, float(np.max(err / np.maximum(tol, 1e-300)))))
            assert np.all(err <= tol), (
                f"{spec.name} {case.ctor}: {name} after step {step} differ by "
                f"{float(np.max(err - tol)):.3g} beyond the bound; got {value}, expected {e}"
            )
    k = len(grads)
    assert opt.iterations == k
    lr_last = case.ctor["learning_rate"] / (1.0 + case.ctor.get("decay", 0.0) * (k - 1))
    assert abs(opt.current_learning_rate - lr_last) <= 4 * EPS * lr_last
    state_attrs = {
        "sgd": {"first": ("weight_momentums", "bias_momentums")},
        "adagrad": {"second": ("weight_cache", "bias_cache")},
        "rmsprop": {"second": ("weight_cache", "bias_cache")},
        "adam": {"first": ("weight_momentums", "bias_momentums"),
                 "second": ("weight_cache", "bias_cache")},
    }[kind]
    for which, names in state_attrs.items():
        if kind == "sgd" and not case.ctor.get("momentum"):
            continue
        for j, attr in enumerate(names):
            exp_state = state[which][j]
            # relative to the state's magnitude (the same recurrence on |g|): a first
            # moment can cancel, a sum of squares cannot
            mag = state["first_mag"][j] if which == "first" else np.abs(exp_state)
            err = np.abs(np.asarray(getattr(layer.obj, attr)) - exp_state)
            assert np.all(err <= 64 * EPS * k * mag), f"{spec.name}.{attr}: {err}"


# --------------------------------------------------------------------------- the Loss base


@pytest.mark.parametrize("spec", LOSS_BASE_SPECS)
@given(data=st.data())
def test_calculate_is_the_mean_and_regularization_loss_the_penalty(
    spec: Spec, data: st.DataObject
) -> None:
    """calculate() averages forward()'s per-sample losses; regularization_loss() is
    l1*sum|w| + l2*sum(w^2) for weights and biases (each term with its own lambda), per
    layer or summed over remembered layers -- written out here, term by term."""
    case = draw(data, spec.cases, "case")
    ctx = context(spec)
    P.calculate_is_the_mean(ctx, case)
    total, magnitude = 0.0, 0.0
    layers = []
    for c in case.extra["layers"]:
        layer = SPECS["Layer_Dense"].reference(
            1, 1, **{k: v for k, v in c.ctor.items() if "regularizer" in k}
        )
        layer.weights, layer.biases = np.array(c.weights), np.array(c.biases)
        layers.append(layer)
        w, b, k = c.weights, c.biases, c.ctor
        terms = [
            k["weight_regularizer_l1"] * np.abs(w), k["weight_regularizer_l2"] * w * w,
            k["bias_regularizer_l1"] * np.abs(b), k["bias_regularizer_l2"] * b * b,
        ]
        one = sum(float(np.sum(t)) for t in terms)
        size = sum(t.size for t in terms)
        tol = nm.Tolerance(0.0, 4 * size * EPS * one + 1e-300, "a sum of nonnegative terms")
        assert_close(spec.reference().regularization_loss(layer), one, tol, "one layer")
        total += one
        magnitude += size * one
    loss = spec.reference()
    loss.remember_trainable_layers(layers)
    tol = nm.Tolerance(0.0, 4 * EPS * magnitude + 1e-300, "a sum of nonnegative terms")
    assert_close(loss.regularization_loss(), total, tol, "remembered layers")
