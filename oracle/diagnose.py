"""Likely causes: turn a disagreement into a sentence a learner can act on.

Each rule looks at the shape or at the ratio got/expected over the wrong
elements and names the bug class that produces exactly that signature.  A
rule only fires when the signature is unambiguous enough (a ratio consistent
over the wrong elements to 1e-6); otherwise no cause is guessed.
"""

from __future__ import annotations

import numpy as np


def _consistent_ratio(got: np.ndarray, expected: np.ndarray) -> float | None:
    g = np.asarray(got, dtype=np.float64).ravel()
    e = np.asarray(expected, dtype=np.float64).ravel()
    sel = np.abs(e) > 1e-12 * max(1.0, float(np.max(np.abs(e)))) if e.size else e.astype(bool)
    if not sel.any():
        return None
    r = g[sel] / e[sel]
    if not np.all(np.isfinite(r)):
        return None
    med = float(np.median(r))
    if np.all(np.abs(r - med) <= 1e-6 * max(1.0, abs(med))):
        return med
    return None


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(b))


def shape_cause(got_shape: tuple[int, ...], expected_shape: tuple[int, ...], attr: str) -> str:
    if len(got_shape) == 1 and expected_shape == (1,) + tuple(got_shape):
        if attr.startswith("dbiases"):
            return (
                f"{attr} lost its row axis: sum with keepdims=True "
                "(np.sum(dvalues, axis=0, keepdims=True)) keeps the (1, n) shape of the biases"
            )
        return f"{attr} lost its row axis: keep the shape {expected_shape} (keepdims=True?)"
    if got_shape == tuple(reversed(expected_shape)) and len(got_shape) == 2:
        return (
            f"{attr} is transposed: for Dense, dweights = inputs.T @ dvalues "
            "(shape (n_inputs, n_neurons)) and dinputs = dvalues @ weights.T"
        )
    if (len(expected_shape) == 2 and expected_shape[0] == 1
            and got_shape[-1:] == expected_shape[-1:]):
        return f"{attr} was not summed over the samples (axis=0)"
    if len(expected_shape) == 2 and len(got_shape) == 2 and got_shape[0] == 1:
        return f"{attr} was summed over the samples where it should keep one row per sample"
    if len(expected_shape) == 2 and len(got_shape) == 1 and got_shape[0] == expected_shape[0]:
        return f"{attr} has one value per sample where one per output was expected (axis=1?)"
    return ""


