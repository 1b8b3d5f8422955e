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
        return (
            f"{attr} lost its row axis: sum with keepdims=True "
            "(np.sum(dvalues, axis=0, keepdims=True)) keeps the (1, n) shape of the biases"
        )
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
            causes.append("2x too small (the 2 of d(x^2)/dx = 2x missing)")
        if samples and outputs and samples * outputs > 1 and _near(r, float(samples * outputs)):
            causes.append("samples*outputs times too large: both divisions missing")
        if _near(r, 0.0):
            causes.append("all zero where values were expected")
    return "; or ".join(causes)
