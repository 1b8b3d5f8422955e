"""Finite differences, a second opinion, a kink guard and the tolerance model.

Everything here computes in float64 with ``@``/``np.matmul``-free elementwise code
and never calls ``np.dot``, one-argument ``np.zeros``/``np.eye`` or
``np.random.randn``: those are the functions ``nnfs.init()`` patches to return
float32, and a user's module may have called it in this process.

The quantity differentiated is always a vector-Jacobian product: for a function
``fn`` from an array ``x`` to an array ``out`` and an upstream gradient ``G`` of
``out``'s shape, the numeric gradient is ``d/dx <G, fn(x)>``.  A random Gaussian
``G`` (never all ones, which hides transposes and swapped axes) makes one VJP
see every entry of the Jacobian.

Structure (compressed finite differences, in the spirit of Curtis, Powell and
Reid's column grouping): when ``out[i]`` depends only on ``x[i]`` (row
separability: a sample's output depends only on that sample) all rows of a
column can be perturbed at once and read back from per-row partial sums; when
``out[:, b]`` depends only on ``x[:, b]`` (a Dense weight column reaches only
its output column) all columns of a row can.  A d-by-n grid then costs n (or d)
pairs of evaluations instead of d*n, and still sees a wrong single entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

EPS64 = float(np.finfo(np.float64).eps)
EPS32 = float(np.finfo(np.float32).eps)

#: Central differences balance truncation error ~h^2 |f'''| against rounding
#: error ~eps |f| / h; the optimum step is h ~ eps^(1/3) times the scale of x.
CENTRAL_STEP = EPS64 ** (1.0 / 3.0)  # 6.06e-6
#: The 5-point stencil has truncation error ~h^4, so its optimum is eps^(1/5).
FIVE_POINT_STEP = EPS64 ** (1.0 / 5.0)  # 7.4e-4

Separable = Literal["rows", "columns"] | None
Fn = Callable[[np.ndarray], np.ndarray]


def step_sizes(
    x: np.ndarray, base: float = CENTRAL_STEP, *, length: np.ndarray | None = None
) -> np.ndarray:
    """Per-element steps ``base * L``, rounded so that ``x + h`` is exact.

    ``L`` is the length over which the function changes character near each
    element: ``max(1, |x|)`` by default; for a function with a singularity
    (``-log p`` at ``p = 0``) pass the distance to it, since its third derivative
    grows like ``1 / distance^3`` and a step of fixed size then truncates badly.
    Rounding the step through ``(x + h) - x`` removes the representation error
    of the perturbed point from the difference quotient.
    """
    x = np.asarray(x, dtype=np.float64)
    L = np.maximum(1.0, np.abs(x)) if length is None else np.asarray(length, dtype=np.float64)
    h = base * L
    return (x + h) - x


def _total(out: Any, upstream: np.ndarray) -> float:
    """<G, out> as a Python float (the unstructured case: one number per evaluation)."""
    if type(out) is float and upstream.ndim == 0:  # a scalar function: no array work
        return float(upstream) * out
    if upstream.ndim == 0:
        o = np.asarray(out, dtype=np.float64)
        return float(upstream) * (float(o) if o.ndim == 0 else float(o.sum()))
    o = np.asarray(out, dtype=np.float64)
    if o.shape == upstream.shape:  # '@', not np.dot, which nnfs.init() may have patched
        return float(upstream.reshape(-1) @ o.reshape(-1))
    return float((upstream * o).sum())


def _magnitude(out: Any, upstream: np.ndarray) -> float:
    """sum |G * out|: the size of the differenced quantity, for the rounding bound."""
    return float(np.abs(upstream * np.asarray(out, dtype=np.float64)).sum())


def _reduce(out: np.ndarray, upstream: np.ndarray, separable: Separable) -> np.ndarray:
    """<G, out> summed fully, per row, or per column."""
    out = np.asarray(out, dtype=np.float64)
    if out.ndim == 2 and upstream.shape == out.shape:  # the common case, without temporaries
        if separable == "rows":
            return np.einsum("ij,ij->i", upstream, out)
        if separable == "columns":
            return np.einsum("ij,ij->j", upstream, out)
        return np.asarray(np.einsum("ij,ij->", upstream, out))
    prod = np.asarray(upstream, dtype=np.float64) * out
    if separable is None:
        return np.asarray(prod.sum())
    if separable == "rows":
        return prod.reshape(prod.shape[0], -1).sum(axis=1)
    return prod.reshape(-1, prod.shape[-1]).sum(axis=0)


def _groups(shape: tuple[int, ...], separable: Separable) -> list[tuple[object, ...]]:
    """Index tuples of the elements perturbed together in one evaluation.

    Plain slices, not boolean masks: indexing with them is a view, and the
    readings of a group come back in the order the slice walks its elements.
    """
    if len(shape) == 0:
        return [()]
    if separable == "rows" and len(shape) >= 2:  # one column of every row at once
        return [(slice(None),) + tuple(np.unravel_index(j, shape[1:])) for j in
                range(int(np.prod(shape[1:])))]
    if separable == "columns" and len(shape) >= 2:  # one row of every column at once
        return [(r,) for r in range(shape[0])]
    if separable is not None:  # 1-D: every element is its own row (or column)
        return [(slice(None),)]
    return [tuple(np.unravel_index(f, shape)) for f in range(int(np.prod(shape)))]


def numeric_vjp(
    fn: Fn,
    x: np.ndarray,
    upstream: np.ndarray,
    *,
    separable: Separable = None,
    stencil: Literal[3, 5] = 3,
    step: float | None = None,
    length: np.ndarray | None = None,
) -> np.ndarray:
    """``d/dx <upstream, fn(x)>`` by central differences, element by element.

    * ``separable``: ``"rows"`` when ``fn(x)[i]`` depends only on ``x[i]``,
      ``"columns"`` when ``fn(x)[..., b]`` depends only on ``x[..., b]``, ``None``
      for no structure.  A wrong claim gives wrong numbers, so the spec table
      states it once per component and the suite tests it.
    * ``stencil``: 3 (``(f(x+h) - f(x-h)) / 2h``, error O(h^2)) or 5 (error O(h^4)).
    * ``step``: the base step; the default is the stencil's optimum for float64.
    * ``length``: per-element lengths the step is a fraction of (see :func:`step_sizes`).

    ``fn`` gets one working copy of ``x``, perturbed in place and restored.
    """
    return _vjp(fn, x, upstream, separable, stencil, step, length)[0]


def _vjp(
    fn: Fn, x: np.ndarray, upstream: np.ndarray, separable: Separable, stencil: int,
    step: float | None, length: np.ndarray | None,
) -> tuple[np.ndarray, float, float]:
    """numeric_vjp, plus sum|G * fn| read off the first evaluation and the smallest step."""
    x = np.array(x, dtype=np.float64)
    upstream = np.asarray(upstream, dtype=np.float64)
    base = step if step is not None else (CENTRAL_STEP if stencil == 3 else FIVE_POINT_STEP)
    h = step_sizes(x, base, length=length)
    grad = np.zeros(x.shape, dtype=np.float64)
    offsets, weights, den = ((1.0, -1.0), (1.0, -1.0), 2.0) if stencil == 3 else (
        (2.0, 1.0, -1.0, -2.0), (-1.0, 8.0, -8.0, 1.0), 12.0)
    xp = x.copy()
    scale: float | None = None
    if separable is None or x.ndim == 0:
        # One element per group: plain floats and a flat view, so that the cost per
        # evaluation is the function's own.
        xf, x0, hf, gf = xp.reshape(-1), x.reshape(-1), h.reshape(-1), grad.reshape(-1)
        for i in range(x0.size):
            xi, hi = float(x0[i]), float(hf[i])
            total = 0.0
            for k, w in zip(offsets, weights, strict=True):
                xf[i] = xi + k * hi
                out = fn(xp)
                # read the result before restoring: fn's output may be a view of xp
                total += w * _total(out, upstream)
                if scale is None:
                    scale = _magnitude(out, upstream)
            xf[i] = xi
            gf[i] = total / (den * hi)
    else:
        idx: Any
        for idx in _groups(x.shape, separable):
            num: Any = 0.0
            for k, w in zip(offsets, weights, strict=True):
                xp[idx] = x[idx] + k * h[idx]
                out = fn(xp)
                num = num + w * _reduce(out, upstream, separable)
                if scale is None:
                    scale = _magnitude(out, upstream)
                xp[idx] = x[idx]
            grad[idx] = np.reshape(num, np.shape(grad[idx])) / (den * h[idx])
    if scale is None:  # x has no elements: nothing was evaluated
        scale = 0.0
    return grad, scale, float(h.min()) if h.size else base


def certify(
    fn: Fn,
    x: np.ndarray,
    upstream: np.ndarray,
    grad: np.ndarray,
    *,
    separable: Separable = None,
    stencil: Literal[3, 5] = 3,
    length: np.ndarray | None = None,
) -> tuple[Comparison, np.ndarray]:
    """The element-wise certificate: ``grad`` against :func:`numeric_vjp`, with
    :func:`fd_tolerance` set from the evaluations themselves (no extra call of ``fn``).

    Sees a wrong single entry, unlike :func:`directional_screen`.  Returns the
    comparison and the numeric gradient.
    """
    num, scale, h_min = _vjp(fn, x, upstream, separable, stencil, None, length)
    return compare(grad, num, fd_tolerance(scale, stencil=stencil, step=h_min)), num


def scipy_vjp(
    fn: Fn, x: np.ndarray, upstream: np.ndarray, *, initial_step: np.ndarray | None = None
) -> np.ndarray:
    """The same VJP by ``scipy.differentiate.derivative`` (adaptive Richardson steps).

    A second, independent numerical method: it chooses its own steps and order,
    so a bug shared with :func:`numeric_vjp` (a wrong step, a wrong grouping)
    does not hide behind agreement.  Unstructured and slow: small inputs only.

    ``initial_step`` (x's shape): SciPy's first and largest step per element;
    by default ``0.05 * max(1, |x|)``.  Pass at most half the distance to the
    nearest kink to keep every abscissa on the kink's smooth side.
    """
    from scipy.differentiate import derivative

    x = np.array(x, dtype=np.float64)
    upstream = np.asarray(upstream, dtype=np.float64)
    flat_x = x.ravel()

    def f(t: np.ndarray, element: np.ndarray) -> np.ndarray:
        # t has shape (m,) + extra: one abscissa per stencil point for each of the m
        # elements not yet converged; ``element`` (shape (m,) + ones) says which element
        # of x each row is.  SciPy drops converged elements from both, so the row
        # number alone does not identify the element.
        t = np.asarray(t, dtype=np.float64)
        extra = t.shape[1:]
        cols = t.reshape(t.shape[0], -1)
        which = np.asarray(element).reshape(-1)
        res = np.empty(cols.shape, dtype=np.float64)
        for r in range(cols.shape[0]):
            e = int(which[r])
            for c in range(cols.shape[1]):
                xp = flat_x.copy()
                xp[e] = cols[r, c]
                res[r, c] = float(_reduce(fn(xp.reshape(x.shape)), upstream, None))
        return res.reshape((t.shape[0],) + extra)

    # initial_step ~ 0.05*max(1,|x|): large enough that rounding does not dominate
    # the first Richardson levels; the iteration refines it (step_factor 2).
    if initial_step is None:
        first = 0.05 * np.maximum(1.0, np.abs(flat_x))
    else:
        first = np.broadcast_to(np.asarray(initial_step, dtype=np.float64), x.shape).ravel()
    res = derivative(
        f,
        flat_x,
        args=(np.arange(flat_x.size),),
        initial_step=first,
        tolerances={"rtol": 1e-10, "atol": 1e-12},
        maxiter=8,
    )
    return np.asarray(res.df, dtype=np.float64).reshape(x.shape)


# --------------------------------------------------------------------------- tolerances


@dataclass(frozen=True)
class Tolerance:
    """``|actual - desired| <= atol + rtol * |desired|`` elementwise (numpy.isclose form).

    Never a pure relative error: gradients that should be ~0 would fail on noise.
    ``why`` says where the constants come from; it is printed with a failure.
    """

    rtol: float
    atol: float
    why: str = ""

    def violations(self, actual: np.ndarray, desired: np.ndarray) -> np.ndarray:
        """Where the bound fails; a NaN on either side always fails (NaN <= x is False)."""
        a = np.asarray(actual, dtype=np.float64)
        d = np.asarray(desired, dtype=np.float64)
        bound = np.abs(d)
        bound *= self.rtol
        bound += self.atol
        return ~(np.abs(a - d) <= bound)


def fd_tolerance(
    scale: float, *, stencil: Literal[3, 5] = 3, step: float | None = None
) -> Tolerance:
    """Tolerance for a central-difference VJP against an analytic float64 gradient.

    ``scale`` bounds ``sum |G * fn(x)|`` over one evaluation (the magnitude of the
    differenced quantity).  Rounding error of a difference quotient is about
    ``eps * scale / h``; truncation error is ``O(h^2)`` (3-point) times third
    derivatives that our strategies keep O(1) by their margins.  With h = 6e-6,
    eps*scale/h ~ 4e-11*scale; we allow 100x that (sums of many terms, the
    per-element step being up to max(1,|x|) larger) plus rtol 1e-6 for truncation
    (h^2 ~ 4e-11 times third derivatives up to 1e4 near the 0.01 probability
    margin).  Real bugs are factors (1/N, 2, -1), many orders above this.
    ``step``: the smallest absolute step taken, when it is below the stencil's
    base step (steps set by ``length``); the rounding bound grows as it shrinks.
    """
    h = CENTRAL_STEP if stencil == 3 else FIVE_POINT_STEP
    if step is not None:
        h = min(h, step)
    rtol, atol = _fd_bounds(scale, h)
    return Tolerance(
        rtol=rtol,
        atol=atol,
        why=f"central differences, h={h:.1e}*max(1,|x|) or smallest step: atol=100*eps*scale/h, "
        "rtol 1e-6 for O(h^2) truncation",
    )


def _fd_bounds(scale: float, h: float) -> tuple[float, float]:
    """(rtol, atol) of :func:`fd_tolerance` for a step ``h``, without building one."""
    return 1e-6, 100.0 * EPS64 * max(scale, 1.0) / h


def analytic_tolerance(
    desired: np.ndarray, dtype: np.dtype | type, *, terms: int = 1, magnitude: float | None = None
) -> Tolerance:
    """Tolerance for comparing a target's analytic result with the reference's.

    Both compute the same formula, possibly in another order (``np.dot`` vs ``@``,
    a Jacobian loop vs a vectorized form) and possibly in float32 (``nnfs.init()``
    makes ``np.dot`` return float32).  The error of a sum of ``terms`` products is
    bounded by ``terms * eps * sum|products|``; we use the array's largest
    magnitude as that sum's proxy, times a factor 64 for the few chained ops each
    component has (a softmax is exp, sum, divide; a loss is clip, log, mean).
    ``magnitude``, when the caller knows it, bounds ``sum|products|`` directly: a
    result that cancels (a softmax backward row sums to zero) is much smaller
    than the terms whose rounding it carries.
    """
    dt = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    eps = _EPS.get(dt.char)
    if eps is None:
        eps = max(float(np.finfo(dt).eps), EPS64) if dt.kind == "f" else EPS64
    d = np.asarray(desired)
    # max|d| over a flat view: NumPy reduces a 1-D array about twice as fast as a
    # 2-D one with axis=None, and this runs once per compared attribute.
    mag = float(np.abs(d.reshape(-1)).max()) if d.size else 1.0
    if not math.isfinite(mag):
        mag = 1.0
    if magnitude is not None and math.isfinite(magnitude):
        mag = max(mag, float(magnitude))
    factor = 64.0 * max(terms, 1)
    return Tolerance(
        rtol=factor * eps,
        atol=factor * eps * max(mag, 1e-300),
        why=_AnalyticWhy(dt, max(terms, 1), factor * eps),  # type: ignore[arg-type]
    )


_EPS = {"d": EPS64, "f": EPS32, "e": float(np.finfo(np.float16).eps)}


class _AnalyticWhy(str):
    """The explanation of an analytic tolerance, formatted only when a failure prints it."""

    _args: tuple[np.dtype, int, float]

    def __new__(cls, dtype: np.dtype, terms: int, rtol: float) -> _AnalyticWhy:
        self = super().__new__(cls, "")
        self._args = (dtype, terms, rtol)
        return self

    def __str__(self) -> str:
        dtype, terms, rtol = self._args
        what = "1 term" if terms == 1 else f"{terms} terms"
        return (f"{dtype.name} rounding: |got - expected| <= {rtol:.1e} * (|expected| + "
                f"max|expected|), i.e. 64 x {what} x eps")

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


# --------------------------------------------------------------------------- kinks


def crosses_kink(distance: np.ndarray, x: np.ndarray, *, stencil: Literal[3, 5] = 3) -> np.ndarray:
    """Elements whose finite-difference stencil reaches across a kink.

    ``distance`` is each element's distance (in its own coordinate) to the
    nearest point where the function is not differentiable (ReLU at 0, |y-p| at
    0, L1 at w=0, the clip bounds).  A stencil spans ``2h`` (5-point) or ``h``.
    """
    base = CENTRAL_STEP if stencil == 3 else FIVE_POINT_STEP
    reach = (2.0 if stencil == 5 else 1.0) * step_sizes(x, base)
    return np.asarray(distance) <= reach


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Where two arrays disagree, summarised for a failure message."""

    ok: bool
    n_bad: int = 0
    size: int = 0
    worst_index: tuple[int, ...] = ()
    expected: float = 0.0
    got: float = 0.0
    abs_err: float = 0.0
    rel_err: float = 0.0
    ratio: float | None = None  # median got/expected over the bad elements
    tolerance: Tolerance | None = None
    extra: dict[str, object] = field(default_factory=dict)


def compare(actual: np.ndarray, desired: np.ndarray, tol: Tolerance) -> Comparison:
    a = np.asarray(actual, dtype=np.float64)
    d = np.asarray(desired, dtype=np.float64)
    # The common case first, in as few array operations as possible (on flat views:
    # NumPy reduces 1-D arrays faster); the summary of a disagreement is only worked
    # out when there is one.
    if a.shape == d.shape:
        fa, fd = a.reshape(-1), d.reshape(-1)
        err = np.abs(fa - fd)
        # max error within atol passes everywhere (the bound is atol + rtol*|d| >= atol):
        # one reduction, enough for analytic tolerances, whose atol is rtol*max|d|.
        if fd.size == 0 or err.max() <= tol.atol:
            return Comparison(True, 0, int(a.size), tolerance=tol)
        if tol.rtol != 0.0:
            bound = np.abs(fd)
            bound *= tol.rtol
            bound += tol.atol
            if (err <= bound).all():
                return Comparison(True, 0, int(a.size), tolerance=tol)
    bad = tol.violations(a, d)
    err = np.where(bad, np.abs(a - d), -1.0)
    err = np.where(np.isnan(err), np.inf, err)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), a.shape))
    e, g = float(d[idx]), float(a[idx])
    abs_err = abs(g - e)
    rel = abs_err / abs(e) if e != 0 else float("inf")
    sel = bad & (np.abs(d) > 1e-12 * max(1.0, float(np.max(np.abs(d)))))
    ratio = float(np.median(a[sel] / d[sel])) if sel.any() else None
    return Comparison(False, int(bad.sum()), int(a.size), idx, e, g, abs_err, rel, ratio, tol)


