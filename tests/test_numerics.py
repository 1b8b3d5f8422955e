"""Tests of :mod:`oracle.numerics`: finite differences with and without structure, the
5-point stencil, the SciPy second opinion, the tolerance model and the kink guard.

The functions differentiated here have gradients known in closed form, so every
numeric result is compared with an exact answer, not with another estimate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from oracle import numerics as nm
from oracle import strategies as nst

EPS = nm.EPS64

# --------------------------------------------------------------------------- test functions

# Each: (fn, its VJP in closed form, the structure it has).  Smooth, with third
# derivatives O(1) on [-3, 3], as the fd_tolerance model assumes.
M = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5], [-0.8, 0.9, 0.2], [0.6, -0.3, 1.4]])


def rows_fn(x: np.ndarray) -> np.ndarray:
    """out[i] depends on x[i] only (a layer applied to a batch)."""
    return np.sin(x @ M) + x[:, :1] ** 2


def rows_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    d = (g * np.cos(x @ M)) @ M.T
    d[:, :1] += 2 * x[:, :1] * g.sum(axis=1, keepdims=True)
    return d


X_IN = np.array([[0.5, -1.0, 2.0, 0.1], [1.5, 0.3, -0.7, -2.2]])


def cols_fn(w: np.ndarray) -> np.ndarray:
    """out[:, b] depends on w[:, b] only (Dense weights: output column b uses column b)."""
    return np.tanh(X_IN @ w)


def cols_vjp(w: np.ndarray, g: np.ndarray) -> np.ndarray:
    return X_IN.T @ (g * (1 - np.tanh(X_IN @ w) ** 2))


def coupled_fn(x: np.ndarray) -> np.ndarray:
    """No structure: every output depends on every input."""
    return x * np.sum(x**2)


def coupled_vjp(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    return g * np.sum(x**2) + 2 * x * np.sum(g * x)


def _scale(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, g: np.ndarray) -> float:
    return float(np.sum(np.abs(g * fn(x))))


def _assert_close(actual: np.ndarray, desired: np.ndarray, tol: nm.Tolerance, what: str) -> None:
    cmp = nm.compare(actual, desired, tol)
    assert cmp.ok, (f"{what}: worst at {cmp.worst_index}: got {cmp.got!r}, expected "
                    f"{cmp.expected!r} ({tol.why})")


# --------------------------------------------------------------------------- numeric_vjp


@given(x=nst.inputs((5, 4)), g=nst.upstream_gradients((5, 3)))
def test_row_grouping_equals_the_unstructured_vjp_and_the_exact_one(
    x: np.ndarray, g: np.ndarray
) -> None:
    grouped = nm.numeric_vjp(rows_fn, x, g, separable="rows")
    single = nm.numeric_vjp(rows_fn, x, g)
    tol = nm.fd_tolerance(_scale(rows_fn, x, g))
    _assert_close(grouped, single, tol, "rows vs unstructured")
    _assert_close(grouped, rows_vjp(x, g), tol, "rows vs exact")
    _assert_close(single, rows_vjp(x, g), tol, "unstructured vs exact")


@given(w=nst.inputs((4, 3), scale=1.0), g=nst.upstream_gradients((2, 3)))
def test_column_grouping_equals_the_unstructured_vjp_and_the_exact_one(
    w: np.ndarray, g: np.ndarray
) -> None:
    grouped = nm.numeric_vjp(cols_fn, w, g, separable="columns")
    single = nm.numeric_vjp(cols_fn, w, g)
    tol = nm.fd_tolerance(_scale(cols_fn, w, g))
    _assert_close(grouped, single, tol, "columns vs unstructured")
    _assert_close(grouped, cols_vjp(w, g), tol, "columns vs exact")


def test_a_wrong_separability_claim_gives_wrong_numbers() -> None:
    """Why the table's claims are tested: grouping a coupled function is not harmless."""
    rng = np.random.default_rng(3)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    exact = coupled_vjp(x, g)
    tol = nm.fd_tolerance(_scale(coupled_fn, x, g))
    _assert_close(nm.numeric_vjp(coupled_fn, x, g), exact, tol, "unstructured")
    for claim in ("rows", "columns"):
        assert not nm.compare(nm.numeric_vjp(coupled_fn, x, g, separable=claim), exact, tol).ok


