"""Time the oracle's gradient checks against the standard checkers, on the same math.

    python -m bench.run [--quick] [--no-e2e] [--no-torch] [--out bench/results.json]
                        [--target FILE] [--budget SECONDS]

Every workload is one function and its analytic gradient: the reference component's
forward as a vector-Jacobian product with a fixed Gaussian upstream gradient (layers,
activations) or the mean loss (losses), and the reference's backward.  Each checker is
timed on it (median of repeated runs after a warm-up run, one thread per library), its
relative error and its verdict on the gradient under test are recorded, and on Dense
32x64->64 every checker is also given a gradient with ONE entry off by 1%.  The run
ends with ``nnfs-oracle check`` end to end, a time breakdown and the growth of its cost
with the number of examples.  Results go to ``bench/results.json``; a table is printed.

Checkers (names used in the table and in results.json):

  floor              one forward + one backward of the reference component
  oracle.reference   the reference's forward + backward, then numerics.compare against the
                     gradient under test with analytic_tolerance (what backward.* does)
  oracle.fd          numerics.numeric_vjp with the spec's ``separable`` structure per
                     gradient attribute, then compare with fd_tolerance: the element-wise
                     finite-difference certificate (for the spiral net: layer by layer,
                     each stage's numeric gradient the upstream of the next)
  oracle.fd.engine   the same through properties.numeric_gradient (fresh objects per
                     evaluation, as the engine drives a target's class); information only
  oracle.screen      numerics.directional_screen, one direction through all parameters
  scipy.check_grad   scipy.optimize.check_grad, default direction='all' (forward differences
                     over every coordinate)
  scipy.check_grad.random   the same with direction='random' (one directional derivative)
  scipy.jacobian     scipy.differentiate.jacobian of the scalar function (its gradient)
  cs231n             the CS231n loop: np.nditer over x, x[i] += h, f, x[i] -= 2h, f, restore
  torch.full         torch.autograd.gradcheck on the same math in torch ops (float64)
  torch.fast         the same with fast_mode=True
"""

from __future__ import annotations

import os

# One thread per library, set before NumPy/SciPy/torch are imported.
_THREAD_VARS = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "BLIS_NUM_THREADS",
)
for _var in _THREAD_VARS:
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import datetime  # noqa: E402
import functools  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import reference as ref  # noqa: E402
from oracle import numerics as nm  # noqa: E402

# --------------------------------------------------------------------------- settings

#: Full per-coordinate anchors (CS231n loop, check_grad 'all', torch full) are timed up to
#: this many values and extrapolated above it (evaluations x measured cost per evaluation).
FULL_CAP = 20_000
#: scipy.differentiate.jacobian builds an (m, m, abscissae) array: run it only up to here.
JACOBIAN_CAP = 1_000
#: A call slower than this is timed once (its warm-up happened on the smaller workloads).
SINGLE_RUN_SECONDS = 3.0
#: A repetition batches calls until it lasts at least this long (timer resolution).
MIN_REP_SECONDS = 0.002
#: torch.full's relative error needs its numerical gradient once more: only up to here.
TORCH_ERROR_CAP = 7_000
DENSE_SIZES = (8, 16, 32, 64, 128, 256)
BATCH = 32
#: Anchors without a verdict of their own fail a gradient when their error exceeds this
#: fraction of the analytic gradient's scale (see VERDICT_RULES).
ANCHOR_RTOL = 1e-6
CS231N_STEP = 1e-5

ANCHORS = (
    "scipy.check_grad", "scipy.check_grad.random", "scipy.jacobian", "cs231n",
    "torch.full", "torch.fast",
)
ORACLE = ("oracle.reference", "oracle.fd", "oracle.fd.engine", "oracle.screen")
CHECKERS = ORACLE + ANCHORS

VERDICT_RULES = {
    "oracle.reference": "numerics.compare(target, reference, analytic_tolerance) per attribute",
    "oracle.fd": "numerics.compare(target, numeric_vjp, fd_tolerance(scale)) per attribute",
    "oracle.fd.engine": "as oracle.fd, numeric gradient from properties.numeric_gradient",
    "oracle.screen": "numerics.directional_screen's own verdict, one direction through all "
    "parameters (two evaluations)",
    "scipy.check_grad": f"fails when the returned 2-norm error > {ANCHOR_RTOL:g} * ||analytic||_2",
    "scipy.check_grad.random": f"fails when the returned error > {ANCHOR_RTOL:g} * |analytic . v|",
    "scipy.jacobian": f"fails when max|df - analytic| > {ANCHOR_RTOL:g} * max|analytic|",
    "cs231n": f"central differences h={CS231N_STEP:g}; fails when max|numeric - analytic| > "
    f"{ANCHOR_RTOL:g} * max|analytic|",
    "torch.full": "gradcheck's own verdict, default eps=1e-6, atol=1e-5, rtol=1e-3",
    "torch.fast": "gradcheck(fast_mode=True)'s own verdict, default tolerances",
}


def _torch_available() -> bool:
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a broken or blocked installation counts as absent
        return False


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    seconds: float | None = None  # median wall-clock seconds per call
    cpu_seconds: float | None = None  # median CPU seconds of this process per call
    reps: int = 0
    number: int = 1  # calls per repetition
    extrapolated: bool = False
    skipped: str = ""  # why it was not measured
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "reps": self.reps,
            "calls_per_rep": self.number,
        }
        if self.extrapolated:
            d["extrapolated"] = True
        if self.skipped:
            d["skipped"] = self.skipped
        if self.note:
            d["note"] = self.note
        return d


