"""Hypothesis strategies for nnfs-style neural-network components.

A public API: import it to drive your own properties.  Every strategy takes
keyword-only options, validates them early, and generates float64 data kept a
stated margin away from the kinks of the component it feeds, *by construction*
(a sign times a magnitude that starts at the margin), never by filtering, so
no ``filter_too_much`` health check can fire.

Example::

    from hypothesis import given
    from oracle import strategies as st_nn

    @given(st_nn.labels(samples=4, classes=3))
    def test_sparse_and_one_hot_agree(pair):
        sparse, one_hot = pair
        assert (one_hot.argmax(axis=1) == sparse).all()

Margins (why these numbers): the central-difference step is
``6e-6 * max(1, |x|)`` (see :mod:`oracle.numerics`), so a margin of ``1e-3``
keeps every stencil on one side of a kink with a factor > 100 to spare even for
``|x|`` up to 10 (and up to 100 for the 5-point stencil's ``2 * 7.4e-4 * |x|``
reach, which needs ``|x| <= 0.6/1.5e-3``; kinks only matter near 0, where that
holds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "KINK_MARGIN",
    "PROBABILITY_FLOOR",
    "CLIP",
    "batch_sizes",
    "feature_sizes",
    "class_counts",
    "floats_away_from",
    "inputs",
    "relu_inputs",
    "logits",
    "probability_rows",
    "sparse_labels",
    "one_hot",
    "labels",
    "regression_targets",
    "targets_away_from",
    "binary_targets",
    "binary_probabilities",
    "upstream_gradients",
    "dense_parameters",
    "dropout_rates",
    "regularization_strengths",
    "optimizer_hyperparameters",
    "gradient_sequences",
]

#: Distance kept from every kink (ReLU at 0, |y - p| at 0, L1 at w = 0).
KINK_MARGIN = 1e-3
#: The clip the book's cross-entropy losses apply: p in [1e-7, 1 - 1e-7].
CLIP = 1e-7
#: Smallest probability drawn for finite-difference use: -log(p) has third
#: derivative 2/p^3, so at p = 0.01 the O(h^2) truncation of a 6e-6 step is
#: ~ (6e-6)^2 * 2e6 / 6 ~ 1e-5 absolute on a gradient of 100: 1e-7 relative.
PROBABILITY_FLOOR = 1e-2

_FLOAT64 = np.dtype(np.float64)


_CACHE: dict[Any, Any] = {}


def _cached(fn: Any) -> Any:
    """Memoise a strategy constructor on hashable arguments.

    Strategies are immutable, and building one (plus Hypothesis's validation of
    it) costs more than drawing from it: a composite case that rebuilt its
    strategies on every draw spent most of its time there.
    """
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            key = (fn.__name__, args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:  # an array argument: build afresh
            return fn(*args, **kwargs)
        if key not in _CACHE:
            _CACHE[key] = fn(*args, **kwargs)
        return _CACHE[key]

    return wrapper


def _seeded(shape: tuple[int, ...], make: Any) -> st.SearchStrategy[np.ndarray]:
    """One Hypothesis integer seeds a NumPy generator that makes the whole array.

    About 20x cheaper to draw than element by element; shrinking then simplifies
    the shape and the seed, not single values.  Used where many cases must be
    drawn quickly (judging a target); the element-wise form is the default.
    """
    return st.integers(0, 2**32 - 1).map(lambda s: make(np.random.default_rng(s), shape))


def _floats(shape: tuple[int, ...], low: float, high: float, seeded: bool):
    if seeded:
        return _seeded(shape, lambda r, sh: r.uniform(low, high, size=sh))
    return hnp.arrays(
        _FLOAT64, shape, elements=st.floats(low, high, allow_nan=False, allow_infinity=False)
    )


def _ints(shape: tuple[int, ...], low: int, high: int, seeded: bool, dtype: Any = np.int64):
    if seeded:
        return _seeded(shape, lambda r, sh: r.integers(low, high + 1, size=sh).astype(dtype))
    return hnp.arrays(dtype, shape, elements=st.integers(low, high))


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {bound}, got {value!r}")


def _check_float(name: str, value: Any, low: float, high: float, *, open_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"{name} must be a float, got {value!r}")
    if not math.isfinite(value) or value < low or value > high or (open_low and value == low):
        bracket = "(" if open_low else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")


def _sizes(name: str, min_value: int, max_value: int) -> st.SearchStrategy[int]:
    _check_int(f"{name}: min_value", min_value, 1)
    _check_int(f"{name}: max_value", max_value, min_value)
    return st.integers(min_value, max_value)


@_cached
def batch_sizes(*, min_value: int = 1, max_value: int = 8) -> st.SearchStrategy[int]:
    """Number of samples N (rows).

    * ``min_value``: default 1 (a batch of one sample is a classic broadcast trap).
    * ``max_value``: default 8.
    """
    return _sizes("batch_sizes", min_value, max_value)


@_cached
def feature_sizes(*, min_value: int = 1, max_value: int = 6) -> st.SearchStrategy[int]:
    """Number of features / neurons per sample (columns)."""
    return _sizes("feature_sizes", min_value, max_value)


@_cached
def class_counts(*, min_value: int = 2, max_value: int = 6) -> st.SearchStrategy[int]:
    """Number of classes K for classification (at least 2)."""
    _check_int("class_counts: min_value", min_value, 2)
    return _sizes("class_counts", min_value, max_value)


def _shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in shape
    ):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}")
    shape = tuple(int(s) for s in shape)
    if not shape or any(s < 1 for s in shape):
        raise ValueError(f"shape must have positive sizes, got {shape!r}")
    return shape


def _check_flag(name: str, value: Any, *, optional: bool = False) -> None:
    if isinstance(value, bool) or (optional and value is None):
        return
    kind = "True, False or None" if optional else "True or False"
    raise TypeError(f"{name} must be {kind}, got {value!r}")


@_cached
def floats_away_from(
    shape: Any,
    *,
    center: np.ndarray | float = 0.0,
    margin: float = KINK_MARGIN,
    scale: float = 3.0,
    seeded: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays ``center + sign * (margin + m)`` with ``m`` in [0, scale]: never within
    ``margin`` of ``center`` (a kink), by construction.

    * ``shape``: int or tuple.
    * ``center``: the kink location, a scalar or an array broadcastable to ``shape``.
    * ``margin``: default :data:`KINK_MARGIN`.
    * ``scale``: largest extra distance, default 3.
    * ``seeded``: draw the array from one seed (fast; see the module notes).
    """
    shape = _shape(shape)
    _check_float("floats_away_from: margin", margin, 0.0, 1e3)
    _check_float("floats_away_from: scale", scale, 0.0, 1e6)
    _check_flag("floats_away_from: seeded", seeded)
    try:
        fits = np.broadcast_shapes(np.shape(center), shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"floats_away_from: center of shape {np.shape(center)} does not broadcast to {shape}"
        )
    mags = _floats(shape, 0.0, scale, seeded)
    signs = _ints(shape, 0, 1, seeded, np.int8).map(lambda b: 2 * b.astype(np.int8) - 1)
    c = np.asarray(center, dtype=np.float64)
    return st.builds(lambda m, s: c + s * (margin + m), mags, signs)