def test_one_dimensional_and_scalar_outputs() -> None:
    x = np.array([0.3, -1.2, 2.0])
    _assert_close(nm.numeric_vjp(lambda v: np.asarray(np.sum(np.sin(v))), x, np.asarray(1.0)),
                  np.cos(x), nm.fd_tolerance(3.0), "scalar output")
    g = np.array([1.0, -2.0, 0.5])
    _assert_close(nm.numeric_vjp(np.exp, x, g, separable="rows"), g * np.exp(x),
                  nm.fd_tolerance(_scale(np.exp, x, g)), "1-D rows")


def test_the_callers_array_is_left_alone_and_views_are_read_in_time() -> None:
    """fn may return a view of the array it is handed (an identity layer does)."""
    x = np.array([[0.5, -1.0], [2.0, 3.0]])
    before = x.copy()
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    for sep in (None, "rows", "columns"):
        got = nm.numeric_vjp(lambda v: v, x, g, separable=sep)  # type: ignore[arg-type]
        _assert_close(got, g, nm.fd_tolerance(_scale(lambda v: v, x, g)), f"identity {sep}")
    assert np.array_equal(x, before)


def test_a_scalar_function_returning_a_python_float() -> None:
    x = np.array([0.3, -1.2, 2.0])
    _assert_close(nm.numeric_vjp(lambda v: float(np.sum(np.sin(v))), x, np.asarray(2.0)),
                  2.0 * np.cos(x), nm.fd_tolerance(6.0), "float output")


@given(p=nst.probability_rows(4, 5, floor=1e-3), labels=st.lists(st.integers(0, 4), min_size=4,
                                                                max_size=4))
def test_steps_proportional_to_the_distance_to_a_log_singularity(
    p: np.ndarray, labels: list[int]
) -> None:
    """-log p has third derivative -2/p^3: a step of fixed size 6e-6 truncates at a
    relative ~1e-6 for p ~ 5e-3; a step of 6e-6 * p keeps it at ~eps^(2/3)."""
    y = np.array(labels)
    g = np.linspace(0.5, 1.5, 4)

    def nll(q: np.ndarray) -> np.ndarray:
        return -np.log(q[np.arange(4), y])

    exact = np.zeros_like(p)
    exact[np.arange(4), y] = -g / p[np.arange(4), y]
    got = nm.numeric_vjp(nll, p, g, separable="rows", length=p)
    assert np.abs(got - exact).max() <= 1e-8 * np.abs(exact).max()


def test_certify_sees_one_wrong_entry_without_an_extra_evaluation() -> None:
    rng = np.random.default_rng(11)
    x, g = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    calls = []

    def fn(v: np.ndarray) -> np.ndarray:
        calls.append(1)
        return rows_fn(v)

    exact = rows_vjp(x, g)
    cmp, num = nm.certify(fn, x, g, exact, separable="rows")
    assert cmp.ok and len(calls) == 2 * 4  # two evaluations per column of x, nothing else
    _assert_close(num, exact, nm.fd_tolerance(_scale(rows_fn, x, g)), "certify's numbers")
    wrong = exact.copy()
    wrong[3, 2] *= 1.01
    cmp, _ = nm.certify(rows_fn, x, g, wrong, separable="rows")
    assert not cmp.ok and cmp.n_bad == 1 and cmp.worst_index == (3, 2)


