"""Activations: ``Activation_ReLU``, ``Activation_Softmax``, ``Activation_Sigmoid``,
``Activation_Linear``.

Each ``forward(inputs, training=False)`` sets ``self.inputs`` and ``self.output``; each
``backward(dvalues)`` sets ``self.dinputs``. Float64 throughout, unaffected by ``nnfs.init()``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from reference.layers import _after_forward, _as_float64, _as_matrix

__all__ = ["Activation_ReLU", "Activation_Softmax", "Activation_Sigmoid", "Activation_Linear"]

Array = NDArray[np.float64]


def _same_shape(dvalues: Array, reference: Array, where: str) -> Array:
    if dvalues.shape != reference.shape:
        raise ValueError(
            f"{where}: dvalues must have the forward output's shape {reference.shape}; "
            f"got {dvalues.shape}"
        )
    return dvalues


class Activation_ReLU:
    r"""Rectified linear unit, elementwise.

    * forward:  ``y = max(0, x)``
    * backward: ``dinputs = G * [x > 0]``, i.e. a copy of ``dvalues`` zeroed where ``x <= 0``

    Kink at ``x == 0``: the gradient there is taken as 0 (the book's ``inputs <= 0`` mask);
    any value in ``[0, 1]`` is a valid subgradient.
    """

    def forward(self, inputs: ArrayLike, training: bool = False) -> None:
        inputs = _as_float64(inputs, "Activation_ReLU.forward: inputs")
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues: ArrayLike) -> None:
        inputs = _after_forward(self, "inputs")
        dvalues = _same_shape(
            _as_float64(dvalues, "Activation_ReLU.backward: dvalues"),
            inputs,
            "Activation_ReLU.backward",
        )
        self.dinputs = dvalues.copy()
        self.dinputs[inputs <= 0] = 0

    def predictions(self, outputs: ArrayLike) -> Array:
        return _as_float64(outputs, "Activation_ReLU.predictions: outputs")


class Activation_Softmax:
    r"""Row-wise softmax over a batch ``(n_samples, n_classes)``.

    * forward:  ``s_i = exp(x_i - max_j x_j) / sum_k exp(x_k - max_j x_j)`` per row
      (subtracting the row maximum changes nothing mathematically and prevents overflow)
    * backward: per sample ``dinputs_i = (diag(s) - s s^T) @ G_i``, computed in the equivalent
      vectorised form ``s * (G - sum(s * G, axis=1, keepdims=True))``

    Smooth everywhere: no kinks. ``predictions(outputs)`` is the row-wise ``argmax``.
    """

    def forward(self, inputs: ArrayLike, training: bool = False) -> None:
        inputs = _as_matrix(inputs, "Activation_Softmax.forward: inputs")
        self.inputs = inputs
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

    def backward(self, dvalues: ArrayLike) -> None:
        s = _after_forward(self, "output")
        dvalues = _same_shape(
            _as_float64(dvalues, "Activation_Softmax.backward: dvalues"),
            s,
            "Activation_Softmax.backward",
        )
        self.dinputs = s * (dvalues - np.sum(s * dvalues, axis=1, keepdims=True))

    def predictions(self, outputs: ArrayLike) -> NDArray[np.intp]:
        return np.argmax(_as_matrix(outputs, "Activation_Softmax.predictions: outputs"), axis=1)


class Activation_Sigmoid:
    r"""Logistic sigmoid, elementwise.

    * forward:  ``y = 1 / (1 + exp(-x))``, evaluated with ``scipy.special.expit`` so that large
      ``|x|`` neither overflows nor warns (the book's literal formula overflows for ``x < -709``)
    * backward: ``dinputs = G * (1 - y) * y``

    Smooth everywhere: no kinks. ``predictions(outputs)`` is ``(outputs > 0.5) * 1``.
    """

    def forward(self, inputs: ArrayLike, training: bool = False) -> None:
        inputs = _as_float64(inputs, "Activation_Sigmoid.forward: inputs")
        self.inputs = inputs
        self.output = expit(inputs)

    def backward(self, dvalues: ArrayLike) -> None:
        output = _after_forward(self, "output")
        dvalues = _same_shape(
            _as_float64(dvalues, "Activation_Sigmoid.backward: dvalues"),
            output,
            "Activation_Sigmoid.backward",
        )
        self.dinputs = dvalues * (1 - output) * output

    def predictions(self, outputs: ArrayLike) -> NDArray[np.int_]:
        return (_as_float64(outputs, "Activation_Sigmoid.predictions: outputs") > 0.5) * 1


class Activation_Linear:
    r"""Identity, used as the output of regression models.

    * forward:  ``y = x``
    * backward: ``dinputs = copy(G)``

    No kinks. ``predictions(outputs)`` returns the outputs.
    """

    def forward(self, inputs: ArrayLike, training: bool = False) -> None:
        inputs = _as_float64(inputs, "Activation_Linear.forward: inputs")
        self.inputs = inputs
        self.output = inputs

    def backward(self, dvalues: ArrayLike) -> None:
        inputs = _after_forward(self, "inputs")
        dvalues = _same_shape(
            _as_float64(dvalues, "Activation_Linear.backward: dvalues"),
            inputs,
            "Activation_Linear.backward",
        )
        self.dinputs = dvalues.copy()

    def predictions(self, outputs: ArrayLike) -> Array:
        return _as_float64(outputs, "Activation_Linear.predictions: outputs")
