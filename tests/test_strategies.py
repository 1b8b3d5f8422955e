"""Tests of the public strategies in :mod:`oracle.strategies`.

They are a public API, so they are held to Hypothesis's own standards: bad
arguments fail early with a message naming the argument, the stated margins
hold for every draw, the sparse/one-hot twins are one label set, probability
rows sum to 1 above their floor, and no health check fires under Hypothesis's
default settings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import strategies as nst

EPS = float(np.finfo(np.float64).eps)

# --------------------------------------------------------------------------- argument validation

#: (strategy, keyword arguments, exception, text the message must contain)
BAD_ARGUMENTS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("batch_sizes", {"min_value": 0}, ValueError, "min_value"),
    ("batch_sizes", {"min_value": 1.5}, TypeError, "min_value"),
    ("batch_sizes", {"min_value": 3, "max_value": 2}, ValueError, "max_value"),
    ("batch_sizes", {"max_value": "8"}, TypeError, "max_value"),
    ("feature_sizes", {"min_value": True}, TypeError, "min_value"),
    ("feature_sizes", {"max_value": 0}, ValueError, "max_value"),
    ("class_counts", {"min_value": 1}, ValueError, "min_value"),
    ("class_counts", {"max_value": 1}, ValueError, "max_value"),
    ("floats_away_from", {"shape": (0,)}, ValueError, "shape"),
    ("floats_away_from", {"shape": (2,), "margin": -1.0}, ValueError, "margin"),
    ("floats_away_from", {"shape": (2,), "margin": float("nan")}, ValueError, "margin"),
    ("floats_away_from", {"shape": (2,), "scale": "x"}, TypeError, "scale"),
    ("inputs", {"shape": (2, 2), "scale": 0.0}, ValueError, "scale"),
    ("inputs", {"shape": ()}, ValueError, "shape"),
    ("inputs", {"shape": (2, -1)}, ValueError, "shape"),
    ("relu_inputs", {"shape": (2,), "margin": -0.1}, ValueError, "margin"),
    ("logits", {"shape": (2, 2), "scale": -1.0}, ValueError, "scale"),
    ("probability_rows", {"samples": 0, "classes": 2}, ValueError, "samples"),
    ("probability_rows", {"samples": 2, "classes": 0}, ValueError, "classes"),
    ("probability_rows", {"samples": 2, "classes": 2, "floor": 0.6}, ValueError, "floor"),
    ("probability_rows", {"samples": 2, "classes": 2, "floor": 0.5}, ValueError, "floor"),
    ("probability_rows", {"samples": 2, "classes": 2, "floor": -0.1}, ValueError, "floor"),
    ("sparse_labels", {"samples": True, "classes": 2}, TypeError, "samples"),
    ("sparse_labels", {"samples": 2, "classes": 0}, ValueError, "classes"),
    ("labels", {"samples": 2, "classes": "3"}, TypeError, "classes"),
    ("regression_targets", {"shape": (2,), "scale": 0}, ValueError, "scale"),
    ("targets_away_from", {"predictions": np.zeros(2), "margin": -1.0}, ValueError, "margin"),
    ("binary_targets", {"shape": 0}, ValueError, "shape"),
    ("binary_probabilities", {"shape": (2,), "floor": 0.5}, ValueError, "floor"),
    ("upstream_gradients", {"shape": ()}, ValueError, "shape"),
    ("dense_parameters", {"n_inputs": 0, "n_neurons": 2}, ValueError, "n_inputs"),
    ("dense_parameters", {"n_inputs": 2, "n_neurons": 2.0}, TypeError, "n_neurons"),
    ("dense_parameters", {"n_inputs": 2, "n_neurons": 2, "scale": -1.0}, ValueError, "scale"),
    ("dropout_rates", {"min_value": 0.0}, ValueError, "min_value"),
    ("dropout_rates", {"max_value": 1.0}, ValueError, "max_value"),
    ("dropout_rates", {"min_value": 0.5, "max_value": 0.4}, ValueError, "max_value"),
    ("optimizer_hyperparameters", {"kind": "nadam"}, ValueError, "kind"),
    ("gradient_sequences", {"shape": (2,), "steps": 0}, ValueError, "steps"),
    ("gradient_sequences", {"shape": (2,), "steps": 51}, ValueError, "steps"),
    ("floats_away_from", {"shape": "abc"}, TypeError, "shape"),
    ("floats_away_from", {"shape": 2.5}, TypeError, "shape"),
    ("inputs", {"shape": None}, TypeError, "shape"),
    ("floats_away_from", {"shape": (2,), "center": np.zeros(3)}, ValueError, "center"),
    ("logits", {"shape": (2, 2), "large": "yes"}, TypeError, "large"),
    ("regularization_strengths", {"allow_zero": "no"}, TypeError, "allow_zero"),
    ("optimizer_hyperparameters", {"kind": "sgd", "decay": "x"}, TypeError, "decay"),
    ("gradient_sequences", {"shape": (2,), "tiny": "x"}, TypeError, "tiny"),
]


def test_one_hot_rejects_labels_out_of_range() -> None:
    with pytest.raises(ValueError, match="classes"):
        nst.one_hot(np.array([0, 3]), 2)


@pytest.mark.parametrize(
    ("name", "kwargs", "exc", "text"), BAD_ARGUMENTS,
    ids=[f"{n}-{'-'.join(k)}-{i}" for i, (n, k, _, _) in enumerate(BAD_ARGUMENTS)],
)
def test_bad_arguments_raise_naming_the_argument(
    name: str, kwargs: dict[str, Any], exc: type[Exception], text: str
) -> None:
    # Raised when the strategy is built, before any drawing.
    with pytest.raises(exc, match=text):
        getattr(nst, name)(**kwargs)


def test_the_public_surface() -> None:
    for name in nst.__all__:
        assert hasattr(nst, name), name
    assert nst.KINK_MARGIN > 0 and 0 < nst.CLIP < nst.PROBABILITY_FLOOR < 0.5


# --------------------------------------------------------------------------- margins


def _ulps(*arrays: Any) -> Any:
    """A few units in the last place of the largest magnitude involved: the rounding of
    ``center + sign * (margin + m)`` and of the distance computed back from it."""
    big = np.maximum.reduce([np.abs(np.asarray(a, dtype=np.float64)) for a in arrays])
    return 4 * EPS * np.maximum(big, 1.0)


@given(
    x=nst.relu_inputs((3, 4)),
    x_seeded=nst.relu_inputs((3, 4), seeded=True),
    w=nst.dense_parameters(3, 2, l1=True),
    w_seeded=nst.dense_parameters(3, 2, l1=True, seeded=True),
)
def test_kink_margins_hold_around_zero(
    x: np.ndarray, x_seeded: np.ndarray, w: tuple[np.ndarray, np.ndarray],
    w_seeded: tuple[np.ndarray, np.ndarray],
) -> None:
    for a in (x, x_seeded, *w, *w_seeded):
        assert a.dtype == np.float64 and np.all(np.isfinite(a))
        assert np.all(np.abs(a) >= nst.KINK_MARGIN)


@given(
    data=st.data(),
    center=nst.inputs((2, 3), scale=50.0),
    margin=st.floats(1e-6, 1.0),
    seeded=st.booleans(),
)
def test_floats_away_from_keep_the_margin_around_any_center(
    data: st.DataObject, center: np.ndarray, margin: float, seeded: bool
) -> None:
    x = data.draw(nst.floats_away_from((2, 3), center=center, margin=margin, seeded=seeded))
    assert x.shape == (2, 3) and x.dtype == np.float64
    assert np.all(np.abs(x - center) >= margin - _ulps(x, center))
    y = data.draw(nst.targets_away_from(center, margin=margin, seeded=seeded))
    assert np.all(np.abs(y - center) >= margin - _ulps(y, center))


@given(
    seq=nst.gradient_sequences((2, 3), steps=3),
    seq_seeded=nst.gradient_sequences((2, 3), steps=3, seeded=True),
    tiny=nst.gradient_sequences((1, 3), steps=2, tiny=True),
    big=nst.gradient_sequences((1, 3), steps=2, tiny=False),
)
def test_gradient_sequences_are_nonzero_and_scaled(
    seq: list[np.ndarray], seq_seeded: list[np.ndarray], tiny: list[np.ndarray],
    big: list[np.ndarray],
) -> None:
    for s, n in ((seq, 3), (seq_seeded, 3), (tiny, 2), (big, 2)):
        assert len(s) == n and all(g.dtype == np.float64 for g in s)
    for g in tiny:
        assert np.all((np.abs(g) >= 1e-5 * (1 - 1e-12)) & (np.abs(g) <= 2.1e-4 * (1 + 1e-12)))
    for g in big:
        assert np.all((np.abs(g) >= 0.1 * (1 - 1e-12)) & (np.abs(g) <= 2.1 * (1 + 1e-12)))
    for g in seq + seq_seeded:
        assert np.all(np.abs(g) >= 1e-5 * (1 - 1e-12))


@given(
    p=nst.binary_probabilities((4, 3)),
    p_seeded=nst.binary_probabilities((4, 3), seeded=True),
    p0=nst.binary_probabilities((4, 3), floor=0.0),
    t=nst.binary_targets((4, 3)),
    soft=nst.binary_targets((4, 3), soft=True),
)
def test_binary_probabilities_and_targets(
    p: np.ndarray, p_seeded: np.ndarray, p0: np.ndarray, t: np.ndarray, soft: np.ndarray
) -> None:
    f = nst.PROBABILITY_FLOOR
    for a in (p, p_seeded):
        assert np.all((a >= f) & (a <= 1 - f))
    assert np.all((p0 >= 0) & (p0 <= 1))
    assert set(np.unique(t)) <= {0.0, 1.0} and t.dtype == np.float64
    assert np.all((soft >= 0) & (soft <= 1))


# --------------------------------------------------------------------------- labels and rows


@given(
    data=st.data(), samples=nst.batch_sizes(), classes=nst.class_counts(),
    seeded=st.booleans(),
)
def test_sparse_and_one_hot_twins_are_the_same_labels(
    data: st.DataObject, samples: int, classes: int, seeded: bool
) -> None:
    sparse, onehot = data.draw(nst.labels(samples, classes, seeded=seeded))
    assert sparse.shape == (samples,) and np.issubdtype(sparse.dtype, np.integer)
    assert np.all((sparse >= 0) & (sparse < classes))
    assert onehot.shape == (samples, classes) and onehot.dtype == np.float64
    assert set(np.unique(onehot)) <= {0.0, 1.0}
    assert np.array_equal(onehot.sum(axis=1), np.ones(samples))
    assert np.array_equal(onehot.argmax(axis=1), sparse)
    assert np.array_equal(nst.one_hot(sparse, classes), onehot)


@given(
    data=st.data(), samples=nst.batch_sizes(), classes=nst.class_counts(),
    floor=st.sampled_from([nst.PROBABILITY_FLOOR, 0.0, 0.05]), seeded=st.booleans(),
)
def test_probability_rows_sum_to_one_above_the_floor(
    data: st.DataObject, samples: int, classes: int, floor: float, seeded: bool
) -> None:
    """(1 - K f) softmax(z) + f: each entry >= f exactly (rounding is monotone); the row
    sum is 1 within K + 3 roundings of terms <= 1."""
    p = data.draw(nst.probability_rows(samples, classes, floor=floor, seeded=seeded))
    assert p.shape == (samples, classes) and p.dtype == np.float64
    assert np.all(p >= floor) and np.all(p <= 1.0)
    assert np.all(np.abs(p.sum(axis=1) - 1.0) <= 2 * (classes + 3) * EPS)


@given(
    data=st.data(), shape=st.tuples(nst.batch_sizes(), nst.feature_sizes()),
    seeded=st.booleans(),
)
def test_upstream_gradients_never_have_all_entries_equal(
    data: st.DataObject, shape: tuple[int, int], seeded: bool
) -> None:
    g = data.draw(nst.upstream_gradients(shape, seeded=seeded))
    assert g.shape == shape and np.all(np.isfinite(g))
    if g.size > 1:
        assert len(np.unique(g)) > 1


@given(
    large=nst.logits((3, 4), large=True), small=nst.logits((3, 4)),
    rates=nst.dropout_rates(), lam=nst.regularization_strengths(allow_zero=False),
    lam0=nst.regularization_strengths(),
)
def test_ranges(
    large: np.ndarray, small: np.ndarray, rates: float, lam: float, lam0: float
) -> None:
    assert np.all(np.isfinite(large)) and np.all(np.abs(large) <= 1000 + 800 + 1e-9)
    assert np.all(np.abs(small) <= 5.0)
    assert 0.05 <= rates <= 0.9
    assert 1e-4 <= lam <= 1.0
    assert lam0 == 0.0 or 1e-4 <= lam0 <= 1.0


@pytest.mark.parametrize("kind", ["sgd", "adagrad", "rmsprop", "adam"])
@given(data=st.data())
def test_optimizer_hyperparameters_build_the_reference_optimizers(
    kind: str, data: st.DataObject
) -> None:
    import reference

    names = {"sgd": "Optimizer_SGD", "adagrad": "Optimizer_Adagrad",
             "rmsprop": "Optimizer_RMSprop", "adam": "Optimizer_Adam"}
    decay = data.draw(st.sampled_from([None, True, False]))
    momentum = data.draw(st.sampled_from([None, True, False]))
    hp = data.draw(nst.optimizer_hyperparameters(kind, decay=decay, momentum=momentum))
    getattr(reference, names[kind])(**hp)  # every drawn combination is accepted
    assert hp["learning_rate"] > 0
    if decay is not None:
        assert (hp["decay"] > 0) == decay
    if kind == "sgd" and momentum is not None:
        assert (hp["momentum"] > 0) == momentum


# --------------------------------------------------------------------------- health checks

#: One instance of every public strategy, with ordinary arguments.
PUBLIC_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "batch_sizes": nst.batch_sizes(),
    "feature_sizes": nst.feature_sizes(),
    "class_counts": nst.class_counts(),
    "floats_away_from": nst.floats_away_from((4, 3), center=np.linspace(-1, 1, 3)),
    "inputs": nst.inputs((6, 5)),
    "relu_inputs": nst.relu_inputs((6, 5)),
    "logits": nst.logits((6, 5)),
    "logits-large": nst.logits((6, 5), large=True),
    "probability_rows": nst.probability_rows(6, 5),
    "probability_rows-floor0": nst.probability_rows(6, 5, floor=0.0),
    "sparse_labels": nst.sparse_labels(6, 5),
    "labels": nst.labels(6, 5),
    "regression_targets": nst.regression_targets((6, 5)),
    "targets_away_from": nst.targets_away_from(np.linspace(-2, 2, 30).reshape(6, 5)),
    "binary_targets": nst.binary_targets((6, 5)),
    "binary_probabilities": nst.binary_probabilities((6, 5)),
    "binary_probabilities-floor0": nst.binary_probabilities((6, 5), floor=0.0),
    "upstream_gradients": nst.upstream_gradients((6, 5)),
    "dense_parameters": nst.dense_parameters(5, 5),
    "dense_parameters-l1": nst.dense_parameters(5, 5, l1=True),
    "dropout_rates": nst.dropout_rates(),
    "regularization_strengths": nst.regularization_strengths(),
    "optimizer_hyperparameters": nst.optimizer_hyperparameters("adam"),
    "gradient_sequences": nst.gradient_sequences((3, 2), steps=3),
}


def test_every_public_strategy_is_health_checked() -> None:
    functions = {n for n in nst.__all__ if callable(getattr(nst, n)) and n != "one_hot"}
    assert functions <= {k.split("-")[0] for k in PUBLIC_STRATEGIES}


@pytest.mark.parametrize("seeded", [False, True], ids=["elementwise", "seeded"])
@pytest.mark.parametrize("name", sorted(PUBLIC_STRATEGIES))
def test_no_health_check_fails_under_the_default_settings(name: str, seeded: bool) -> None:
    """Hypothesis's default profile (all health checks on; its 200 ms deadline makes the
    too_slow limit 1 s for the first 10 draws; 100 examples), without an example database.

    too_slow is the one wall-clock check: at these sizes (those of the spec table) the
    slowest draw takes ~15 ms on a busy 2-core machine, 7x under its 100 ms per draw.
    """
    strategy = PUBLIC_STRATEGIES[name]
    if seeded:
        if name.split("-")[0] in ("batch_sizes", "feature_sizes", "class_counts",
                                  "dropout_rates", "regularization_strengths",
                                  "optimizer_hyperparameters"):
            pytest.skip("no seeded form")
        base = name.split("-")[0]
        args = {
            "floats_away_from": lambda: nst.floats_away_from((4, 3), seeded=True),
            "inputs": lambda: nst.inputs((6, 5), seeded=True),
            "relu_inputs": lambda: nst.relu_inputs((6, 5), seeded=True),
            "logits": lambda: nst.logits((6, 5), large="large" in name, seeded=True),
            "probability_rows": lambda: nst.probability_rows(
                6, 5, floor=0.0 if "floor0" in name else nst.PROBABILITY_FLOOR, seeded=True),
            "sparse_labels": lambda: nst.sparse_labels(6, 5, seeded=True),
            "labels": lambda: nst.labels(6, 5, seeded=True),
            "regression_targets": lambda: nst.regression_targets((6, 5), seeded=True),
            "targets_away_from": lambda: nst.targets_away_from(np.zeros((6, 5)), seeded=True),
            "binary_targets": lambda: nst.binary_targets((6, 5), seeded=True),
            "binary_probabilities": lambda: nst.binary_probabilities(
                (6, 5), floor=0.0 if "floor0" in name else nst.PROBABILITY_FLOOR, seeded=True),
            "upstream_gradients": lambda: nst.upstream_gradients((6, 5), seeded=True),
            "dense_parameters": lambda: nst.dense_parameters(5, 5, l1="l1" in name, seeded=True),
            "gradient_sequences": lambda: nst.gradient_sequences((3, 2), steps=3, seeded=True),
        }
        strategy = args[base]()

    @settings(parent=settings.get_profile("default"), database=None)
    @given(strategy)
    def run(value: Any) -> None:
        assert value is not None

    run()