@given(x=st.floats(-1e6, 1e6, allow_subnormal=False) | st.sampled_from([0.0, 1.0, -0.5]))
def test_steps_are_representable(x: float) -> None:
    """x + h is exact ((x + h) - x == h), so the forward point is where the quotient
    assumes it is.  x - h is not always exact: when it crosses a power of two (x = -0.5)
    it rounds by half an ulp of x, which moves the span 2h by a relative 1e-11 at most."""
    arr = np.array([x])
    h = nm.step_sizes(arr)
    assert h[0] > 0
    assert h[0] <= 1.01 * nm.CENTRAL_STEP * max(1.0, abs(x))
    if x == 0 or abs(x) >= 2 * h[0]:
        assert (arr + h) - arr == h
        span = float(((arr + h) - (arr - h))[0])
        assert abs(span - 2 * h[0]) <= 1e-10 * 2 * h[0]


def test_the_five_point_stencil_is_more_accurate() -> None:
    """On smooth functions where truncation dominates (a larger step than optimal), the
    5-point error is orders below the 3-point error; at the default steps both are within
    fd_tolerance and the 5-point one is smaller over a whole grid."""
    x = np.linspace(-2.0, 2.0, 41)
    for fn, d in ((np.sin, np.cos), (np.exp, np.exp), (lambda v: np.log(v + 3.0),
                                                       lambda v: 1.0 / (v + 3.0))):
        g = np.ones_like(x)
        e3 = np.abs(nm.numeric_vjp(fn, x, g, separable="rows", step=1e-2) - d(x)).max()
        e5 = np.abs(nm.numeric_vjp(fn, x, g, separable="rows", stencil=5, step=1e-2)
                    - d(x)).max()
        assert e5 < 1e-3 * e3
        e3 = np.abs(nm.numeric_vjp(fn, x, g, separable="rows") - d(x)).max()
        e5 = np.abs(nm.numeric_vjp(fn, x, g, separable="rows", stencil=5) - d(x)).max()
        assert e5 < e3
        scale = _scale(fn, x, g)
        assert e3 <= nm.fd_tolerance(scale).atol
        assert e5 <= nm.fd_tolerance(scale, stencil=5).atol


# --------------------------------------------------------------------------- scipy_vjp


def _scipy_tolerance(scale: float) -> nm.Tolerance:
    # Smallest SciPy step: 0.05 / 2**7 (8 Richardson levels); 100x its rounding error.
    return nm.Tolerance(1e-7, 100 * EPS * max(scale, 1.0) / (0.05 / 128), "scipy rounding")


@given(x=nst.inputs((3, 4)), g=nst.upstream_gradients((3, 3)))
@example(x=np.array([[3, -2, 2.390625, 2.390625], [2.390625, 0, 0, 0],
                     [0.109375, 2.390625, 2.390625, 2.390625]]), g=np.ones((3, 3)))
def test_scipy_agrees_with_the_exact_vjp_and_central_differences(
    x: np.ndarray, g: np.ndarray
) -> None:
    sp = nm.scipy_vjp(rows_fn, x, g)
    scale = _scale(rows_fn, x, g)
    _assert_close(sp, rows_vjp(x, g), _scipy_tolerance(scale), "scipy vs exact")
    _assert_close(sp, nm.numeric_vjp(rows_fn, x, g, separable="rows"),
                  nm.fd_tolerance(scale), "scipy vs central differences")


def test_scipy_on_the_coupled_function() -> None:
    rng = np.random.default_rng(5)
    x, g = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    _assert_close(nm.scipy_vjp(coupled_fn, x, g), coupled_vjp(x, g),
                  _scipy_tolerance(_scale(coupled_fn, x, g)), "coupled")