def value_cause(
    got: np.ndarray,
    expected: np.ndarray,
    *,
    samples: int | None = None,
    outputs: int | None = None,
    component: str = "",
) -> str:
    """A sentence naming the bug class behind a consistent disagreement, or ''."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape == expected.shape and got.ndim == 2 and got.shape[0] == got.shape[1]:
        if np.allclose(got, expected.T, rtol=1e-6, atol=1e-12) and not np.allclose(got, expected):
            return "the values are the transpose of the expected ones (a swapped .T?)"
    r = _consistent_ratio(got, expected)
    causes: list[str] = []
    if r is not None:
        if _near(r, -1.0):
            if component == "Loss_MeanAbsoluteError":
                return (
                    "the sign is flipped: this is the erratum of the book's published "
                    "Loss_MeanAbsoluteError.backward, which uses np.sign(y_true - y_pred). The "
                    "gradient of mean|y_true - y_pred| with respect to y_pred is "
                    "np.sign(y_pred - y_true) / outputs / samples"
                )
            return "the sign is flipped (a minus sign missing or extra)"
        if samples and samples > 1 and _near(r, float(samples)):
            causes.append(
                "too large by a factor of the number of samples (the batch size): a missing "
                "division by the number of samples ('/ samples')"
            )
        if samples and samples > 1 and _near(r, 1.0 / samples):
            causes.append(
                "too small by a factor of the number of samples: divided by the number of "
                "samples once too often"
            )
        if outputs and outputs > 1 and _near(r, float(outputs)):
            causes.append(
                "too large by a factor of the number of outputs per sample: a missing "
                "division by the number of outputs ('/ outputs')"
            )
        if outputs and outputs > 1 and _near(r, 1.0 / outputs):
            causes.append(
                "too small by a factor of the number of outputs: divided by it once too often"
            )
        if _near(r, 2.0):
            causes.append("2x too large (a factor 2 where there is none)")
        if _near(r, 0.5):
            squares = component in ("Loss_MeanSquaredError", "Layer_Dense")
            causes.append("2x too small" + (" (the 2 of d(x^2)/dx = 2x missing)" if squares
                                            else " (half the expected value)"))
        if samples and outputs and samples * outputs > 1 and _near(r, float(samples * outputs)):
            causes.append("samples*outputs times too large: both divisions missing")
        if _near(r, 0.0):
            causes.append("zero where non-zero values were expected (a mask or a condition "
                          "that zeroes too much, or a result never assigned)")
    return "; or ".join(causes)


# --------------------------------------------------------------------------- optimizers

#: The optimizer slips learners make, each with the sentence that names it.  A slip is
#: named only when replaying it on the same parameters and gradients reproduces the
#: target's parameters after every step (see :func:`optimizer_cause`).
OPTIMIZER_SLIPS: dict[str, dict[str, str]] = {
    "sgd": {
        "decay_from_one": "learning-rate decay counts iterations from 1: lr / (1 + decay * "
        "iterations) uses the iterations done so far, starting at 0",
        "decay_unused": "the decayed rate is computed but not used: the update must use "
        "current_learning_rate, not learning_rate",
        "decay_compounded": "learning-rate decay compounds: current_learning_rate = "
        "learning_rate / (1 + decay * iterations), from the initial learning_rate each step",
        "momentum_sign": "the gradient term has the wrong sign: weight_updates = momentum * "
        "weight_momentums - current_learning_rate * dweights",
        "momentum_subtracted": "the momentum term is subtracted: weight_updates = momentum * "
        "weight_momentums - current_learning_rate * dweights (plus the momentum term)",
        "momentum_not_stored": "the momentum buffer is never updated: store the update back "
        "(layer.weight_momentums = weight_updates)",
    },
    "adagrad": {
        "eps_inside": "epsilon goes outside the square root: lr * g / (np.sqrt(cache) + "
        "epsilon), not np.sqrt(cache + epsilon)",
        "cache_not_squared": "the cache must accumulate squared gradients: cache += dweights**2",
        "no_sqrt": "the square root is missing: lr * g / (np.sqrt(cache) + epsilon)",
        "cache_assigned": "the cache must accumulate: cache += dweights**2, not cache = "
        "dweights**2",
        "decay_from_one": "learning-rate decay counts iterations from 1: lr / (1 + decay * "
        "iterations) uses the iterations done so far, starting at 0",
        "decay_unused": "the decayed rate is computed but not used: the update must use "
        "current_learning_rate, not learning_rate",
    },
    "rmsprop": {
        "eps_inside": "epsilon goes outside the square root: lr * g / (np.sqrt(cache) + "
        "epsilon), not np.sqrt(cache + epsilon)",
        "rho_swapped": "rho and 1 - rho are swapped: cache = rho * cache + (1 - rho) * "
        "dweights**2",
        "cache_accumulated": "the cache is a moving average, assigned, not added to: cache = "
        "rho * cache + (1 - rho) * dweights**2 (with += the old cache counts twice)",
        "cache_not_squared": "the cache must average squared gradients: (1 - rho) * "
        "dweights**2",
        "no_sqrt": "the square root is missing: lr * g / (np.sqrt(cache) + epsilon)",
        "decay_from_one": "learning-rate decay counts iterations from 1: lr / (1 + decay * "
        "iterations) uses the iterations done so far, starting at 0",
        "decay_unused": "the decayed rate is computed but not used: the update must use "
        "current_learning_rate, not learning_rate",
    },
    "adam": {
        "eps_inside": "epsilon goes outside the square root: lr * m_hat / (np.sqrt(c_hat) + "
        "epsilon), not np.sqrt(c_hat + epsilon)",
        "no_correction": "the bias correction is missing: divide the momentums by 1 - "
        "beta_1**(iterations + 1) and the cache by 1 - beta_2**(iterations + 1)",
        "momentum_uncorrected": "the momentums are used without bias correction: m_hat = "
        "momentums / (1 - beta_1**(iterations + 1))",
        "cache_uncorrected": "the cache is used without bias correction: c_hat = cache / "
        "(1 - beta_2**(iterations + 1))",
        "correction_iterations": "the bias correction uses beta**iterations: it must be "
        "beta**(iterations + 1) (iterations is still 0 at the first step)",
        "cache_accumulated": "the cache is a moving average, assigned, not added to: cache = "
        "beta_2 * cache + (1 - beta_2) * dweights**2 (with += the old cache counts twice)",
        "beta1_for_cache": "the cache must use beta_2: cache = beta_2 * cache + (1 - beta_2) * "
        "dweights**2",
        "cache_not_squared": "the cache must average squared gradients: (1 - beta_2) * "
        "dweights**2",
        "no_sqrt": "the square root is missing: lr * m_hat / (np.sqrt(c_hat) + epsilon)",
        "decay_from_one": "learning-rate decay counts iterations from 1: lr / (1 + decay * "
        "iterations) uses the iterations done so far, starting at 0",
        "decay_unused": "the decayed rate is computed but not used: the update must use "
        "current_learning_rate, not learning_rate",
    },
}

_DEFAULTS = {
    "sgd": {"learning_rate": 1.0, "decay": 0.0, "momentum": 0.0},
    "adagrad": {"learning_rate": 1.0, "decay": 0.0, "epsilon": 1e-7},
    "rmsprop": {"learning_rate": 0.001, "decay": 0.0, "epsilon": 1e-7, "rho": 0.9},
    "adam": {"learning_rate": 0.001, "decay": 0.0, "epsilon": 1e-7, "beta_1": 0.9,
             "beta_2": 0.999},
}


def simulate_optimizer(
    kind: str, ctor: dict[str, float], params: list[np.ndarray],
    grads: list[list[np.ndarray]], slip: str = "", on: tuple[int, ...] | None = None,
) -> list[list[np.ndarray]]:
    """The book's optimizer ``kind`` (with one ``slip`` of :data:`OPTIMIZER_SLIPS`, or none)
    over ``grads[step][i]`` for ``params[i]``; the parameters after every step.  ``on``:
    the indices of the parameters whose update has the slip (default: all of them)."""
    hp = {**_DEFAULTS[kind], **ctor}
    lr0, decay = float(hp["learning_rate"]), float(hp["decay"])
    ps = [np.array(p, dtype=np.float64) for p in params]
    m = [np.zeros_like(p) for p in ps]
    c = [np.zeros_like(p) for p in ps]
    lr, out = lr0, []
    with np.errstate(all="ignore"):
        for it, gs in enumerate(grads):
            if decay:
                if slip == "decay_unused":
                    lr = lr0
                elif slip == "decay_from_one":
                    lr = lr0 / (1.0 + decay * (it + 1))
                elif slip == "decay_compounded":
                    lr = lr / (1.0 + decay * it)
                else:
                    lr = lr0 / (1.0 + decay * it)
            for i, g in enumerate(gs):
                g = np.asarray(g, dtype=np.float64)
                slipped = slip if on is None or i in on else ""
                ps[i] = ps[i] + _step(kind, hp, slipped, lr, it, g, m, c, i)
            out.append([p.copy() for p in ps])
    return out


def _step(kind: str, hp: dict[str, float], slip: str, lr: float, it: int, g: np.ndarray,
          m: list[np.ndarray], c: list[np.ndarray], i: int) -> np.ndarray:
    eps = float(hp.get("epsilon", 0.0))

    def denom(cache: np.ndarray) -> np.ndarray:
        if slip == "no_sqrt":
            return cache + eps
        return np.sqrt(cache + eps) if slip == "eps_inside" else np.sqrt(cache) + eps

    g2 = g if slip == "cache_not_squared" else g**2
    if kind == "sgd":
        mom = float(hp["momentum"])
        if not mom:
            return -lr * g
        upd = {"momentum_sign": mom * m[i] + lr * g,
               "momentum_subtracted": -mom * m[i] - lr * g}.get(slip, mom * m[i] - lr * g)
        if slip != "momentum_not_stored":
            m[i] = upd
        return upd
    if kind == "adagrad":
        c[i] = g2 if slip == "cache_assigned" else c[i] + g2
        return -lr * g / denom(c[i])
    if kind == "rmsprop":
        rho = float(hp["rho"])
        c[i] = ((1 - rho) * c[i] + rho * g2 if slip == "rho_swapped" else
                rho * c[i] + (1 - rho) * g2 + (c[i] if slip == "cache_accumulated" else 0.0))
        return -lr * g / denom(c[i])
    b1, b2 = float(hp["beta_1"]), float(hp["beta_2"])
    m[i] = b1 * m[i] + (1 - b1) * g
    bc = b1 if slip == "beta1_for_cache" else b2
    c[i] = bc * c[i] + (1 - bc) * g2 + (c[i] if slip == "cache_accumulated" else 0.0)
    t = it if slip == "correction_iterations" else it + 1
    mh = m[i] if slip in ("no_correction", "momentum_uncorrected") else m[i] / (1 - b1**t)
    ch = c[i] if slip in ("no_correction", "cache_uncorrected") else c[i] / (1 - b2**t)
    return -lr * mh / denom(ch)


def optimizer_cause(
    kind: str, ctor: dict[str, float], params: list[np.ndarray],
    grads: list[list[np.ndarray]], got: list[list[np.ndarray]],
    names: tuple[str, ...] = ("weights", "biases"),
) -> str:
    """The slip whose replay gives the target's parameters after every step, or ''.

    A slip may sit in every parameter's update or in one only (a learner who fixed the
    weights' line but not the biases'): each is tried."""

    start = [np.asarray(p, dtype=np.float64) for p in params]
    dt = np.asarray(got[0][0]).dtype if got and got[0] else np.dtype(np.float64)
    # a float32 target (nnfs.init()) rounds each parameter by eps32 * |p|
    eps = float(np.finfo(dt).eps) if dt.kind == "f" else float(np.finfo(np.float64).eps)
    floor = max(1e-14, 64.0 * eps)

    def same(a: list[list[np.ndarray]], b: list[list[np.ndarray]]) -> bool:
        # compared as displacements from the start: updates can be far smaller than the
        # parameters, and a slip changes the updates, not the parameters' leading digits
        return len(a) == len(b) and all(
            np.shape(x) == np.shape(y) == np.shape(p0)
            and np.allclose(np.asarray(x, dtype=np.float64) - p0, np.asarray(y) - p0,
                            rtol=1e-6, atol=floor * (1.0 + float(np.abs(p0).max(initial=0.0))),
                            equal_nan=True)
            for xa, ya in zip(a, b, strict=True)
            for x, y, p0 in zip(xa, ya, start, strict=True)
        )

    plain = simulate_optimizer(kind, ctor, params, grads)
    where: list[tuple[tuple[int, ...] | None, str]] = [(None, "")]
    where += [((i,), f" (in the update of the {n})") for i, n in enumerate(names)]
    found = []
    for slip, sentence in OPTIMIZER_SLIPS.get(kind, {}).items():
        for on, place in where:
            if slip.startswith("decay") and on is not None:
                continue  # the learning rate is shared by every parameter
            replay = simulate_optimizer(kind, ctor, params, grads, slip, on)
            # a slip that changes nothing on this case (no decay, say) is no explanation
            if same(replay, got) and not same(replay, plain):
                found.append(sentence + place)
                break
    if len(found) > 1:  # a small case (one step, say) may not tell some slips apart
        return "one of these (they give the same numbers here): " + "; or ".join(found)
    return found[0] if found else ""


def own_gradient_cause(
    got: np.ndarray,
    expected: np.ndarray,
    *,
    attr: str,
    samples: int,
    loss: bool,
    alternatives: dict[str, np.ndarray] | None = None,
) -> str:
    """The likely cause of a custom component's gradient that disagrees with finite
    differences of its own forward (no reference to compare the formula with).

    ``alternatives``: what the gradient would be under a known slip (``"ones"``: with an
    upstream gradient of ones, i.e. dvalues never multiplied in; ``"flipped:P"``: with
    the kernel P flipped), computed by the caller only on failure."""
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    for key, alt in (alternatives or {}).items():
        if alt.shape == got.shape and np.allclose(got, alt, rtol=1e-5, atol=1e-9):
            if key == "ones":
                return ("backward ignores dvalues: the upstream gradient must multiply the "
                        "local derivative (dinputs = dvalues * f'(inputs), not f'(inputs))")
            if key.startswith("flipped:"):
                return (f"the kernel is flipped the wrong way in backward: {attr} equals what "
                        f"a forward with {key.split(':', 1)[1]} rotated by 180 degrees gives; "
                        "the forward's cross-correlation takes the kernel as it is, so its "
                        "input gradient is the full convolution with the kernel flipped, and "
                        "the kernel's gradient is the correlation of inputs and dvalues")
    r = _consistent_ratio(got, expected)
    if r is not None:
        if _near(r, -1.0):
            return f"the sign of {attr} is flipped"
        if samples > 1 and _near(r, float(samples)):
            return (f"{attr} is {samples} times too large, the number of samples: "
                    + ("the loss is the mean over the samples, so its gradient is divided by "
                       "them (dinputs = ... / samples)" if loss else
                       "a sum over the samples where the forward takes a mean"))
        if samples > 1 and _near(r, 1.0 / samples):
            return (f"{attr} is divided by the number of samples ({samples}) once too often"
                    + ("" if loss else ": only a loss averages over the samples; a layer's "
                       "backward passes dvalues on as they are"))
        if not _near(r, 1.0) and r != 0.0:
            return f"every entry of {attr} is {r:.6g} times the expected value (a constant factor)"
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    zero = np.abs(expected) <= 1e-9 * max(1.0, scale)
    if zero.any() and (~zero).any():
        wrong_where_zero = zero & (np.abs(got) > 1e-6 * max(1.0, scale))
        if wrong_where_zero.sum() >= max(1, zero.sum() // 2):
            return (f"{attr} is nonzero at {int(wrong_where_zero.sum())} entries where the "
                    "forward's output does not depend on them (max pooling: only the maximum "
                    "of each window receives the gradient; a mask or index taken from the wrong "
                    "array)")
    if got.ndim >= 2 and got.shape == expected.shape and attr == "dinputs":
        for axis, what in ((0, "the samples"), (got.ndim - 1, "the features")):
            e_sum = np.abs(expected.sum(axis=axis))
            g_sum = np.abs(got.sum(axis=axis))
            tiny = 1e-7 * max(1.0, float(np.abs(expected).sum()))
            if float(e_sum.max()) <= tiny and float(g_sum.max()) > 1e3 * tiny:
                return (f"the expected {attr} sums to zero over {what}, as a normalization's "
                        f"does (the mean and variance over {what} depend on every input), but "
                        "the one computed does not: the gradient treats the batch statistics as "
                        "constants; dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std "
                        f"with the means over {what}")
    return ""