# --------------------------------------------------------------------------- directional screen

_DIRECTIONS: dict[tuple[tuple[int, ...], int], tuple[np.ndarray, np.ndarray, float]] = {}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.max(np.abs(v))), 1e-300)


def _direction(shape: tuple[int, ...], k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The k-th fixed Gaussian direction for a shape, flat, with its absolute values and
    its 1-norm (made once: creating a NumPy generator costs more than a small layer's
    whole forward pass)."""
    key = (tuple(shape), k)
    got = _DIRECTIONS.get(key)
    if got is None:
        got = _DIRECTIONS[key] = _flat_direction(
            _unit(np.random.default_rng(k).standard_normal(shape)))
    return got


def _flat_direction(v: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    flat = v.reshape(-1)
    mag = np.abs(flat)
    return flat, mag, float(mag.sum())


def directional_screen(
    fn: Callable[[np.ndarray], Any],
    x: np.ndarray,
    upstream: np.ndarray,
    grad: np.ndarray,
    *,
    rng: np.random.Generator | None = None,
    directions: int = 1,
    scale: float | None = None,
) -> tuple[bool, float, float]:
    """A fast screen: compare ``<grad, v>`` with the central difference of
    ``<G, fn(x)>`` along random Gaussian directions ``v`` (two evaluations each).

    Sees any error whose projection on ``v`` is large, but an error ``e`` in one
    of ``n`` entries shows only as about ``e/sqrt(n)``: a screen, not a
    certificate (:func:`numeric_vjp` is the certificate).  Returns
    ``(ok, numeric, analytic)`` for the last direction tried.

    To screen several parameters at once, pass a function of one flat vector of
    all of them (one direction through every parameter: two evaluations in all).
    ``scale``: ``sum|G * fn(x)|`` (it sets the tolerance); by default it is read off
    the two perturbed evaluations, which have that magnitude to O(h).
    """
    x = np.asarray(x, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64).reshape(-1)
    up = np.asarray(upstream, dtype=np.float64)
    weighted = not (up.ndim == 0 and float(up) == 1.0)
    # max(1, |x|_inf) without the temporary array np.abs(x) would make
    scale_x = max(1.0, float(x.max()), -float(x.min())) if x.size else 1.0
    h = CENTRAL_STEP * scale_x
    ok, num, ana = True, 0.0, 0.0
    # '@' (matmul), not np.dot: nnfs.init() may have patched np.dot to return float32.
    for k in range(directions):
        if rng is None:
            v, v_abs, v1 = _direction(x.shape, k)
        else:
            v, v_abs, v1 = _flat_direction(_unit(rng.standard_normal(x.shape)))
        hv = h * v.reshape(x.shape)
        out_p, out_m = fn(x + hv), fn(x - hv)
        if not weighted and np.ndim(out_p) == 0:  # a scalar function: no array work
            f_p, f_m = float(out_p), float(out_m)
            num, mag = (f_p - f_m) / (2.0 * h), abs(f_p)
        else:
            out_p = np.asarray(out_p, dtype=np.float64)
            out_m = np.asarray(out_m, dtype=np.float64)
            if weighted:
                out_p, out_m = up * out_p, up * out_m
            out_p, out_m = out_p.reshape(-1), out_m.reshape(-1)
            # the two sums are differenced: one reduction over their difference
            num = float((out_p - out_m).sum()) / (2.0 * h)
            mag = float(np.abs(out_p).sum())
        ana = float(g @ v)
        if scale is None:  # the perturbed outputs have the magnitude of fn(x), to O(h)
            scale = mag
        rtol, atol = _fd_bounds(scale, CENTRAL_STEP)
        # |v|_1 bounds how many entries' errors add up in <grad, v>; the bound's
        # relative part is rtol * sum|grad * v|, which is at least rtol * |ana|: a
        # difference within the smaller bound passes without computing the larger.
        err = abs(num - ana)
        if err <= atol * v1 + rtol * abs(ana):
            continue
        if not err <= atol * v1 + rtol * float(np.abs(g) @ v_abs):
            ok = False
            break
    return ok, num, ana


def one_sided_slopes(fn: Fn, x: np.ndarray, upstream: np.ndarray, index: tuple[int, ...],
                     ) -> tuple[float, float]:
    """The forward and backward difference quotients of ``<upstream, fn(x)>`` in one element:
    equal to O(h) where the function is smooth there, apart by the jump of its slope where
    a kink lies within the step (a ReLU-like point, a tie in a maximum, Huber's corner)."""
    x = np.array(x, dtype=np.float64)
    up = np.asarray(upstream, dtype=np.float64)
    h = float(step_sizes(x[index], CENTRAL_STEP))
    mid = _total(fn(x.copy()), up)
    xp = x.copy()
    xp[index] = x[index] + h
    plus = _total(fn(xp), up)
    xp[index] = x[index] - h
    minus = _total(fn(xp), up)
    return (plus - mid) / h, (mid - minus) / h


def at_kink(left: float, right: float, atol: float) -> bool:
    """Do two one-sided slopes differ by more than their rounding (``atol``, the
    tolerance of one central difference) and O(h) curvature allow?  Then the step crossed
    a kink: the element has no derivative there to compare."""
    return abs(right - left) > 1e-3 * (abs(left) + abs(right)) + 1e3 * atol