def test_scipy_when_elements_converge_at_different_iterations() -> None:
    """A constant and a linear entry converge at once, the logarithms later: SciPy then
    passes only the remaining elements, and scipy_vjp must still know which is which
    (it once read row e as element e of x: 3.11 for an exact 0.00529 on rows_fn at the
    @example of the test above)."""
    x = np.array([0.5, 0.2, 0.7, 0.3])

    def fn(v: np.ndarray) -> np.ndarray:
        return np.array([0.0 * v[0], -np.log(v[1]), v[2], -np.log(v[3])])

    exact = np.array([0.0, -1.0 / 0.2, 1.0, -1.0 / 0.3])
    _assert_close(nm.scipy_vjp(fn, x, np.ones(4)), exact, _scipy_tolerance(3.0), "mixed")


# --------------------------------------------------------------------------- tolerances


def test_tolerance_is_the_isclose_form() -> None:
    tol = nm.Tolerance(rtol=1e-3, atol=1e-6)
    desired = np.array([0.0, 1.0, -100.0, 5.0])
    ok = desired + 0.99 * np.array([1e-6, 1e-3 + 1e-6, -0.1 - 1e-6, 0.0])
    assert not tol.violations(ok, desired).any()
    bad = desired + np.array([2e-6, 2e-3, 0.2, 0.0])
    assert tol.violations(bad, desired).tolist() == [True, True, True, False]
    nan = np.array([np.nan, 1.0, -100.0, np.inf])
    assert tol.violations(nan, desired).tolist() == [True, False, False, True]


def test_fd_tolerance_grows_with_scale_and_shrinks_with_the_larger_5_point_step() -> None:
    t1, t100 = nm.fd_tolerance(1.0), nm.fd_tolerance(100.0)
    assert t100.atol == pytest.approx(100 * t1.atol)
    assert nm.fd_tolerance(1e-9).atol == t1.atol  # never below the scale-1 floor
    assert nm.fd_tolerance(1.0, stencil=5).atol < t1.atol
    assert t1.rtol == 1e-6 and t1.why


def test_fd_tolerance_rejects_the_errors_of_real_bugs() -> None:
    """A missing 1/N, a factor 2, a sign: all far outside the tolerance."""
    rng = np.random.default_rng(11)
    x, g = rng.normal(size=(4, 4)), rng.normal(size=(4, 3))
    exact = rows_vjp(x, g)
    tol = nm.fd_tolerance(_scale(rows_fn, x, g))
    for wrong in (exact * 4, exact * 2, -exact, exact.T.T + 1e-3):
        assert not nm.compare(wrong, exact, tol).ok


def test_analytic_tolerance_follows_dtype_terms_and_magnitude() -> None:
    d = np.array([1.0, -3.0])
    t64 = nm.analytic_tolerance(d, np.float64)
    t32 = nm.analytic_tolerance(d, np.float32)
    assert t32.rtol > 1e8 * t64.rtol
    assert nm.analytic_tolerance(d, np.float64, terms=5).rtol == pytest.approx(5 * t64.rtol)
    assert t64.atol == pytest.approx(64 * EPS * 3.0)
    assert nm.analytic_tolerance(d, np.float64, magnitude=1e3).atol == pytest.approx(
        64 * EPS * 1e3)
    assert nm.analytic_tolerance(np.array([np.inf]), np.float64).atol > 0


def test_compare_reports_the_worst_element_and_the_ratio() -> None:
    desired = np.array([[1.0, 2.0], [3.0, 4.0]])
    cmp = nm.compare(desired / 4, desired, nm.Tolerance(1e-9, 1e-12))
    assert not cmp.ok and cmp.n_bad == 4 and cmp.size == 4
    assert cmp.worst_index == (1, 1) and cmp.expected == 4.0 and cmp.got == 1.0
    assert cmp.ratio == pytest.approx(0.25)
    assert nm.compare(desired, desired, nm.Tolerance(0.0, 0.0)).ok


# --------------------------------------------------------------------------- kinks