def measure(call: Callable[[], Any], *, budget: float) -> tuple[Timing, Any]:
    """Median seconds per call: one warm-up call (excluded), then repetitions of batched
    calls within about ``budget`` seconds (at least 5 repetitions unless a call is slow)."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = call()
    first = time.perf_counter() - w0
    if first >= SINGLE_RUN_SECONDS:
        return Timing(first, time.process_time() - c0, 1, 1,
                      note="timed once; the library was warmed up by smaller workloads"), out
    number = max(1, math.ceil(MIN_REP_SECONDS / max(first, 1e-7)))
    per_rep = max(first * number, 1e-9)
    if first >= 0.3:
        reps = 3
    else:
        reps = int(min(25, max(5, budget / per_rep)))
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(number):
            out = call()
        walls.append((time.perf_counter() - w0) / number)
        cpus.append((time.process_time() - c0) / number)
    return Timing(statistics.median(walls), statistics.median(cpus), reps, number), out


def measure_paired(call: Callable[[], Any], floor: Callable[[], Any], *,
                   budget: float) -> dict[str, float]:
    """The ratio of ``call`` to ``floor`` from alternating batches of the two: the median of
    the per-pair ratios, wall and CPU.  A change of load on a shared machine then hits both
    sides of each ratio, where two medians taken seconds apart can each catch another one."""
    call()
    floor()
    w0 = time.perf_counter()
    call()
    first = max(time.perf_counter() - w0, 1e-7)
    number = max(1, math.ceil(MIN_REP_SECONDS / first))
    reps = int(min(25, max(5, budget / (2 * first * number))))
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(reps):
        times = []
        for f in (floor, call):
            w0, c0 = time.perf_counter(), time.process_time()
            for _ in range(number):
                f()
            times.append((time.perf_counter() - w0, time.process_time() - c0))
        (fw, fc), (cw, cc) = times
        walls.append(cw / fw if fw else math.inf)
        if fc > 0:  # process_time ticks coarsely on some systems
            cpus.append(cc / fc)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus) if cpus else math.nan,
            "pairs": reps, "calls_per_batch": number}


# --------------------------------------------------------------------------- workloads


@dataclass
class Field:
    """One gradient attribute: the forward as a function of one array, the others fixed."""

    attr: str  # dinputs, dweights, dbiases (params for the spiral net)
    x: np.ndarray
    fn: Callable[[np.ndarray], np.ndarray]
    upstream: np.ndarray
    separable: nm.Separable
    terms: int = 1  # products summed per entry (for analytic_tolerance)
    length: np.ndarray | None = None  # per-element step lengths (numerics.step_sizes)


@dataclass
class TorchForm:
    """The same math in torch ops: ``fn(*tensors)`` returns the scalar; ``arrays`` are the
    inputs, whose flattened concatenation is ``theta``."""

    fn: Callable[..., Any]
    arrays: list[np.ndarray]


@dataclass
class Workload:
    key: str
    label: str
    fields: list[Field]
    floor: Callable[[], dict[str, np.ndarray]]  # reference forward + backward -> gradients
    target: dict[str, np.ndarray]  # the gradient under test (an independent formula)
    f_flat: Callable[[np.ndarray], float]  # the scalar function of all values checked
    theta: np.ndarray
    torch_form: Callable[[], TorchForm] | None = None
    engine: tuple[str, Any] | None = None  # (spec name, Case) for properties.numeric_gradient
    dense_n: int | None = None  # n_in = n_out for the Dense scaling series
    # a composed workload's certificate: the numeric gradient of all its values, the
    # scale of the differenced quantities and the smallest step (see spiral_workload)
    chain: Callable[[], tuple[np.ndarray, float, float]] | None = None
    analytic: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def values(self) -> int:
        return int(self.theta.size)

    def flat(self, grads: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(grads[f.attr], dtype=np.float64).ravel()
                               for f in self.fields])

    def unflat(self, g: np.ndarray) -> dict[str, np.ndarray]:
        out, i = {}, 0
        for f in self.fields:
            out[f.attr] = g[i:i + f.x.size].reshape(f.x.shape)
            i += f.x.size
        return out


def _torch() -> Any:
    import torch

    return torch


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((labels.size, k), dtype=np.float64)
    out[np.arange(labels.size), labels] = 1.0
    return out


def dense_workload(n: int) -> Workload:
    rng = np.random.default_rng(1000 + n)
    X = rng.standard_normal((BATCH, n))
    W = rng.standard_normal((n, n)) / math.sqrt(n)
    b = 0.1 * rng.standard_normal((1, n))
    G = rng.standard_normal((BATCH, n))
    layer = ref.Layer_Dense(n, n)

    def run(x: np.ndarray, w: np.ndarray, bb: np.ndarray) -> np.ndarray:
        layer.weights, layer.biases = w, bb
        layer.forward(x)
        return layer.output

    def floor() -> dict[str, np.ndarray]:
        layer.weights, layer.biases = W, b
        layer.forward(X)
        layer.backward(G)
        return {"dinputs": layer.dinputs, "dweights": layer.dweights, "dbiases": layer.dbiases}

    sx, sw = X.size, W.size

    def f_flat(t: np.ndarray) -> float:
        out = run(t[:sx].reshape(X.shape), t[sx:sx + sw].reshape(W.shape),
                  t[sx + sw:].reshape(b.shape))
        return float(np.vdot(G, out))

    fields = [
        Field("dinputs", X, lambda x: run(x, W, b), G, "rows", terms=n),
        Field("dweights", W, lambda w: run(X, w, b), G, "columns", terms=BATCH),
        Field("dbiases", b, lambda bb: run(X, W, bb), G, "columns", terms=BATCH),
    ]
    target = {  # einsum instead of the reference's matmuls: a different summation order
        "dinputs": np.einsum("no,io->ni", G, W),
        "dweights": np.einsum("ni,no->io", X, G),
        "dbiases": np.einsum("no->o", G)[None, :],
    }

    def torch_form() -> TorchForm:
        torch = _torch()
        Gt = torch.from_numpy(G)
        return TorchForm(lambda x, w, bb: (Gt * (x @ w + bb)).sum(), [X, W, b])

    from oracle.spec import Case

    case = Case(inputs=X, dvalues=G, weights=W, biases=b, ctor={"n_inputs": n, "n_neurons": n})
    theta = np.concatenate([X.ravel(), W.ravel(), b.ravel()])
    label = f"Dense {BATCH}x{n}->{n}"
    return Workload(f"dense_{n}", label, fields, floor, target, f_flat, theta, torch_form,
                    ("Layer_Dense", case), dense_n=n)


def _probabilities(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    # softmax rows of moderate logits: every probability well inside the clip bounds
    return _softmax(rng.standard_normal((n, k)))


def softmax_workload() -> Workload:
    rng = np.random.default_rng(2001)
    Z = rng.standard_normal((32, 10))
    G = rng.standard_normal((32, 10))
    act = ref.Activation_Softmax()

    def fn(z: np.ndarray) -> np.ndarray:
        act.forward(z)
        return act.output

    def floor() -> dict[str, np.ndarray]:
        act.forward(Z)
        act.backward(G)
        return {"dinputs": act.dinputs}

    # the book's per-sample Jacobian loop, as a learner writes it
    s = _softmax(Z)
    book = np.empty_like(Z)
    for i, (si, gi) in enumerate(zip(s, G, strict=True)):
        col = si.reshape(-1, 1)
        book[i] = (np.diagflat(col) - col @ col.T) @ gi

    def torch_form() -> TorchForm:
        torch = _torch()
        Gt = torch.from_numpy(G)

        def f(z: Any) -> Any:
            e = torch.exp(z - z.max(dim=1, keepdim=True).values)
            return (Gt * (e / e.sum(dim=1, keepdim=True))).sum()

        return TorchForm(f, [Z])

    from oracle.spec import Case

    return Workload(
        "softmax", "softmax 32x10", [Field("dinputs", Z, fn, G, "rows")], floor,
        {"dinputs": book}, lambda t: float(np.vdot(G, fn(t.reshape(Z.shape)))), Z.ravel().copy(),
        torch_form, ("Activation_Softmax", Case(inputs=Z, dvalues=G)),
    )


def cce_workload() -> Workload:
    rng = np.random.default_rng(2002)
    n, k = 32, 10
    P = _probabilities(rng, n, k)
    y = rng.integers(0, k, size=n)
    loss = ref.Loss_CategoricalCrossentropy()
    up = np.full((n,), 1.0 / n)

    def fn(p: np.ndarray) -> np.ndarray:
        return loss.forward(p, y)

    def floor() -> dict[str, np.ndarray]:
        loss.calculate(P, y)
        loss.backward(P, y)
        return {"dinputs": loss.dinputs}

    target = -(_one_hot(y, k) * (1.0 / P)) * (1.0 / n)

    def torch_form() -> TorchForm:
        torch = _torch()
        idx, yt = torch.arange(n), torch.from_numpy(y)
        return TorchForm(lambda p: -torch.log(p.clamp(1e-7, 1 - 1e-7)[idx, yt]).mean(), [P])

    from oracle.spec import Case

    return Workload(
        # -log p is singular at p = 0: steps proportional to p (numerics.step_sizes)
        "cce", "CCE 32x10", [Field("dinputs", P, fn, up, "rows", length=P)], floor,
        {"dinputs": target},
        lambda t: float(np.mean(fn(t.reshape(P.shape)))), P.ravel().copy(), torch_form,
        ("Loss_CategoricalCrossentropy", Case(inputs=P, y=y, y_one_hot=_one_hot(y, k))),
    )


def combined_workload() -> Workload:
    rng = np.random.default_rng(2003)
    n, k = 32, 10
    Z = rng.standard_normal((n, k))
    y = rng.integers(0, k, size=n)
    comb = ref.Activation_Softmax_Loss_CategoricalCrossentropy()
    sm, cce = ref.Activation_Softmax(), ref.Loss_CategoricalCrossentropy()
    up = np.full((n,), 1.0 / n)

    def fn(z: np.ndarray) -> np.ndarray:  # per-sample losses, as the engine differentiates it
        sm.forward(z)
        return cce.forward(sm.output, y)

    def floor() -> dict[str, np.ndarray]:
        comb.forward(Z, y)
        comb.backward(comb.output, y)
        return {"dinputs": comb.dinputs}

    target = (_softmax(Z) - _one_hot(y, k)) / n

    def torch_form() -> TorchForm:
        torch = _torch()
        idx, yt = torch.arange(n), torch.from_numpy(y)

        def f(z: Any) -> Any:
            e = torch.exp(z - z.max(dim=1, keepdim=True).values)
            s = e / e.sum(dim=1, keepdim=True)
            return -torch.log(s.clamp(1e-7, 1 - 1e-7)[idx, yt]).mean()

        return TorchForm(f, [Z])

    from oracle.spec import Case

    return Workload(
        "softmax_cce", "softmax+CCE 32x10", [Field("dinputs", Z, fn, up, "rows")], floor,
        {"dinputs": target}, lambda t: float(np.mean(fn(t.reshape(Z.shape)))), Z.ravel().copy(),
        torch_form,
        ("Activation_Softmax_Loss_CategoricalCrossentropy",
         Case(inputs=Z, y=y, y_one_hot=_one_hot(y, k))),
    )


def spiral_workload() -> Workload:
    """Dense(2,3) + ReLU + Dense(3,3) + softmax-CCE on the seed's spiral_data(100, 3).

    nnfs.init() is not called (it patches NumPy for the whole process); NumPy's global RNG
    is seeded as it would have seeded it.  The 21 parameters are drawn (0.5 * N(0, 1))
    until every ReLU pre-activation is at least 1e-3 from the kink, so every checker
    differentiates a smooth function.
    """
    from nnfs.datasets import spiral_data

    np.random.seed(0)
    X, y = spiral_data(samples=100, classes=3)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.intp)
    for s in range(1000):
        rng = np.random.default_rng(3000 + s)
        W1, b1 = 0.5 * rng.standard_normal((2, 3)), 0.5 * rng.standard_normal((1, 3))
        W2, b2 = 0.5 * rng.standard_normal((3, 3)), 0.5 * rng.standard_normal((1, 3))
        if np.min(np.abs(X @ W1 + b1)) > 1e-3:
            break
    shapes = [W1.shape, b1.shape, W2.shape, b2.shape]
    sizes = [int(np.prod(sh)) for sh in shapes]
    d1, d2 = ref.Layer_Dense(2, 3), ref.Layer_Dense(3, 3)
    relu = ref.Activation_ReLU()
    head = ref.Activation_Softmax_Loss_CategoricalCrossentropy()

    def set_params(t: np.ndarray) -> None:
        parts, i = [], 0
        for sh, sz in zip(shapes, sizes, strict=True):
            parts.append(t[i:i + sz].reshape(sh))
            i += sz
        d1.weights, d1.biases, d2.weights, d2.biases = parts

    def f_flat(t: np.ndarray) -> float:
        set_params(t)
        d1.forward(X)
        relu.forward(d1.output)
        d2.forward(relu.output)
        return float(head.forward(d2.output, y))

    theta = np.concatenate([a.ravel() for a in (W1, b1, W2, b2)])

    def floor() -> dict[str, np.ndarray]:
        f_flat(theta)
        head.backward(head.output, y)
        d2.backward(head.dinputs)
        relu.backward(d2.dinputs)
        d1.backward(relu.dinputs)
        return {"params": np.concatenate(
            [a.ravel() for a in (d1.dweights, d1.dbiases, d2.dweights, d2.dbiases)])}

    # the same chain written out independently
    n = X.shape[0]
    z1 = X @ W1 + b1
    h = np.maximum(z1, 0.0)
    dz2 = (_softmax(h @ W2 + b2) - _one_hot(y, 3)) / n
    dz1 = (dz2 @ W2.T) * (z1 > 0)
    target = np.concatenate([(X.T @ dz1).ravel(), dz1.sum(axis=0), (h.T @ dz2).ravel(),
                             dz2.sum(axis=0)])

    def torch_form() -> TorchForm:
        torch = _torch()
        Xt, idx, yt = torch.from_numpy(X), torch.arange(n), torch.from_numpy(y)

        def f(w1: Any, bb1: Any, w2: Any, bb2: Any) -> Any:
            z = torch.relu(Xt @ w1 + bb1) @ w2 + bb2
            e = torch.exp(z - z.max(dim=1, keepdim=True).values)
            s = e / e.sum(dim=1, keepdim=True)
            return -torch.log(s.clamp(1e-7, 1 - 1e-7)[idx, yt]).mean()

        return TorchForm(f, [W1, b1, W2, b2])

    # The certificate the oracle gives a network: component by component, as `check`
    # does, each differenced with the structure its spec declares, the numeric gradient
    # of one stage being the upstream of the next (the chain rule, with no analytic
    # gradient inside).  32 evaluations of single components instead of 42 of the
    # whole net: head rows 6, dW2 6, db2 2, dh 6, ReLU 6, dW1 4, db1 2.
    probs, nll = ref.Activation_Softmax(), ref.Loss_CategoricalCrossentropy()

    def sample_losses(z: np.ndarray) -> np.ndarray:  # row i reads z[i] only
        probs.forward(z)
        return nll.forward(probs.output, y)

    def dense(layer: Any, x: np.ndarray, w: np.ndarray, bb: np.ndarray) -> np.ndarray:
        layer.weights, layer.biases = w, bb
        layer.forward(x)
        return layer.output

    def rectify(z: np.ndarray) -> np.ndarray:
        relu.forward(z)
        return relu.output

    def chain() -> tuple[np.ndarray, float, float]:
        z1 = dense(d1, X, W1, b1)
        relu.forward(z1)
        h1 = relu.output
        z2 = dense(d2, h1, W2, b2)
        stages: list[tuple[np.ndarray, float, float]] = []

        def vjp(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, up: np.ndarray,
                sep: nm.Separable) -> np.ndarray:
            stages.append(nm._vjp(fn, x, up, sep, 3, None, None))
            return stages[-1][0]

        g2 = vjp(sample_losses, z2, np.full(n, 1.0 / n), "rows")
        gW2 = vjp(lambda w: dense(d2, h1, w, b2), W2, g2, "columns")
        gb2 = vjp(lambda bb: dense(d2, h1, W2, bb), b2, g2, "columns")
        gh = vjp(lambda hh: dense(d2, hh, W2, b2), h1, g2, "rows")
        gz1 = vjp(rectify, z1, gh, "rows")
        gW1 = vjp(lambda w: dense(d1, X, w, b1), W1, gz1, "columns")
        gb1 = vjp(lambda bb: dense(d1, X, W1, bb), b1, gz1, "columns")
        num = np.concatenate([a.ravel() for a in (gW1, gb1, gW2, gb2)])
        # Each stage's rounding error (eps * its scale / h) reaches the parameters through
        # exact linear maps with O(1) entries summed over the batch, i.e. scaled by the
        # stages' own magnitudes: the largest stage scale bounds the whole chain's.
        return num, max(st[1] for st in stages), min(st[2] for st in stages)

    fields = [Field("params", theta, f_flat, np.asarray(1.0), None)]  # type: ignore[arg-type]
    return Workload("spiral", "spiral net (seed)", fields, floor, {"params": target}, f_flat,
                    theta.copy(), torch_form, chain=chain)


# --------------------------------------------------------------------------- checkers


@dataclass
class Reading:
    """What one run of a checker concluded about a gradient."""

    ok: bool | None  # the checker's verdict (None: it gives none)
    numeric: Any = None  # what it computed numerically ...
    analytic: Any = None  # ... and what that is compared with
    rel_err: float | None = None  # when numeric/analytic do not carry it


def rel_error(numeric: Any, analytic: Any) -> float | None:
    if numeric is None or analytic is None:
        return None
    a = np.asarray(analytic, dtype=np.float64)
    d = np.abs(np.asarray(numeric, dtype=np.float64) - a)
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    return float(np.max(d)) / scale if scale > 0 else float(np.max(d))


def oracle_reference(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    expected = w.floor()
    ok = True
    for f in w.fields:
        tol = nm.analytic_tolerance(expected[f.attr], np.float64, terms=f.terms)
        ok = nm.compare(grads[f.attr], expected[f.attr], tol).ok and ok
    # flattened for the error report after timing (Reading.flat), not inside the check
    return Reading(ok, grads, expected)


def oracle_fd(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    if w.chain is not None:
        num, scale, h_min = w.chain()
        (f,) = w.fields
        cmp = nm.compare(grads[f.attr], num, nm.fd_tolerance(scale, step=h_min))
        return Reading(cmp.ok, {f.attr: num}, w.analytic)
    ok, nums = True, {}
    for f in w.fields:
        cmp, nums[f.attr] = nm.certify(f.fn, f.x, f.upstream, grads[f.attr],
                                       separable=f.separable, length=f.length)
        ok = cmp.ok and ok
    return Reading(ok, nums, w.analytic)


def oracle_fd_engine(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    from oracle import properties as P
    from oracle import spec as S

    assert w.engine is not None
    name, case = w.engine
    spec = S.SPECS[name]
    ctx = P.Context(spec, spec.reference, {}, False)
    ok, nums = True, {}
    for f in w.fields:
        num, _crossing, scale = P.numeric_gradient(ctx, spec.reference, case, f.attr)
        ok = nm.compare(grads[f.attr], num, nm.fd_tolerance(scale)).ok and ok
        nums[f.attr] = num
    return Reading(ok, w.flat(nums), w.flat(w.analytic))


def oracle_screen(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    # One random direction through every parameter at once: two evaluations of the
    # scalar function in all (the tolerance's scale is read off those two).
    g = w.flat(grads)
    ok, num, ana = nm.directional_screen(w.f_flat, w.theta, np.asarray(1.0), g)
    err = abs(num - ana) / abs(ana) if ana else abs(num - ana)
    return Reading(ok, rel_err=err)


def scipy_check_grad(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    from scipy.optimize import check_grad

    g = w.flat(grads)
    err = check_grad(w.f_flat, lambda _t: g, w.theta.copy())
    return Reading(bool(err <= ANCHOR_RTOL * float(np.linalg.norm(g))))


def scipy_check_grad_random(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    from scipy.optimize import check_grad

    g = w.flat(grads)
    err = check_grad(w.f_flat, lambda _t: g, w.theta.copy(), direction="random",
                     rng=np.random.default_rng(7))
    v = np.random.default_rng(7).standard_normal(w.theta.shape)
    ana = abs(float(np.sum(g * v)))
    return Reading(bool(err <= ANCHOR_RTOL * ana), rel_err=float(err) / ana if ana else None)


def scipy_jacobian(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    from scipy.differentiate import jacobian

    m = w.values

    def f_vec(xph: np.ndarray) -> np.ndarray:
        # xph: (m, m[, abscissae]); every column is one point theta: evaluate one by one
        cols = np.ascontiguousarray(xph.reshape(m, -1).T)
        out = np.empty(cols.shape[0])
        for c in range(cols.shape[0]):
            out[c] = w.f_flat(cols[c])
        return out.reshape(xph.shape[1:])

    g = w.flat(grads)
    res = jacobian(f_vec, w.theta.copy())
    num = np.asarray(res.df, dtype=np.float64)
    ok = float(np.max(np.abs(num - g))) <= ANCHOR_RTOL * float(np.max(np.abs(g)))
    return Reading(ok, num, w.flat(w.analytic))


def cs231n_numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                              h: float = CS231N_STEP) -> np.ndarray:
    """CS231n's eval_numerical_gradient (central differences, one coordinate at a time)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])  # type: ignore[list-item]
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad


