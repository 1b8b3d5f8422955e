"""Layers: ``Layer_Dense``, ``Layer_Dropout``, ``Layer_Input``.

Float64 throughout. Nothing here goes through ``np.dot``, one-argument ``np.zeros``/``np.eye``,
``np.random.randn`` or NumPy's global RNG, so ``nnfs.init()`` (which patches those for the whole
process) cannot change a single bit of what these classes compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Layer_Dense", "Layer_Dropout", "Layer_Input"]

Array = NDArray[np.float64]


def _as_float64(value: ArrayLike, what: str) -> Array:
    """``value`` as a float64 array, or a ``ValueError`` that names ``what`` was wrong."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{what} must be a numeric array (or nested lists of numbers); "
            f"got {type(value).__name__}: {exc}"
        ) from None


def _as_matrix(value: ArrayLike, what: str) -> Array:
    """Like :func:`_as_float64`, and the result must be 2-D ``(n_samples, n_features)``."""
    array = _as_float64(value, what)
    if array.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n_samples, n_features); got shape {array.shape}")
    return array


def _after_forward(obj: Any, attribute: str, method: str = "backward") -> Any:
    """``obj.<attribute>`` set by ``forward``; a clear error when ``forward`` was not called."""
    try:
        return getattr(obj, attribute)
    except AttributeError:
        name = type(obj).__name__
        raise RuntimeError(
            f"{name}.{method} needs {name}.{attribute}, which forward() sets: call forward() first"
        ) from None


def _check_positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer; got {value!r}")
    return int(value)