@_cached
def inputs(
    shape: Any, *, scale: float = 3.0, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Finite float64 inputs in [-scale, scale] (no kink to avoid: Dense, Sigmoid, Linear)."""
    shape = _shape(shape)
    _check_float("inputs: scale", scale, 0.0, 1e6, open_low=True)
    return _floats(shape, -scale, scale, seeded)


@_cached
def relu_inputs(
    shape: Any, *, margin: float = KINK_MARGIN, scale: float = 3.0, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """ReLU inputs at least ``margin`` away from 0 (the kink), both signs."""
    return floats_away_from(shape, center=0.0, margin=margin, scale=scale, seeded=seeded)


@_cached
def logits(
    shape: Any, *, large: bool = False, scale: float = 5.0, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Pre-softmax scores.  ``large=True`` adds a per-row offset up to +-1000 and
    spreads up to 800, where ``exp`` overflows without max-subtraction."""
    shape = _shape(shape)
    _check_flag("logits: large", large)
    base = inputs(shape, scale=scale, seeded=seeded)
    if not large:
        return base
    offsets = st.floats(-1000.0, 1000.0)
    spread = st.sampled_from([1.0, 50.0, 800.0])
    return st.builds(lambda b, o, s: b / scale * s + o, base, offsets, spread)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@_cached
def probability_rows(
    samples: int, classes: int, *, floor: float = PROBABILITY_FLOOR, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Rows of probabilities (positive, summing to 1) with every entry >= ``floor``.

    Built as ``(1 - K*floor) * softmax(z) + floor``, so the floor holds by
    construction.  ``floor=0`` allows probabilities that underflow to exactly 0
    (for stability checks).
    """
    _check_int("probability_rows: samples", samples, 1)
    _check_int("probability_rows: classes", classes, 1)
    _check_float("probability_rows: floor", floor, 0.0, 1.0 / classes)
    if floor * classes >= 1.0:
        raise ValueError(f"floor*classes must be < 1, got {floor}*{classes}")
    scale = 6.0 if floor > 0 else 60.0
    return inputs((samples, classes), scale=scale, seeded=seeded).map(
        lambda z: (1.0 - classes * floor) * _softmax(z) + floor
    )


@_cached
def sparse_labels(
    samples: int, classes: int, *, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Integer class indices, shape (samples,), values in [0, classes)."""
    _check_int("sparse_labels: samples", samples, 1)
    _check_int("sparse_labels: classes", classes, 1)
    return _ints((samples,), 0, classes - 1, seeded)


def one_hot(sparse: np.ndarray, classes: int) -> np.ndarray:
    """The one-hot twin of sparse labels (float64, built without ``np.eye``)."""
    sparse = np.asarray(sparse)
    if sparse.size and (sparse.min() < 0 or sparse.max() >= classes):
        raise ValueError(
            f"one_hot: labels must be in [0, classes={classes}), got {sparse.min()}..{sparse.max()}"
        )
    out = np.zeros((len(sparse), classes), dtype=np.float64)
    out[np.arange(len(sparse)), np.asarray(sparse, dtype=np.int64)] = 1.0
    return out


@_cached
def labels(
    samples: int, classes: int, *, seeded: bool = False
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """``(sparse, one_hot)`` from the same draw: the same labels in both formats."""
    return sparse_labels(samples, classes, seeded=seeded).map(lambda s: (s, one_hot(s, classes)))


@_cached
def regression_targets(
    shape: Any, *, scale: float = 3.0, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Real-valued targets for MSE / MAE."""
    return inputs(shape, scale=scale, seeded=seeded)


def targets_away_from(
    predictions: np.ndarray, *, margin: float = KINK_MARGIN, scale: float = 3.0,
    seeded: bool = False,
) -> st.SearchStrategy[np.ndarray]:
    """Targets ``y`` with ``|y - p| >= margin`` elementwise (the kink of MAE)."""
    predictions = np.asarray(predictions, dtype=np.float64)
    return floats_away_from(
        predictions.shape, center=predictions, margin=margin, scale=scale, seeded=seeded
    )


@_cached
def binary_targets(
    shape: Any, *, soft: bool = False, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """0/1 targets for binary cross-entropy (``soft=True``: any value in [0, 1])."""
    shape = _shape(shape)
    if soft:
        return _floats(shape, 0.0, 1.0, seeded)
    return _ints(shape, 0, 1, seeded).map(lambda a: a.astype(np.float64))


@_cached
def binary_probabilities(
    shape: Any, *, floor: float = PROBABILITY_FLOOR, seeded: bool = False
) -> st.SearchStrategy[np.ndarray]:
    """Sigmoid outputs in [floor, 1 - floor] (``floor=0``: exact 0 and 1 allowed)."""
    shape = _shape(shape)
    _check_float("binary_probabilities: floor", floor, 0.0, 0.49)
    if floor == 0:
        special = np.array([0.0, 1.0, 1e-12, 1 - 1e-12, 0.5])
        if seeded:
            def make(r: np.random.Generator, sh: tuple[int, ...]) -> np.ndarray:
                u = r.uniform(0.0, 1.0, size=sh)
                pick = r.random(size=sh) < 0.4
                return np.where(pick, r.choice(special, size=sh), u)

            return _seeded(shape, make)
        elems = st.floats(0.0, 1.0) | st.sampled_from(special.tolist())
        return hnp.arrays(_FLOAT64, shape, elements=elems)
    return _floats(shape, floor, 1.0 - floor, seeded)


@_cached
def upstream_gradients(shape: Any, *, seeded: bool = False) -> st.SearchStrategy[np.ndarray]:
    """Upstream gradients ``dvalues``: Gaussian-like, never all equal.

    All-ones upstream hides transposes and swapped axes; we add an index ramp
    so no two entries coincide, whatever Hypothesis shrinks the draw to.
    """
    shape = _shape(shape)
    ramp = (np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) + 1.0) * 0.137
    ramp = ramp - ramp.mean() + 0.05
    return inputs(shape, scale=2.0, seeded=seeded).map(lambda g: g + ramp)


@_cached
def dense_parameters(
    n_inputs: int, n_neurons: int, *, l1: bool = False, scale: float = 1.0, seeded: bool = False
) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray]]:
    """``(weights (n_in, n_out), biases (1, n_out))``.  ``l1=True`` keeps every
    parameter ``KINK_MARGIN`` away from 0, the kink of the L1 penalty."""
    _check_int("dense_parameters: n_inputs", n_inputs, 1)
    _check_int("dense_parameters: n_neurons", n_neurons, 1)
    if l1:
        w = floats_away_from((n_inputs, n_neurons), scale=scale, seeded=seeded)
        b = floats_away_from((1, n_neurons), scale=scale, seeded=seeded)
    else:
        w = inputs((n_inputs, n_neurons), scale=scale, seeded=seeded)
        b = inputs((1, n_neurons), scale=scale, seeded=seeded)
    return st.tuples(w, b)


@_cached
def dropout_rates(*, min_value: float = 0.05, max_value: float = 0.9) -> st.SearchStrategy[float]:
    """Dropout rates (probability to DROP, the book's convention), in (0, 1)."""
    _check_float("dropout_rates: min_value", min_value, 0.0, 1.0, open_low=True)
    _check_float("dropout_rates: max_value", max_value, min_value, 1.0)
    if max_value >= 1.0:
        raise ValueError("dropout_rates: max_value must be < 1 (rate 1 drops everything)")
    return st.floats(min_value, max_value)


@_cached
def regularization_strengths(*, allow_zero: bool = True) -> st.SearchStrategy[float]:
    """L1/L2 penalties lambda: 0 (term absent) or in [1e-4, 1]."""
    _check_flag("regularization_strengths: allow_zero", allow_zero)
    pos = st.floats(1e-4, 1.0)
    return (st.just(0.0) | pos) if allow_zero else pos


_OPTIMIZER_DEFAULTS = {
    "sgd": {"learning_rate": 1.0, "decay": 0.0, "momentum": 0.0},
    "adagrad": {"learning_rate": 1.0, "decay": 0.0, "epsilon": 1e-7},
    "rmsprop": {"learning_rate": 0.001, "decay": 0.0, "epsilon": 1e-7, "rho": 0.9},
    "adam": {"learning_rate": 0.001, "decay": 0.0, "epsilon": 1e-7, "beta_1": 0.9, "beta_2": 0.999},
}


@_cached
def optimizer_hyperparameters(
    kind: str, *, decay: bool | None = None, momentum: bool | None = None
) -> st.SearchStrategy[dict[str, float]]:
    """Constructor keyword arguments for ``Optimizer_SGD`` (``kind="sgd"``),
    ``"adagrad"``, ``"rmsprop"`` or ``"adam"``.

    * ``decay``: True forces a decay > 0, False forces 0, None draws either.
    * ``momentum``: the same for SGD's momentum.
    Epsilon stays at the book's 1e-7 or near it, where its placement (inside or
    outside the square root) is visible against gradients of ~1e-4.
    """
    if kind not in _OPTIMIZER_DEFAULTS:
        raise ValueError(f"kind must be one of {sorted(_OPTIMIZER_DEFAULTS)}, got {kind!r}")
    _check_flag("optimizer_hyperparameters: decay", decay, optional=True)
    _check_flag("optimizer_hyperparameters: momentum", momentum, optional=True)
    base = _OPTIMIZER_DEFAULTS[kind]
    fields: dict[str, st.SearchStrategy[float]] = {
        "learning_rate": st.sampled_from([base["learning_rate"]]) | st.floats(1e-3, 1.0),
    }
    if decay is None:
        fields["decay"] = st.just(0.0) | st.floats(1e-4, 0.5)
    else:
        fields["decay"] = st.floats(1e-3, 0.5) if decay else st.just(0.0)
    if kind == "sgd":
        if momentum is None:
            fields["momentum"] = st.just(0.0) | st.floats(0.1, 0.95)
        else:
            fields["momentum"] = st.floats(0.1, 0.95) if momentum else st.just(0.0)
    else:
        fields["epsilon"] = st.sampled_from([1e-7, 1e-8, 1e-6])
    if kind == "rmsprop":
        fields["rho"] = st.sampled_from([0.9]) | st.floats(0.5, 0.99)
    if kind == "adam":
        fields["beta_1"] = st.sampled_from([0.9]) | st.floats(0.5, 0.95)
        fields["beta_2"] = st.sampled_from([0.999]) | st.floats(0.9, 0.9999)
    return st.fixed_dictionaries(fields)


@_cached
def gradient_sequences(
    shape: Any, *, steps: int = 3, tiny: bool | None = None, seeded: bool = False
) -> st.SearchStrategy[list[np.ndarray]]:
    """``steps`` gradients of ``shape`` for k optimizer steps.

    * ``tiny``: True draws magnitudes around 1e-4 (where ``sqrt(cache) ~ 1e-4`` and
      epsilon = 1e-7 inside vs outside the square root differ by 3x, not 1e-3);
      False draws O(1); None draws either per sequence.
    Entries are nonzero (sign times a magnitude), so caches are never 0.
    """
    shape = _shape(shape)
    _check_int("gradient_sequences: steps", steps, 1, 50)
    _check_flag("gradient_sequences: tiny", tiny, optional=True)
    one = floats_away_from(shape, margin=0.1, scale=2.0, seeded=seeded)
    seq = st.lists(one, min_size=steps, max_size=steps)
    scale = st.sampled_from([1e-4, 1.0]) if tiny is None else st.just(1e-4 if tiny else 1.0)
    return st.builds(lambda s, k: [g * k for g in s], seq, scale)