@given(x=st.floats(-100.0, 100.0), stencil=st.sampled_from([3, 5]))
def test_crosses_kink(x: float, stencil: int) -> None:
    """Flags a point at, or within one stencil reach of, a kink; never one two reaches away.
    The reach is h (3-point) or 2h (5-point), with h the step at x."""
    arr = np.array([x])
    base = nm.CENTRAL_STEP if stencil == 3 else nm.FIVE_POINT_STEP
    reach = (1.0 if stencil == 3 else 2.0) * float(nm.step_sizes(arr, base)[0])
    assert nm.crosses_kink(np.array([0.0]), arr, stencil=stencil)[0]  # type: ignore[arg-type]
    assert nm.crosses_kink(np.array([0.5 * reach]), arr, stencil=stencil)[0]  # type: ignore[arg-type]
    assert not nm.crosses_kink(np.array([2.0 * reach]), arr, stencil=stencil)[0]  # type: ignore[arg-type]


def test_the_kink_margin_against_the_stencils() -> None:
    """KINK_MARGIN clears the 3-point reach by > 100x for |x| <= 1 (>= 10x up to |x| = 10).
    The 5-point reach (2 * 7.4e-4 * max(1, |x|)) exceeds the margin: near a kink, only the
    3-point stencil is usable, which is what the properties do (the 5-point opinion is
    used only where its own guard says it is clear)."""
    margin = nst.KINK_MARGIN
    for x in (0.0, 1.0, 3.0):
        arr = np.array([x])
        assert not nm.crosses_kink(np.array([margin]), arr)[0]
    assert nm.CENTRAL_STEP * 100 < margin
    assert nm.CENTRAL_STEP * 10 * 10 < margin
    assert nm.crosses_kink(np.array([margin]), np.array([0.0]), stencil=5)[0]


# --------------------------------------------------------------------------- directional screen


@pytest.mark.parametrize(("fn", "vjp", "shape"), [
    (rows_fn, rows_vjp, (2, 4)), (cols_fn, cols_vjp, (4, 3)), (coupled_fn, coupled_vjp, (3, 2)),
])
def test_the_screen_passes_the_exact_gradient_and_flags_real_bugs(
    fn: Callable[[np.ndarray], np.ndarray], vjp: Callable[..., np.ndarray],
    shape: tuple[int, ...],
) -> None:
    rng = np.random.default_rng(11)
    x = rng.uniform(-1.5, 1.5, size=shape)
    g = rng.standard_normal(fn(x).shape)
    exact = vjp(x, g)
    for directions in (1, 3):
        ok, num, ana = nm.directional_screen(fn, x, g, exact, directions=directions)
        assert ok, (num, ana)
    # bugs are factors: each changes <grad, v> far beyond the screen's tolerance
    for wrong in (-exact, 2 * exact, exact / x.shape[0], np.zeros_like(exact)):
        assert not nm.directional_screen(fn, x, g, wrong, rng=np.random.default_rng(3))[0]


def test_the_screen_of_a_scalar_function_of_a_flat_vector() -> None:
    # the bench's form: all parameters in one vector, upstream 1, a float returned
    theta = np.array([0.3, -1.2, 2.5, 0.8])

    def f(t: np.ndarray) -> float:
        return float(np.sum(np.sin(t)) + t[0] * t[1])

    grad = np.cos(theta)
    grad[0] += theta[1]
    grad[1] += theta[0]
    assert nm.directional_screen(f, theta, np.asarray(1.0), grad)[0]
    off = grad.copy()
    off[2] *= 1.5  # one entry of four off by half: a projection the screen sees
    assert not nm.directional_screen(f, theta, np.asarray(1.0), off)[0]


def test_a_screen_with_nan_fails() -> None:
    x = np.array([[0.5, 1.0]])
    assert not nm.directional_screen(lambda t: t * np.nan, x, np.ones((1, 2)), np.ones((1, 2)))[0]
    assert not nm.directional_screen(np.sin, x, np.ones((1, 2)), np.full((1, 2), np.nan))[0]