def _check_non_negative(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a non-negative number; got {value!r}") from None
    if not number >= 0 or not np.isfinite(number):
        raise ValueError(f"{what} must be a non-negative finite number; got {value!r}")
    return number


class Layer_Dense:
    r"""Fully connected layer.

    Math (batch ``X`` of shape ``(n, n_inputs)``, ``W`` ``(n_inputs, n_neurons)``, ``b``
    ``(1, n_neurons)``, upstream gradient ``G = dL/dY`` of shape ``(n, n_neurons)``):

    * forward:  ``Y = X @ W + b``
    * backward: ``dweights = X.T @ G (+ l1_w * s(W) + 2 * l2_w * W)``,
      ``dbiases = sum(G, axis=0, keepdims=True) (+ l1_b * s(b) + 2 * l2_b * b)``,
      ``dinputs = G @ W.T``

    Each regularization term is added only when its lambda is > 0, as the book does.

    Kink (L1 regularization): ``|w|`` has no derivative at ``w == 0``. The book's convention,
    followed here, is ``s(w) = +1`` where ``w >= 0`` and ``-1`` where ``w < 0`` -- so ``+1`` at
    exactly zero (``np.sign`` would give 0; both are valid subgradients).

    Initialisation: ``weights = 0.01 * standard_normal((n_inputs, n_neurons))`` from ``rng``
    (a ``numpy.random.Generator``; a fresh ``default_rng()`` when omitted), ``biases`` zeros.
    """

    def __init__(
        self,
        n_inputs: int,
        n_neurons: int,
        weight_regularizer_l1: float = 0,
        weight_regularizer_l2: float = 0,
        bias_regularizer_l1: float = 0,
        bias_regularizer_l2: float = 0,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        n_inputs = _check_positive_int(n_inputs, "Layer_Dense: n_inputs")
        n_neurons = _check_positive_int(n_neurons, "Layer_Dense: n_neurons")
        if rng is None:
            rng = np.random.default_rng()
        self.weights: Array = 0.01 * rng.standard_normal((n_inputs, n_neurons))
        self.biases: Array = np.zeros((1, n_neurons), dtype=np.float64)
        self.weight_regularizer_l1 = _check_non_negative(
            weight_regularizer_l1, "Layer_Dense: weight_regularizer_l1"
        )
        self.weight_regularizer_l2 = _check_non_negative(
            weight_regularizer_l2, "Layer_Dense: weight_regularizer_l2"
        )
        self.bias_regularizer_l1 = _check_non_negative(
            bias_regularizer_l1, "Layer_Dense: bias_regularizer_l1"
        )
        self.bias_regularizer_l2 = _check_non_negative(
            bias_regularizer_l2, "Layer_Dense: bias_regularizer_l2"
        )

    def forward(self, inputs: ArrayLike, training: bool = False) -> None:
        inputs = _as_matrix(inputs, "Layer_Dense.forward: inputs")
        if inputs.shape[1] != self.weights.shape[0]:
            raise ValueError(
                f"Layer_Dense.forward: inputs have {inputs.shape[1]} features (shape "
                f"{inputs.shape}) but the layer has n_inputs={self.weights.shape[0]}"
            )
        self.inputs = inputs
        self.output = inputs @ self.weights + self.biases

    def backward(self, dvalues: ArrayLike) -> None:
        inputs = _after_forward(self, "inputs")
        dvalues = _as_matrix(dvalues, "Layer_Dense.backward: dvalues")
        expected = (inputs.shape[0], self.weights.shape[1])
        if dvalues.shape != expected:
            raise ValueError(
                f"Layer_Dense.backward: dvalues must have the output's shape {expected}; "
                f"got {dvalues.shape}"
            )
        self.dweights = inputs.T @ dvalues
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)

        if self.weight_regularizer_l1 > 0:
            dL1 = np.ones_like(self.weights, dtype=np.float64)
            dL1[self.weights < 0] = -1
            self.dweights += self.weight_regularizer_l1 * dL1
        if self.weight_regularizer_l2 > 0:
            self.dweights += 2 * self.weight_regularizer_l2 * self.weights
        if self.bias_regularizer_l1 > 0:
            dL1 = np.ones_like(self.biases, dtype=np.float64)
            dL1[self.biases < 0] = -1
            self.dbiases += self.bias_regularizer_l1 * dL1
        if self.bias_regularizer_l2 > 0:
            self.dbiases += 2 * self.bias_regularizer_l2 * self.biases

        self.dinputs = dvalues @ self.weights.T

    def get_parameters(self) -> tuple[Array, Array]:
        """``(weights, biases)``, the arrays themselves (not copies), as the book."""
        return self.weights, self.biases

    def set_parameters(self, weights: ArrayLike, biases: ArrayLike) -> None:
        """Replace ``weights`` and ``biases`` (converted to float64)."""
        self.weights = _as_float64(weights, "Layer_Dense.set_parameters: weights")
        self.biases = _as_float64(biases, "Layer_Dense.set_parameters: biases")


class Layer_Dropout:
    r"""Inverted dropout.

    ``rate`` is the probability to DROP a unit; like the book, the object stores the keep
    probability ``q = 1 - rate`` in ``self.rate``.

    * forward, training: ``mask = Bernoulli(q) / q`` elementwise (drawn from ``rng``),
      ``Y = X * mask``; not training: ``Y = copy(X)`` (and the mask is left as it was)
    * backward: ``dinputs = G * mask``

    The function is linear in ``X`` for a fixed mask, so there is no kink. The chapter-15 form
    ``forward(inputs)`` always applies the mask, which is what ``training=True`` (the default
    here) does.
    """

    def __init__(self, rate: float, *, rng: np.random.Generator | None = None) -> None:
        try:
            drop = float(rate)
        except (TypeError, ValueError):
            raise ValueError(
                f"Layer_Dropout: rate must be a number in [0, 1); got {rate!r}"
            ) from None
        if not 0 <= drop < 1:
            raise ValueError(
                f"Layer_Dropout: rate is the probability to drop and must be in [0, 1); "
                f"got {rate!r}"
            )
        self.rate = 1 - drop
        self.rng = np.random.default_rng() if rng is None else rng

    def forward(self, inputs: ArrayLike, training: bool = True) -> None:
        inputs = _as_float64(inputs, "Layer_Dropout.forward: inputs")
        self.inputs = inputs
        if not training:
            self.output = inputs.copy()
            return
        self.binary_mask = self.rng.binomial(1, self.rate, size=inputs.shape) / self.rate
        self.output = inputs * self.binary_mask

    def backward(self, dvalues: ArrayLike) -> None:
        mask = _after_forward(self, "binary_mask")
        dvalues = _as_float64(dvalues, "Layer_Dropout.backward: dvalues")
        if dvalues.shape != mask.shape:
            raise ValueError(
                f"Layer_Dropout.backward: dvalues must have the mask's shape {mask.shape}; "
                f"got {dvalues.shape}"
            )
        self.dinputs = dvalues * mask


class Layer_Input:
    """The model's input placeholder: ``forward`` sets ``output = inputs``; no backward."""

    def forward(self, inputs: ArrayLike, training: bool = False) -> None:
        self.output = _as_float64(inputs, "Layer_Input.forward: inputs")