def cs231n(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
    g = w.flat(grads)
    num = cs231n_numerical_gradient(w.f_flat, w.theta.copy())
    ok = float(np.max(np.abs(num - g))) <= ANCHOR_RTOL * float(np.max(np.abs(g)))
    return Reading(ok, num, w.flat(w.analytic))


def _torch_inputs(form: TorchForm) -> tuple[Any, ...]:
    torch = _torch()
    return tuple(torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in form.arrays)


def _with_gradient(form: TorchForm, g: np.ndarray) -> Callable[..., Any]:
    """``form.fn`` whose backward returns ``g`` (the gradient under test), not autograd's."""
    torch = _torch()
    parts, i = [], 0
    for a in form.arrays:
        parts.append(torch.from_numpy(np.ascontiguousarray(g[i:i + a.size].reshape(a.shape))))
        i += a.size

    class Checked(torch.autograd.Function):  # type: ignore[name-defined,misc]
        @staticmethod
        def forward(ctx: Any, *xs: Any) -> Any:
            return form.fn(*xs)

        @staticmethod
        def backward(ctx: Any, gout: Any) -> Any:
            return tuple(gout * p for p in parts)

    return Checked.apply


def torch_check(fast: bool) -> Callable[[Workload, dict[str, np.ndarray]], Reading]:
    def run(w: Workload, grads: dict[str, np.ndarray]) -> Reading:
        from torch.autograd import gradcheck

        assert w.torch_form is not None
        form = w.torch_form()
        fn = _with_gradient(form, w.flat(grads))
        ok = gradcheck(fn, _torch_inputs(form), fast_mode=fast, raise_exception=False)
        return Reading(bool(ok))

    return run


def torch_numerical_gradient(w: Workload) -> np.ndarray | None:
    """The numerical gradient gradcheck's full mode computes (central differences, 1e-6)."""
    try:
        gc = importlib.import_module("torch.autograd.gradcheck")
        assert w.torch_form is not None
        form = w.torch_form()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            jac = gc.get_numerical_jacobian(lambda xs: form.fn(*xs), _torch_inputs(form),
                                            eps=1e-6)
        return np.concatenate([np.asarray(j.detach().numpy()).ravel() for j in jac])
    except Exception:
        return None


CHECKER_FUNCS: dict[str, Callable[[Workload, dict[str, np.ndarray]], Reading]] = {
    "oracle.reference": oracle_reference,
    "oracle.fd": oracle_fd,
    "oracle.fd.engine": oracle_fd_engine,
    "oracle.screen": oracle_screen,
    "scipy.check_grad": scipy_check_grad,
    "scipy.check_grad.random": scipy_check_grad_random,
    "scipy.jacobian": scipy_jacobian,
    "cs231n": cs231n,
    "torch.full": torch_check(False),
    "torch.fast": torch_check(True),
}

#: Checkers whose goal is a ratio to the floor: timed again in batches alternating with it.
PAIRED = ("oracle.reference", "oracle.screen")

#: Function evaluations of the full per-coordinate checkers (for extrapolation).
EVALS: dict[str, Callable[[int], int]] = {
    "cs231n": lambda n: 2 * n,
    "scipy.check_grad": lambda n: n + 1,
    "torch.full": lambda n: 2 * n,
}


def warm_up(use_torch: bool) -> None:
    """Run every library on a tiny problem for about 0.2 s each: their one-time costs (lazy
    imports, torch's dispatcher, the interpreter specialising hot code) are then paid before
    any timing, not by the first workload (one call was not enough: the first workload's
    screen measured 1.5-2x slower than the same call later in the run)."""
    w = dense_workload(2)
    w.analytic = w.floor()
    for name in CHECKERS:
        if name.startswith("torch") and not use_torch:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < 0.2:
                CHECKER_FUNCS[name](w, w.target)
    if use_torch:
        torch_numerical_gradient(w)


# --------------------------------------------------------------------------- running a workload


@dataclass
class Bench:
    budget: float
    use_torch: bool
    log: Callable[[str], None]
    results: dict[str, Any] = field(default_factory=dict)
    eval_time: dict[tuple[str, str], float] = field(default_factory=dict)  # CPU s per eval
    calibration: dict[str, float] = field(default_factory=dict)  # checker -> overhead factor

    def applicable(self, name: str, w: Workload) -> str:
        """'' when the checker runs on ``w``; otherwise why not."""
        if name.startswith("torch") and not self.use_torch:
            return "torch is not installed (pip install torch)"
        if name == "oracle.fd.engine" and w.engine is None:
            return "a composition: no single spec record drives it"
        if name == "scipy.jacobian" and w.values > JACOBIAN_CAP:
            gb = w.values ** 2 * 9 * 8 / 1e9
            return (f"not run above {JACOBIAN_CAP} values: jacobian builds an (m, m, abscissae) "
                    f"array, {gb:.1f} GB for the first 9 abscissae here")
        return ""

    def eval_seconds(self, w: Workload, kind: str) -> float:
        key = (w.key, kind)
        if key not in self.eval_time:
            if kind == "np":
                t, _ = measure(lambda: w.f_flat(w.theta), budget=0.1)
            else:
                torch = _torch()
                assert w.torch_form is not None
                form = w.torch_form()
                ts = [torch.from_numpy(a) for a in form.arrays]
                t, _ = measure(lambda: form.fn(*ts), budget=0.1)
            self.eval_time[key] = float(t.cpu_seconds or 0.0)
        return self.eval_time[key]

    def run_workload(self, w: Workload) -> dict[str, Any]:
        t_floor, grads = measure(w.floor, budget=self.budget)
        w.analytic = {k: np.array(v, copy=True) for k, v in grads.items()}
        g = w.flat(w.analytic)
        row: dict[str, Any] = {
            "label": w.label, "values": w.values, "floor": t_floor.to_dict(),
            "max_abs_gradient": float(np.max(np.abs(g))), "checkers": {},
        }
        self.log(f"  {w.label} ({w.values:,} values): floor {_fmt(t_floor.seconds)}")
        for name in CHECKERS:
            why = self.applicable(name, w)
            if why:
                row["checkers"][name] = {**Timing(skipped=why).to_dict()}
                continue
            func = CHECKER_FUNCS[name]
            if name in EVALS and w.values > FULL_CAP:
                row["checkers"][name] = self.extrapolate(name, w)
                continue
            def call(f: Any = func) -> Reading:
                return f(w, w.target)

            try:
                timing, reading = measure(call, budget=self.budget)
            except Exception as e:  # a checker that cannot run here is reported, not fatal
                row["checkers"][name] = {**Timing(skipped=f"raised {e!r}").to_dict()}
                self.log(f"    {name:26s} raised {e!r}")
                continue
            entry = timing.to_dict()
            err = reading.rel_err
            if err is None:
                err = rel_error(*(w.flat(a) if isinstance(a, dict) else a
                                  for a in (reading.numeric, reading.analytic)))
            if name == "scipy.check_grad":
                err = self.check_grad_error(w)
            if name == "torch.full":
                # gradcheck returns only a verdict: recompute its numerical gradient
                num = torch_numerical_gradient(w) if w.values <= TORCH_ERROR_CAP else None
                err = rel_error(num, g) if num is not None else None
            entry["rel_err"] = err
            entry["verdict_on_target"] = "pass" if reading.ok else (
                "fail" if reading.ok is not None else None)
            if name in EVALS:
                kind = "torch" if name.startswith("torch") else "np"
                evals = EVALS[name](w.values) * self.eval_seconds(w, kind)
                if timing.cpu_seconds and evals > 0 and w.dense_n is not None:
                    self.calibration[name] = timing.cpu_seconds / evals
            row["checkers"][name] = entry
            self.log(f"    {name:26s} {_fmt(timing.seconds):>10s}  rel err "
                     f"{_fmt_err(err):>8s}  verdict {entry['verdict_on_target']}")
        _add_ratios(row)
        for name in PAIRED:  # the checkers whose goal is a ratio to the floor
            entry = row["checkers"].get(name, {})
            if "seconds" in entry and not entry.get("extrapolated"):
                func = CHECKER_FUNCS[name]
                entry["paired_ratio_to_floor"] = measure_paired(
                    functools.partial(func, w, w.target), w.floor, budget=self.budget)
        return row

    def check_grad_error(self, w: Workload) -> float | None:
        """check_grad returns only a norm: recompute its forward differences for the error."""
        from scipy.optimize import approx_fprime

        num = approx_fprime(w.theta.copy(), w.f_flat, float(np.sqrt(np.finfo(float).eps)))
        return rel_error(num, w.flat(w.analytic))

    def extrapolate(self, name: str, w: Workload) -> dict[str, Any]:
        kind = "torch" if name.startswith("torch") else "np"
        per_eval = self.eval_seconds(w, kind)
        factor = self.calibration.get(name)
        if factor is None:
            return Timing(skipped=f"above {FULL_CAP:,} values and no smaller Dense workload "
                          "to calibrate an extrapolation").to_dict()
        est = factor * EVALS[name](w.values) * per_eval
        t = Timing(est, est, 0, 0, extrapolated=True,
                   note=f"not run above {FULL_CAP:,} values: {EVALS[name](w.values):,} "
                   f"evaluations x {per_eval * 1e6:.0f} us CPU measured per evaluation x "
                   f"{factor:.2f} overhead calibrated on the largest Dense workload run "
                   "(CPU time; the same number stands for the wall time of an idle machine)")
        self.log(f"    {name:26s} {_fmt(est):>10s}  (extrapolated)")
        return t.to_dict()


def _add_ratios(row: dict[str, Any]) -> None:
    floor = row["floor"]["seconds"]
    cks = row["checkers"]
    for _name, e in cks.items():
        s = e.get("seconds")
        if s is None:
            continue
        e["ratio_to_floor"] = s / floor if floor else None
        e["ratio_to"] = {
            a: (s / cks[a]["seconds"]) for a in ANCHORS
            if a in cks and cks[a].get("seconds")
        }


# --------------------------------------------------------------------------- sensitivity


def sensitivity(w: Workload, use_torch: bool, log: Callable[[str], None]) -> dict[str, Any]:
    """Every checker on the correct gradient and on gradients with ONE entry off by 1%."""
    g = w.flat(w.target)
    absg = np.abs(g)
    largest = int(np.argmax(absg))
    median = int(np.argsort(absg)[absg.size // 2])

    def wrong(i: int) -> dict[str, np.ndarray]:
        bad = g.copy()
        bad[i] *= 1.01
        return w.unflat(bad)

    def where(i: int) -> dict[str, Any]:
        j = i
        for f in w.fields:
            if j < f.x.size:
                return {"attr": f.attr, "index": [int(k) for k in np.unravel_index(j, f.x.shape)],
                        "value": float(g[i])}
            j -= f.x.size
        return {}

    out: dict[str, Any] = {
        "workload": w.key, "label": w.label, "values": w.values,
        "cases": {"largest": where(largest), "median": where(median)},
        "checkers": {},
    }
    log(f"  single-entry errors on {w.label}: largest |entry| {where(largest)}, "
        f"median |entry| {where(median)}")
    for name in CHECKERS:
        if name.startswith("torch") and not use_torch:
            out["checkers"][name] = {"skipped": "torch is not installed"}
            continue
        if name == "scipy.jacobian" and w.values > JACOBIAN_CAP:
            out["checkers"][name] = {"skipped": "not run at this size (memory)"}
            continue
        func = CHECKER_FUNCS[name]
        res: dict[str, Any]
        try:
            res = {
                "flags_correct_gradient": not func(w, w.target).ok,
                "flags_1pct_on_largest_entry": not func(w, wrong(largest)).ok,
                "flags_1pct_on_median_entry": not func(w, wrong(median)).ok,
            }
        except Exception as e:
            res = {"skipped": f"raised {e!r}"}
        out["checkers"][name] = res
        log(f"    {name:26s} {res}")
    return out


# --------------------------------------------------------------------------- end to end


def default_target() -> Path:
    """The book's chapter 22 code: all 21 components, the Model included."""
    return ROOT / "tests" / "corpus" / "book" / "ch22_final.py"


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cli_run(target: Path, args: Sequence[str]) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "oracle.cli", *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    c0, w0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    wall, cpu = time.perf_counter() - w0, _children_cpu() - c0
    out: dict[str, Any] = {
        "command": "python -m oracle.cli " + " ".join(
            str(Path(a).relative_to(ROOT)) if a == str(target) else a for a in args),
        "wall_seconds": wall, "cpu_seconds": cpu, "exit_code": proc.returncode,
    }
    if "--json" in args:
        try:
            rep = json.loads(proc.stdout)
            rep = rep[0] if isinstance(rep, list) else rep
            comps = rep.get("components", [])
            out["summary"] = rep.get("summary")
            out["component_seconds"] = {c["name"]: c.get("seconds") for c in comps}
            out["sum_component_seconds"] = sum(float(c.get("seconds") or 0) for c in comps)
            out["not_passing"] = {
                c["name"]: [k["name"] for k in c.get("checks", [])
                            if k.get("status") in ("fail", "error")]
                for c in comps if c.get("status") != "pass"
            }
        except (ValueError, KeyError, TypeError, IndexError):
            out["stdout_tail"] = proc.stdout[-2000:]
    if proc.returncode not in (0, 1):
        out["stderr_tail"] = proc.stderr[-2000:]
    return out


def in_process_run(max_examples: int | None, profile: str = "default") -> dict[str, Any]:
    """Every book component, the reference classes as the target, in this process."""
    from oracle import spec as S
    from oracle.checks import check_component
    from oracle.settings import Settings

    ns = {n: getattr(ref, n) for n in ref.__all__}
    settings = Settings(profile=profile, max_examples=max_examples)
    w0, c0 = time.perf_counter(), time.process_time()
    statuses: dict[str, str] = {}
    per: dict[str, float] = {}
    for name in S.SPECS:
        t = time.perf_counter()
        r = check_component(name, ns[name], namespace=ns, settings=settings)
        per[name] = time.perf_counter() - t
        statuses[name] = r.status
    return {
        "max_examples": settings.examples, "wall_seconds": time.perf_counter() - w0,
        "cpu_seconds": time.process_time() - c0, "component_seconds": per,
        "not_passing": {k: v for k, v in statuses.items() if v != "pass"},
    }


_CATEGORIES = (
    ("hypothesis", f"{os.sep}hypothesis{os.sep}"),
    ("oracle.numerics", f"{os.sep}oracle{os.sep}numerics.py"),
    ("oracle.strategies+spec", f"{os.sep}oracle{os.sep}strategies.py"),
    ("oracle.strategies+spec", f"{os.sep}oracle{os.sep}spec.py"),
    ("oracle.other", f"{os.sep}oracle{os.sep}"),
    ("reference", f"{os.sep}reference{os.sep}"),
    ("numpy", f"{os.sep}numpy{os.sep}"),
    ("scipy", f"{os.sep}scipy{os.sep}"),
    ("bench", f"{os.sep}bench{os.sep}"),
)
#: Categories whose self time stays theirs; the others (numpy, builtins, the standard
#: library) are charged to the nearest calling function in one of these.
_OWNERS = {"hypothesis", "oracle.numerics", "oracle.strategies+spec", "oracle.other",
           "reference", "bench"}


def _category(func: tuple[str, int, str]) -> str:
    filename, _line, name = func
    if filename == "~":  # a builtin: "<built-in method numpy...>" / "<method 'x' of 'numpy...'>"
        return "numpy" if "numpy" in name else "builtins"
    for cat, needle in _CATEGORIES:
        if needle in filename:
            return cat
    return "python"


def attribute(stats: pstats.Stats) -> dict[str, Any]:
    """Self time per category, and with non-owner time charged to the calling owners."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    self_time: dict[str, float] = {}
    for func, (_cc, _nc, tt, _ct, _callers) in raw.items():
        cat = _category(func)
        self_time[cat] = self_time.get(cat, 0.0) + tt
    memo: dict[Any, dict[str, float]] = {}

    def shares(func: Any, depth: int, seen: frozenset[Any]) -> dict[str, float]:
        cat = _category(func)
        if cat in _OWNERS:
            return {cat: 1.0}
        if func in memo:
            return memo[func]
        callers = raw.get(func, (0, 0, 0, 0, {}))[4]
        weights = {c: v[3] for c, v in callers.items() if c not in seen}  # cumtime per caller
        total = sum(weights.values())
        if depth > 30 or total <= 0:
            return {cat: 1.0}
        out: dict[str, float] = {}
        for c, wgt in weights.items():
            for k, s in shares(c, depth + 1, seen | {func}).items():
                out[k] = out.get(k, 0.0) + s * wgt / total
        if depth == 0:
            memo[func] = out
        return out

    owned: dict[str, float] = {}
    for func, (_cc, _nc, tt, _ct, _callers) in raw.items():
        for k, s in shares(func, 0, frozenset()).items():
            owned[k] = owned.get(k, 0.0) + tt * s
    total = sum(self_time.values())
    return {
        "total_profiled_seconds": total,
        "self_time_seconds": dict(sorted(self_time.items(), key=lambda kv: -kv[1])),
        "charged_to_owner_seconds": dict(sorted(owned.items(), key=lambda kv: -kv[1])),
        "charged_to_owner_fraction": {k: v / total for k, v in
                                      sorted(owned.items(), key=lambda kv: -kv[1])},
    }


def _top(stats: pstats.Stats, n: int = 15, per: int = 1) -> list[dict[str, Any]]:
    """The ``n`` functions with the most self time (divided by ``per`` runs)."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    items = sorted(raw.items(), key=lambda kv: -kv[1][2])[:n]
    return [{"function": f"{Path(f[0]).name}:{f[1]}({f[2]})", "self_seconds": v[2] / per,
             "cumulative_seconds": v[3] / per, "calls": v[1] / per} for f, v in items]


def profile_checker(w: Workload, name: str, seconds: float = 1.0) -> dict[str, Any]:
    """Where one oracle checker spends its time on ``w`` (cProfile, per call)."""
    func = CHECKER_FUNCS[name]
    func(w, w.target)
    t0 = time.perf_counter()
    func(w, w.target)
    calls = max(1, int(seconds / max(time.perf_counter() - t0, 1e-6)))
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for _ in range(calls):
        func(w, w.target)
    prof.disable()
    stats = pstats.Stats(prof)
    br = attribute(stats)
    return {
        "workload": w.key, "checker": name, "profiled_calls": calls,
        "cpu_seconds_per_call_under_profiler": br["total_profiled_seconds"] / calls,
        "self_time_fraction": {k: v / br["total_profiled_seconds"]
                               for k, v in br["self_time_seconds"].items()},
        "top_self_time_per_call": _top(stats, 10, calls),
    }


#: Cumulative times worth naming: (label, file suffix, function name).
_KEY_CUMULATIVE = (
    ("hypothesis: drawing the examples (generation)", "hypothesis/control.py",
     "prep_args_kwargs_from_strategies"),
    ("hypothesis: validating strategies", "hypothesis/strategies/_internal/strategies.py",
     "validate"),
    ("hypothesis: the whole engine run (generation + property bodies + shrinking)",
     "hypothesis/core.py", "run_engine"),
    ("oracle: property bodies (reference + target + numerics + comparisons)",
     "oracle/properties.py", "wrapped"),
    ("oracle: finite differences (numeric_vjp)", "oracle/numerics.py", "numeric_vjp"),
    ("oracle: comparisons (compare)", "oracle/numerics.py", "compare"),
    ("oracle: driving a class (evaluate)", "oracle/properties.py", "evaluate"),
    ("imports during the run", "<frozen importlib._bootstrap>", "_find_and_load"),
)


def key_cumulative(stats: pstats.Stats) -> dict[str, float]:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for label, suffix, name in _KEY_CUMULATIVE:
        total = 0.0
        for (filename, _line, fname), v in raw.items():
            if fname == name and filename.replace(os.sep, "/").endswith(suffix):
                total += v[3]
        out[label] = total
    # the case strategies of the spec table, one by one
    for (filename, _line, fname), v in raw.items():
        if filename.replace(os.sep, "/").endswith("oracle/spec.py") and fname.endswith("_cases"):
            key = f"oracle.spec.{fname} (drawing cases)"
            out[key] = out.get(key, 0.0) + v[3]
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def import_cost() -> dict[str, Any]:
    """What a worker process pays before checking anything: Python + the engine's imports."""
    code = ("import time; t = time.perf_counter(); import numpy, hypothesis, reference, "
            "oracle.checks, oracle.properties; a = time.perf_counter() - t; import scipy.stats; "
            "print(a, time.perf_counter() - t - a)")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    w0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env=env, timeout=300)
    wall = time.perf_counter() - w0
    try:
        engine, stats_ = (float(x) for x in proc.stdout.split())
    except ValueError:
        return {"error": proc.stderr[-500:]}
    return {"process_wall_seconds": wall, "engine_imports_seconds": engine,
            "scipy_stats_import_seconds": stats_,
            "note": "scipy.stats is imported by the dropout.rate check (binomtest)"}


_OWNER_STAGES = (  # the innermost frame in one of these directories names the stage
    ("target's own code (the reference classes here)", f"{os.sep}reference{os.sep}"),
    ("oracle numerics (finite differences, tolerances, compare)",
     f"{os.sep}oracle{os.sep}numerics.py"),
    ("case generation (oracle strategies and spec)", f"{os.sep}oracle{os.sep}strategies.py"),
    ("case generation (oracle strategies and spec)", f"{os.sep}oracle{os.sep}spec.py"),
    ("oracle engine (properties, adapter, diagnosis, checks)", f"{os.sep}oracle{os.sep}"),
    ("hypothesis", f"{os.sep}hypothesis{os.sep}"),
)
#: Inside Hypothesis, the first of these functions found on the stack names the stage.
_HYPOTHESIS_STAGES = (
    ("function_digest", "hypothesis: reading the test's source (function_digest)"),
    ("deterministic_PRNG", "hypothesis: seeding and restoring global RNGs per example"),
    ("validate", "hypothesis: validating strategies"),
    ("prep_args_kwargs_from_strategies", "hypothesis: drawing examples (generation)"),
    ("shrink", "hypothesis: shrinking"),
)


def _stage(frame: Any) -> str:
    frames = []
    while frame is not None:
        frames.append((frame.f_code.co_filename, frame.f_code.co_name))
        frame = frame.f_back
    names = {n for _f, n in frames}
    for filename, _name in frames:  # innermost first
        for label, needle in _OWNER_STAGES:
            if needle in filename:
                if label != "hypothesis":
                    return label
                for marker, hlabel in _HYPOTHESIS_STAGES:
                    if marker in names:
                        return hlabel
                return "hypothesis: engine (everything else)"
    return "other (imports, interpreter)"


def sampled_breakdown(interval: float = 0.001) -> dict[str, Any]:
    """Where one in-process run spends its CPU time, by sampling the stack on a CPU-time
    timer (``ITIMER_PROF``) every ``interval`` seconds.  No per-call instrumentation, so
    Python-heavy code is not inflated as under cProfile; a signal that arrives during a
    long C call is handled when it returns (one sample, charged to its caller)."""
    import signal

    if not hasattr(signal, "setitimer"):
        return {"skipped": "no signal.setitimer on this platform"}
    counts: dict[str, int] = {}

    def handler(_sig: int, frame: Any) -> None:
        label = _stage(frame)
        counts[label] = counts.get(label, 0) + 1

    old = signal.signal(signal.SIGPROF, handler)
    w0, c0 = time.perf_counter(), time.process_time()
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    try:
        in_process_run(None, "default")
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, old)
    n = sum(counts.values()) or 1
    return {
        "samples": n, "interval_cpu_seconds": interval,
        "wall_seconds": time.perf_counter() - w0, "cpu_seconds": time.process_time() - c0,
        "fraction": {k: v / n for k, v in sorted(counts.items(), key=lambda kv: -kv[1])},
        "note": "the innermost frame in reference/, oracle/ or hypothesis/ names the stage; "
        "NumPy and the standard library count for their caller; inside Hypothesis the "
        "functions on the stack name the stage (see _HYPOTHESIS_STAGES)",
    }


def end_to_end(target: Path, growth: Sequence[int], log: Callable[[str], None]) -> dict[str, Any]:
    out: dict[str, Any] = {"target": str(target.relative_to(ROOT)) if target.is_relative_to(ROOT)
                           else str(target)}
    cli_ok = (ROOT / "oracle" / "cli.py").exists() and (ROOT / "oracle" / "run.py").exists()
    if cli_ok and target.exists():
        log("  python -m oracle.cli list (start-up cost)")
        out["startup"] = cli_run(target, ["list"])
        for profile in ("default", "ci"):
            log(f"  python -m oracle.cli check {out['target']} --profile {profile}")
            r = cli_run(target, ["check", str(target), "--profile", profile, "--json"])
            out[f"cli_{profile}"] = r
            log(f"    wall {r['wall_seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s, exit "
                f"{r['exit_code']}, not passing: {r.get('not_passing')}")
    else:
        out["cli_skipped"] = ("oracle/cli.py or oracle/run.py is missing, or the target does not "
                              "exist: the in-process engine is timed instead")
        for profile in ("default", "ci"):
            out[f"in_process_{profile}"] = in_process_run(None, profile)
    out["import_cost"] = import_cost()
    log(f"  imports of a worker process: {out['import_cost']}")
    log("  in-process engine, reference classes as the target: warm-up run (excluded)")
    out["warm_up"] = in_process_run(1)
    log("  in-process engine: growth with the number of examples")
    series = []
    for m in growth:
        r = in_process_run(m)
        series.append(r)
        log(f"    max_examples={m:3d}: wall {r['wall_seconds']:.2f} s, CPU {r['cpu_seconds']:.2f} s"
            f", not passing: {r['not_passing']}")
    out["growth"] = series
    if len(series) >= 2:
        xs = [math.log(r["max_examples"]) for r in series]
        for clock in ("wall_seconds", "cpu_seconds"):
            ys = [math.log(r[clock]) for r in series]
            out[f"growth_exponent_{clock}"] = _slope(xs, ys)
        ms = [r["max_examples"] for r in series]
        cs = [r["cpu_seconds"] for r in series]
        out["growth_interval_exponents_cpu"] = {
            f"{a}->{b}": math.log(cb / ca) / math.log(b / a)
            for a, b, ca, cb in zip(ms, ms[1:], cs, cs[1:], strict=False)}
        out["cpu_seconds_per_example"] = {m: c / m for m, c in zip(ms, cs, strict=True)}
        b = _slope(ms, cs)
        out["linear_fit_cpu"] = {"seconds_per_example": b,
                                 "fixed_seconds": statistics.mean(cs) - b * statistics.mean(ms)}
    log("  cProfile of one in-process run (default profile)")
    prof = cProfile.Profile(time.process_time)
    w0 = time.perf_counter()
    prof.enable()
    in_process_run(None, "default")
    prof.disable()
    wall = time.perf_counter() - w0
    stats = pstats.Stats(prof)
    br = attribute(stats)
    br["wall_seconds_under_profiler"] = wall
    br["key_cumulative_seconds"] = key_cumulative(stats)
    br["top_self_time"] = _top(stats)
    br["note"] = ("CPU time (cProfile with time.process_time); cProfile slows Python-heavy "
                  "code (Hypothesis) more than NumPy-heavy code; 'charged_to_owner' charges "
                  "NumPy, builtins and the standard library to the nearest calling function in "
                  "hypothesis/, oracle/ or reference/")
    out["breakdown"] = br
    log("  sampled stacks of one in-process run (default profile)")
    out["sampled_breakdown"] = sampled_breakdown()
    log("    " + ", ".join(f"{k} {v:.0%}" for k, v in
                          out["sampled_breakdown"]["fraction"].items()))
    log("    charged to owner: " + ", ".join(
        f"{k} {v:.0%}" for k, v in br["charged_to_owner_fraction"].items()))
    return out


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if not den:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


# --------------------------------------------------------------------------- goals


def judged_clock(res: dict[str, Any]) -> tuple[str, str]:
    """Wall-clock time unless other processes oversubscribed the CPUs during the run; then
    the CPU time of our single-threaded processes (what the wall time is on an idle machine)."""
    meta = res["meta"]
    cores = meta.get("cpu_count") or 1
    loads = [x for key in ("loadavg_start", "loadavg_end", "loadavg_e2e_start",
                           "loadavg_e2e_end") for x in meta.get(key, [])[:1]]
    if loads and max(loads) > cores:
        return "cpu_seconds", (f"CPU time: the machine was oversubscribed by other processes "
                               f"(1-minute load average up to {max(loads):.1f} on {cores} CPUs)")
    return "seconds", "wall-clock time"


def goals(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Each goal of the issue, measured twice (wall clock and CPU time), judged on one."""
    W = res["workloads"]
    clock, why = judged_clock(res)
    out: list[dict[str, Any]] = []

    def add(goal: str, wall: Any, cpu: Any, threshold: str, test: Callable[[Any], bool | None],
            detail: str = "") -> None:
        met_wall, met_cpu = test(wall), test(cpu)
        out.append({
            "goal": goal, "threshold": threshold,
            "measured": cpu if clock == "cpu_seconds" else wall,
            "met": met_cpu if clock == "cpu_seconds" else met_wall,
            "judged_on": why, "measured_wall": wall, "met_wall": met_wall,
            "measured_cpu": cpu, "met_cpu": met_cpu, "detail": detail,
        })

    def sec(key: str, name: str, clk: str) -> float | None:
        row = W.get(key, {})
        e = row.get("floor", {}) if name == "floor" else row.get("checkers", {}).get(name, {})
        v = e.get(clk)
        if v is None and e.get("extrapolated") and clk == "cpu_seconds":
            v = e.get("seconds")  # extrapolations are from single-threaded costs
        return v

    def ratios(num: str, den: str, clk: str, keys: Sequence[str] | None = None) -> dict[str, Any]:
        r: dict[str, Any] = {}
        for k in keys if keys is not None else W:
            a, b = sec(k, num, clk), sec(k, den, clk)
            r[k] = round(a / b, 2) if a is not None and b else None
        return r

    def all_at_most(lim: float) -> Callable[[dict[str, Any]], bool | None]:
        def test(d: dict[str, Any]) -> bool | None:
            vals = [v for v in d.values() if v is not None]
            return all(v <= lim for v in vals) if vals else None
        return test

    def all_at_least(lim: float) -> Callable[[dict[str, Any]], bool | None]:
        def test(d: dict[str, Any]) -> bool | None:
            vals = list(d.values())
            if not vals or any(v is None for v in vals):
                return None
            return all(v >= lim for v in vals)
        return test

    def paired(name: str, clk: str) -> dict[str, Any]:
        r: dict[str, Any] = {}
        for k in W:
            p = W[k].get("checkers", {}).get(name, {}).get("paired_ratio_to_floor")
            r[k] = round(p[clk], 2) if p and math.isfinite(p[clk]) else None
        return r

    pairing = ("; paired: batches of the floor and of the checker alternate, the median of "
               "the per-pair ratios (the separate medians' ratio is ratio_to_floor)")
    add("reference comparison within 5x the floor",
        paired("oracle.reference", "wall"), paired("oracle.reference", "cpu"),
        "<= 5x the floor on every workload", all_at_most(5.0),
        "oracle.reference seconds / floor seconds, per workload" + pairing)
    for keys, lim, values in ((("softmax", "cce", "softmax_cce"), 20.0, 320),
                              (("dense_64",), 100.0, 6208)):
        add(f"FD certification >= {lim:g}x faster than torch gradcheck full at {values:,} values",
            ratios("torch.full", "oracle.fd", "seconds", keys),
            ratios("torch.full", "oracle.fd", "cpu_seconds", keys), f">= {lim:g}x",
            all_at_least(lim), "torch.full seconds / oracle.fd seconds" if res["meta"].get(
                "torch") == "used" else f"not measured: torch {res['meta'].get('torch')}")
    add("FD certification never slower than the CS231n loop",
        ratios("cs231n", "oracle.fd", "seconds"), ratios("cs231n", "oracle.fd", "cpu_seconds"),
        "cs231n / oracle.fd >= 1 on every workload", all_at_least(1.0),
        f"the CS231n loop is extrapolated above {FULL_CAP:,} values")
    errs = {k: W[k]["checkers"].get("oracle.fd", {}).get("rel_err") for k in W}
    big = {k: W[k]["max_abs_gradient"] for k in W}
    o1 = {k: v for k, v in errs.items() if 0.1 <= big[k] <= 100}
    add("FD certification relative error <= 1e-8 where gradients are O(1)", o1, o1, "<= 1e-8",
        lambda d: all(v is not None and v <= 1e-8 for v in d.values()) if d else None,
        "max|numeric - analytic| / max|analytic| of oracle.fd; O(1) = max|gradient| in "
        "[0.1, 100]; all workloads: " + ", ".join(
            f"{k} {errs[k]:.1e} (max|g| {big[k]:.3g})" for k in W if errs[k] is not None))
    sens = res.get("sensitivity", {}).get("checkers", {}).get("oracle.fd", {})
    if sens and "skipped" not in sens:
        def sees(d: dict[str, Any]) -> bool:
            return bool(d["flags_1pct_on_largest_entry"] and d["flags_1pct_on_median_entry"]
                        and not d["flags_correct_gradient"])
        add("FD certification sees a single entry off by 1% (Dense 32x64->64)", sens, sens,
            "flags both 1% cases and not the correct gradient", sees)
    add("directional screen within 3x the floor", paired("oracle.screen", "wall"),
        paired("oracle.screen", "cpu"), "<= 3x the floor on every workload",
        all_at_most(3.0), "oracle.screen seconds / floor seconds (the target's own forward + "
        "backward that produced the gradient is not counted in the screen)" + pairing)
    e2e = res.get("end_to_end", {})
    for profile, lim in (("default", 5.0), ("ci", 30.0)):
        r = e2e.get(f"cli_{profile}") or e2e.get(f"in_process_{profile}")
        goal = (f"nnfs-oracle check on a complete implementation (by default the book's chapter "
                f"22 code, Model included), {profile} profile, <= {lim:g} s")
        if r is None:
            add(goal, None, None, f"<= {lim:g} s", lambda v: None, "not measured (--no-e2e)")
            continue
        if r.get("exit_code") not in (None, 0, 1):
            add(goal, None, None, f"<= {lim:g} s", lambda v: None,
                f"the command failed (exit {r.get('exit_code')}): {r.get('stderr_tail')}")
            continue

        def within(v: float, lim: float = lim) -> bool:
            return v <= lim

        add(goal, round(r["wall_seconds"], 2), round(r["cpu_seconds"], 2), f"<= {lim:g} s",
            within,
            f"{e2e.get('target')}; exit {r.get('exit_code')}; not passing: "
            f"{r.get('not_passing')}; CPU = the command and its worker process")
    gw, gc = e2e.get("growth_exponent_wall_seconds"), e2e.get("growth_exponent_cpu_seconds")
    if gc is not None:
        add("cost of a run grows no faster than linearly in the number of examples",
            round(gw, 3), round(gc, 3),
            "log-log slope of seconds vs max_examples <= 1 (+0.1 allowance for timing noise)",
            lambda v: v <= 1.1, f"max_examples {[r['max_examples'] for r in e2e['growth']]}; "
            f"exponent per interval (CPU): {_rounded(e2e.get('growth_interval_exponents_cpu'))}"
            f"; CPU seconds per example: {_rounded(e2e.get('cpu_seconds_per_example'))}")
    return out


# --------------------------------------------------------------------------- output


def _rounded(d: Any) -> Any:
    return {k: round(v, 3) for k, v in d.items()} if isinstance(d, dict) else d


def _fmt(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.0f} us"


def _fmt_err(e: float | None) -> str:
    return "-" if e is None else f"{e:.1e}"


_SHORT = {
    "oracle.reference": "o.ref", "oracle.fd": "o.fd", "oracle.fd.engine": "o.fd.eng",
    "oracle.screen": "o.screen", "scipy.check_grad": "check_grad",
    "scipy.check_grad.random": "cg.random", "scipy.jacobian": "jacobian", "cs231n": "cs231n",
    "torch.full": "torch.full", "torch.fast": "torch.fast",
}


def table(res: dict[str, Any]) -> str:
    W = res["workloads"]
    lines = []
    cols = ["floor", *CHECKERS]
    head = f"{'workload':22s} {'values':>7s} " + " ".join(
        f"{_SHORT.get(c, c):>10s}" for c in cols)
    for title, what in (("median wall time (~ extrapolated)", "time"),
                        ("ratio to the floor", "ratio"), ("relative error achieved", "err")):
        lines += ["", title, head, "-" * len(head)]
        for _k, row in W.items():
            cells = []
            for c in cols:
                e = row["floor"] if c == "floor" else row["checkers"].get(c, {})
                if what == "time":
                    s = _fmt(e.get("seconds"))
                    cells.append(("~" if e.get("extrapolated") else "") + s)
                elif what == "ratio":
                    r = 1.0 if c == "floor" else e.get("ratio_to_floor")
                    cells.append("-" if r is None else f"{r:.3g}x")
                else:
                    cells.append("" if c == "floor" else _fmt_err(e.get("rel_err")))
            lines.append(f"{row['label']:22s} {row['values']:>7,d} " + " ".join(
                f"{c:>10s}" for c in cells))
    if W:
        speed = [("torch.full", "oracle.fd"), ("cs231n", "oracle.fd"),
                 ("scipy.check_grad", "oracle.fd"), ("torch.fast", "oracle.screen"),
                 ("scipy.check_grad.random", "oracle.screen")]
        head2 = f"{'workload':22s} {'values':>7s} " + " ".join(
            f"{_SHORT[a] + '/' + _SHORT[b]:>21s}" for a, b in speed)
        lines += ["", "speed-up of the oracle's checkers over the anchors (~ extrapolated)",
                  head2, "-" * len(head2)]
        for _k, row in W.items():
            cells = []
            for a, b in speed:
                ea, eb = row["checkers"].get(a, {}), row["checkers"].get(b, {})
                if ea.get("seconds") and eb.get("seconds"):
                    mark = "~" if ea.get("extrapolated") else ""
                    cells.append(f"{mark}{ea['seconds'] / eb['seconds']:.3g}x")
                else:
                    cells.append("-")
            lines.append(f"{row['label']:22s} {row['values']:>7,d} " + " ".join(
                f"{c:>21s}" for c in cells))
    sens = res.get("sensitivity")
    if sens:
        lines += ["", f"single entry off by 1% on {sens['label']} (flags: correct / largest "
                  "entry / median entry)"]
        for name, r in sens["checkers"].items():
            if "skipped" in r:
                lines.append(f"  {name:26s} skipped: {r['skipped']}")
            else:
                lines.append(f"  {name:26s} {r['flags_correct_gradient']!s:>6s} "
                             f"{r['flags_1pct_on_largest_entry']!s:>6s} "
                             f"{r['flags_1pct_on_median_entry']!s:>6s}")
    sc = res.get("scaling", {}).get("exponents", {})
    if sc:
        lines += ["", "Dense scaling: fitted exponent of time vs values checked (measured points)"]
        for name, e in sc.items():
            lines.append(f"  {name:26s} {e['exponent']:.2f}  ({e['points']} points)")
    lines += ["", f"goals (judged on {judged_clock(res)[1]})"]
    for g in res.get("goals", []):
        met = {True: "MET", False: "NOT MET", None: "n/a"}[g["met"]]
        lines.append(f"  [{met:7s}] {g['goal']}: {g['measured']}"
                     + ("" if g["measured"] == g["measured_wall"] else
                        f"  (wall: {g['measured_wall']})"))
        if g.get("detail"):
            lines.append(f"            {g['detail']}")
    return "\n".join(lines)


def scaling(W: dict[str, Any]) -> dict[str, Any]:
    keys = [f"dense_{n}" for n in DENSE_SIZES if f"dense_{n}" in W]
    out: dict[str, Any] = {"workloads": keys, "values": [W[k]["values"] for k in keys],
                           "exponents": {}}
    for name in ("floor", *CHECKERS):
        pts = []
        for k in keys:
            e = W[k]["floor"] if name == "floor" else W[k]["checkers"].get(name, {})
            if e.get("seconds") and not e.get("extrapolated"):
                pts.append((math.log(W[k]["values"]), math.log(e["seconds"])))
        if len(pts) >= 3:
            out["exponents"][name] = {"exponent": _slope([p[0] for p in pts], [p[1] for p in pts]),
                                      "points": len(pts)}
    return out


def checker_profiles(W: dict[str, Any], built: dict[str, Workload]) -> list[dict[str, Any]]:
    picks: list[tuple[str, str]] = []
    if "dense_64" in built:
        picks.append(("oracle.fd", "dense_64"))
    for name in ("oracle.reference", "oracle.screen", "oracle.fd"):
        ratios: dict[str, float] = {}
        for k in W:  # CPU time: wall-clock ratios of microsecond calls are noisy
            c, f = W[k]["checkers"].get(name, {}).get("cpu_seconds"), W[k]["floor"].get(
                "cpu_seconds")
            if c is not None and f:
                ratios[k] = c / f
        if ratios:
            worst = max(ratios, key=lambda k: ratios[k])
            if (name, worst) not in picks:
                picks.append((name, worst))
    return [profile_checker(built[k], name) for name, k in picks]


def _versions(use_torch: bool) -> dict[str, str | None]:
    import hypothesis
    import scipy

    v: dict[str, str | None] = {
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
        "hypothesis": hypothesis.__version__, "torch": None,
    }
    if use_torch:
        v["torch"] = _torch().__version__
    return v


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="Dense sizes up to 64, short budgets, growth series {5, 10}")
    p.add_argument("--no-e2e", action="store_true", help="skip the nnfs-oracle check timings")
    p.add_argument("--no-torch", action="store_true", help="skip torch even when installed")
    p.add_argument("--no-checkers", action="store_true",
                   help="skip the gradient-checker workloads (end to end only)")
    p.add_argument("--target", type=Path, default=None,
                   help="a complete implementation for the end-to-end timing "
                   "(default: tests/corpus/correct/c01_book_final_classes.py)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of repetitions per measurement (default 0.4, --quick 0.1)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    args = p.parse_args(argv)
    budget = args.budget if args.budget is not None else (0.1 if args.quick else 0.4)
    if budget <= 0:
        p.error("--budget must be a positive number of seconds")
    target = (args.target or default_target()).resolve()
    if args.target is not None and not target.is_file():
        p.error(f"--target {args.target}: no such file")
    use_torch = _torch_available() and not args.no_torch
    if use_torch:
        torch = _torch()
        torch.set_num_threads(1)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass

    def log(msg: str) -> None:
        print(msg, flush=True)

    started = time.perf_counter()
    res: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": _git_commit(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "versions": _versions(use_torch),
            "threads": "one thread per library: " + ", ".join(f"{v}=1" for v in _THREAD_VARS)
            + (", torch.set_num_threads(1)" if use_torch else ""),
            "torch": "used" if use_torch else ("skipped (--no-torch)" if _torch_available()
                                               else "not installed: torch columns skipped"),
            "timing": "median of repeated runs after one warm-up run; wall clock "
            "(time.perf_counter) and CPU time of this process (time.process_time)",
            "budget_seconds_per_measurement": budget, "full_cap_values": FULL_CAP,
            "jacobian_cap_values": JACOBIAN_CAP, "quick": args.quick,
        },
        "verdict_rules": VERDICT_RULES,
        "workloads": {},
    }
    if not use_torch:
        log("torch is not installed: the torch.full and torch.fast columns are skipped")
    bench = Bench(budget, use_torch, log)
    if not args.no_checkers:
        log("warming up every library on a tiny problem (excluded)")
        warm_up(use_torch)
    sizes = [n for n in DENSE_SIZES if not args.quick or n <= 64]
    builders: list[Callable[[], Workload]] = [softmax_workload, cce_workload, combined_workload,
                                              spiral_workload]
    builders += [functools.partial(dense_workload, n) for n in sizes]
    if args.no_checkers:
        builders = []
    if builders:
        log("gradient checkers (one thread per library)")
    built: dict[str, Workload] = {}
    for build in builders:
        w = build()
        res["workloads"][w.key] = bench.run_workload(w)
        built[w.key] = w
    if "dense_64" in built:
        res["sensitivity"] = sensitivity(built["dense_64"], use_torch, log)
    if built:
        log("profiles of the oracle's checkers (worst ratio to the floor, and oracle.fd on "
            "Dense 32x64->64)")
        res["checker_profiles"] = checker_profiles(res["workloads"], built)
    res["scaling"] = scaling(res["workloads"])
    if not args.no_e2e:
        log("end to end")
        res["meta"]["loadavg_e2e_start"] = [round(x, 2) for x in os.getloadavg()]
        growth = (5, 10) if args.quick else (5, 10, 20, 40)
        res["end_to_end"] = end_to_end(target, growth, log)
        res["meta"]["loadavg_e2e_end"] = [round(x, 2) for x in os.getloadavg()]
    res["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    res["meta"]["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    res["goals"] = goals(res)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, default=_json_default) + "\n", encoding="utf-8")
    print(table(res))
    print(f"\nwrote {args.out} in {res['meta']['elapsed_seconds']} s")
    return 0


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
