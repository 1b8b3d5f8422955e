"""Comparing what the class under test gives with what is expected: shapes, finite
values, the tolerance sized for each result (its dtype, the terms one entry sums, their
magnitude), and the message of a mismatch with its likely cause."""

from __future__ import annotations

from typing import Any

import numpy as np

from oracle import numerics as nm
from oracle.context import Context, Mismatch
from oracle.diagnose import shape_cause, value_cause
from oracle.spec import Case, Spec

__all__ = ["assert_matches", "known_bug"]


def _array(x: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as e:  # a ragged list
        raise Mismatch(f"{what} is not an array: {type(x).__name__} ({e})") from None
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise Mismatch(f"{what} is not a numeric array (dtype {arr.dtype})")
    return arr


def assert_matches(
    ctx: Context,
    got: Any,
    expected: np.ndarray,
    what: str,
    case: Case,
    *,
    tol: nm.Tolerance | None = None,
    terms: int = 1,
    magnitude: float | None = None,
) -> None:
    """``got`` (the class under test) against ``expected`` (the reference or numerics)."""
    g = _array(got, what)
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        cause = shape_cause(g.shape, e.shape, what.split()[0])
        raise Mismatch(
            f"{what} has shape {g.shape}, expected {e.shape}",
            hint=cause,
            details={"got_shape": list(g.shape), "expected_shape": list(e.shape)},
        )
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(g))[0])
        raise Mismatch(
            f"{what} contains {g[idx]} at index {idx} where {e[idx]:.6g} was expected",
            hint=_non_finite_cause(ctx.spec),
            details={"worst_index": list(idx)},
        )
    if tol is None:
        if magnitude is None:
            magnitude = _magnitude(ctx, case, what.split()[0])
        dtype = g.dtype if g.dtype.kind == "f" else np.float64
        tol = nm.analytic_tolerance(e, dtype, terms=terms, magnitude=magnitude)
        if ctx.eps_floor > nm.EPS64 and tol.rtol < 64 * ctx.eps_floor * max(terms, 1):
            tol = nm.analytic_tolerance(e, np.float32, terms=terms, magnitude=magnitude)
    cmp = nm.compare(g, e, tol)
    if cmp.ok:
        return
    # an exact match with a known wrong formula is the stronger statement
    cause = known_bug(ctx.spec, what.split()[0], g, case) or value_cause(
        g, e, samples=case.samples, outputs=case.outputs, component=ctx.spec.name
    )
    raise Mismatch(
        f"{what}: {cmp.n_bad} of {cmp.size} values differ; worst at index {cmp.worst_index}: "
        f"expected {cmp.expected:.10g}, got {cmp.got:.10g} "
        f"(abs err {cmp.abs_err:.3g}, rel err {cmp.rel_err:.3g}; tolerance: {tol.why})",
        hint=cause,
        details={
            "worst_index": list(cmp.worst_index), "expected": cmp.expected, "got": cmp.got,
            "abs_err": cmp.abs_err, "rel_err": cmp.rel_err, "n_bad": cmp.n_bad,
            "rtol": tol.rtol, "atol": tol.atol,
        },
    )


def _non_finite_cause(spec: Spec) -> str:
    if "non_finite" in spec.hints:
        return spec.hints["non_finite"]
    if spec.family == "loss":
        return ("log(0) or a division by 0: clip the predictions to [1e-7, 1 - 1e-7] "
                "(np.clip) before taking logs or dividing")
    if spec.family == "optimizer":
        return ("a division by zero in the update: a denominator that is 0 at the first step "
                "(1 - beta**iterations while iterations is 0, or sqrt(cache) without epsilon)")
    return "an overflow or a division by zero"


def known_bug(spec: Spec, what: str, got: np.ndarray, case: Case) -> str:
    """Recognise the exact output of a common wrong formula (the spec's known slips)."""
    if spec.known_slips is None or case.inputs is None or case.dvalues is None \
            or what != "dinputs" or got.shape != np.shape(case.dvalues):
        return ""
    for alt, hint in spec.known_slips(case):
        if np.allclose(got, alt, rtol=1e-6, atol=1e-9):
            return hint
    return ""


def _terms(ctx: Context, case: Case, attr: str) -> int:
    """How many products one entry of a Dense result sums (for the tolerance)."""
    if ctx.spec.family != "dense" or case.weights is None:
        return 1
    n_in, n_out = case.weights.shape
    return {"output": n_in, "dinputs": n_out, "dweights": case.samples or 1,
            "dbiases": case.samples or 1}.get(attr, 1)


def _magnitude(ctx: Context, case: Case, attr: str) -> float | None:
    """An upper bound of sum|products| behind one entry of a result (see analytic_tolerance)."""

    def m(a: Any) -> float:
        return float(np.max(np.abs(a))) if a is not None and np.size(a) else 0.0

    fam = ctx.spec.family
    if fam == "dense" and case.weights is not None:
        n_in, n_out = case.weights.shape
        n = case.samples or 1
        data = {
            "output": m(case.inputs) * m(case.weights) * n_in + m(case.biases),
            "dinputs": m(case.dvalues) * m(case.weights) * n_out,
            "dweights": m(case.inputs) * m(case.dvalues) * n,
            "dbiases": m(case.dvalues) * n,
        }.get(attr)
        return None if data is None else data + _reg_magnitude(case, attr)
    if fam == "activation" and attr == "output" and ctx.spec.bounded_output:
        # probabilities formed from quantities of size >= 1 (1 + e^-x; a row sum whose
        # largest term is 1): another exact formula (0.5 * (1 + tanh(x / 2)), exp(z -
        # logsumexp)) rounds by eps in absolute terms, so a value of 1e-114 may come out 0
        return 1.0
    if fam in ("activation", "dropout") and attr == "dinputs":
        # derivatives of ReLU, sigmoid and softmax are bounded by 1 per term
        # (dropout's mask by 1/(1 - rate))
        keep = 1.0 - float(case.ctor.get("rate", 0.0))
        return m(case.dvalues) * (case.outputs or 1) / max(keep, 1e-3)
    n = case.samples or 1
    if fam == "loss":
        # MSE's y - p can cancel: the rounding it carries is that of |y| + |p|
        yp = m(case.y) + m(case.inputs)
        return {"dinputs": 2.0 * yp / n, "output": yp * yp}.get(attr)
    if fam == "combined" and attr == "dinputs":
        return 1.0 / n
    return None


def _reg_magnitude(case: Case, attr: str) -> float:
    c = case.ctor
    if attr == "dweights":
        p = case.weights
        l1, l2 = c.get("weight_regularizer_l1", 0), c.get("weight_regularizer_l2", 0)
    elif attr == "dbiases":
        p = case.biases
        l1, l2 = c.get("bias_regularizer_l1", 0), c.get("bias_regularizer_l2", 0)
    else:
        return 0.0
    return float(l1) + 2.0 * float(l2) * (float(np.max(np.abs(p))) if p is not None else 0.0)
