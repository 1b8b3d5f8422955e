"""Likely causes: the optimizer replay agrees with the reference, and names each slip."""

from __future__ import annotations

import numpy as np
import pytest

import reference as ref
from oracle.diagnose import OPTIMIZER_SLIPS, optimizer_cause, simulate_optimizer

CLASSES = {"sgd": ref.Optimizer_SGD, "adagrad": ref.Optimizer_Adagrad,
           "rmsprop": ref.Optimizer_RMSprop, "adam": ref.Optimizer_Adam}
CTORS = {
    "sgd": {"learning_rate": 0.5, "decay": 0.1, "momentum": 0.8},
    "adagrad": {"learning_rate": 0.5, "decay": 0.1},
    "rmsprop": {"learning_rate": 0.01, "decay": 0.1, "rho": 0.8},
    "adam": {"learning_rate": 0.01, "decay": 0.1, "beta_1": 0.8, "beta_2": 0.95},
}


class _Layer:
    def __init__(self, w: np.ndarray, b: np.ndarray) -> None:
        self.weights, self.biases = w.copy(), b.copy()


def _case(kind: str) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = np.random.default_rng(7)
    params = [rng.normal(size=(3, 2)), rng.normal(size=(1, 2))]
    # gradients around 1e-4, where epsilon is not negligible next to sqrt(cache)
    grads = [[1e-4 * rng.normal(size=(3, 2)), 1e-4 * rng.normal(size=(1, 2))]
             for _ in range(4)]
    return params, grads


def _reference(kind: str, params: list[np.ndarray], grads: list[list[np.ndarray]]) -> list:
    opt, layer, out = CLASSES[kind](**CTORS[kind]), _Layer(*params), []
    for gw, gb in grads:
        layer.dweights, layer.dbiases = gw, gb
        opt.pre_update_params()
        opt.update_params(layer)
        opt.post_update_params()
        out.append([layer.weights.copy(), layer.biases.copy()])
    return out


@pytest.mark.parametrize("kind", sorted(CLASSES))
def test_the_replay_without_a_slip_is_the_reference(kind: str) -> None:
    params, grads = _case(kind)
    replay = simulate_optimizer(kind, CTORS[kind], params, grads)
    for got, exp in zip(replay, _reference(kind, params, grads), strict=True):
        for g, e in zip(got, exp, strict=True):
            np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-15)
    assert optimizer_cause(kind, CTORS[kind], params, grads, replay) == ""


@pytest.mark.parametrize(("kind", "slip"),
                         [(k, s) for k in sorted(OPTIMIZER_SLIPS) for s in OPTIMIZER_SLIPS[k]])
def test_each_slip_is_named_from_its_numbers(kind: str, slip: str) -> None:
    params, grads = _case(kind)
    wrong = simulate_optimizer(kind, CTORS[kind], params, grads, slip)
    cause = optimizer_cause(kind, CTORS[kind], params, grads, wrong)
    assert OPTIMIZER_SLIPS[kind][slip] in cause
    assert "one of these" not in cause  # four steps of different gradients tell slips apart


def test_a_slip_in_one_parameter_says_which() -> None:
    params, grads = _case("adam")
    wrong = simulate_optimizer("adam", CTORS["adam"], params, grads, "eps_inside", on=(1,))
    cause = optimizer_cause("adam", CTORS["adam"], params, grads, wrong)
    assert "epsilon goes outside" in cause and "biases" in cause


def test_an_unknown_error_names_no_slip() -> None:
    params, grads = _case("rmsprop")
    wrong = simulate_optimizer("rmsprop", CTORS["rmsprop"], params, grads)
    wrong[2][0] = wrong[2][0] * 1.5
    assert optimizer_cause("rmsprop", CTORS["rmsprop"], params, grads, wrong) == ""
