"""Optimizers: ``Optimizer_SGD``, ``Optimizer_Adagrad``, ``Optimizer_RMSprop``, ``Optimizer_Adam``.

All four share the book's protocol, called once per training step::

    optimizer.pre_update_params()     # learning-rate decay
    for layer in trainable_layers:
        optimizer.update_params(layer)  # reads layer.dweights/dbiases, updates weights/biases
    optimizer.post_update_params()    # iterations += 1

Learning-rate decay (all four): when ``decay`` is non-zero,
``current_learning_rate = learning_rate * (1 / (1 + decay * iterations))``.

Optimizer state lives on the layer, as in the book (``weight_momentums``/``bias_momentums``,
``weight_cache``/``bias_cache``), created lazily as float64 zeros the first time a layer is
updated. The update expressions keep the book's operation order, so they round as the book does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reference.layers import _check_non_negative

__all__ = ["Optimizer_SGD", "Optimizer_Adagrad", "Optimizer_RMSprop", "Optimizer_Adam"]


def _gradients(optimizer: Any, layer: Any) -> None:
    """A clear error when ``layer`` has no parameters or no gradients to apply."""
    name = type(optimizer).__name__
    for attribute in ("weights", "biases", "dweights", "dbiases"):
        if not hasattr(layer, attribute):
            hint = " (call the layer's backward() first)" if attribute.startswith("d") else ""
            raise ValueError(
                f"{name}.update_params: {type(layer).__name__} has no '{attribute}'{hint}"
            )


def _check_fraction(value: Any, what: str, *, closed: bool) -> float:
    number = _check_non_negative(value, what)
    if number > 1 or (not closed and number == 1):
        interval = "[0, 1]" if closed else "[0, 1)"
        raise ValueError(f"{what} must be in {interval}; got {value!r}")
    return number


class _Optimizer:
    """Shared learning-rate decay and iteration counting."""

    def __init__(self, learning_rate: float, decay: float) -> None:
        name = type(self).__name__
        self.learning_rate = _check_non_negative(learning_rate, f"{name}: learning_rate")
        self.current_learning_rate = self.learning_rate
        self.decay = _check_non_negative(decay, f"{name}: decay")
        self.iterations = 0

    def pre_update_params(self) -> None:
        if self.decay:
            self.current_learning_rate = self.learning_rate * (
                1.0 / (1.0 + self.decay * self.iterations)
            )

    def post_update_params(self) -> None:
        self.iterations += 1


class Optimizer_SGD(_Optimizer):
    r"""Stochastic gradient descent, optionally with momentum.

    With ``lr_t`` the current learning rate and ``g`` a parameter's gradient:

    * without momentum: ``theta <- theta - lr_t * g``
    * with momentum ``mu``: ``m <- mu * m - lr_t * g`` (``m`` starts at 0);
      ``theta <- theta + m``. ``m`` is ``layer.weight_momentums`` / ``layer.bias_momentums``.
    """

    def __init__(
        self, learning_rate: float = 1.0, decay: float = 0.0, momentum: float = 0.0
    ) -> None:
        super().__init__(learning_rate, decay)
        self.momentum = _check_non_negative(momentum, "Optimizer_SGD: momentum")

    def update_params(self, layer: Any) -> None:
        _gradients(self, layer)
        if self.momentum:
            if not hasattr(layer, "weight_momentums"):
                layer.weight_momentums = np.zeros_like(layer.weights, dtype=np.float64)
                layer.bias_momentums = np.zeros_like(layer.biases, dtype=np.float64)
            weight_updates = (
                self.momentum * layer.weight_momentums - self.current_learning_rate * layer.dweights
            )
            layer.weight_momentums = weight_updates
            bias_updates = (
                self.momentum * layer.bias_momentums - self.current_learning_rate * layer.dbiases
            )
            layer.bias_momentums = bias_updates
        else:
            weight_updates = -self.current_learning_rate * layer.dweights
            bias_updates = -self.current_learning_rate * layer.dbiases
        layer.weights += weight_updates
        layer.biases += bias_updates


class Optimizer_Adagrad(_Optimizer):
    r"""Adagrad: per-parameter learning rates from the sum of squared gradients.

    * ``cache <- cache + g**2`` (``cache`` starts at 0)
    * ``theta <- theta - lr_t * g / (sqrt(cache) + epsilon)`` (epsilon OUTSIDE the square root)

    ``cache`` is ``layer.weight_cache`` / ``layer.bias_cache``.
    """

    def __init__(
        self, learning_rate: float = 1.0, decay: float = 0.0, epsilon: float = 1e-7
    ) -> None:
        super().__init__(learning_rate, decay)
        self.epsilon = _check_non_negative(epsilon, "Optimizer_Adagrad: epsilon")

    def update_params(self, layer: Any) -> None:
        _gradients(self, layer)
        if not hasattr(layer, "weight_cache"):
            layer.weight_cache = np.zeros_like(layer.weights, dtype=np.float64)
            layer.bias_cache = np.zeros_like(layer.biases, dtype=np.float64)
        layer.weight_cache += layer.dweights**2
        layer.bias_cache += layer.dbiases**2
        layer.weights += (
            -self.current_learning_rate
            * layer.dweights
            / (np.sqrt(layer.weight_cache) + self.epsilon)
        )
        layer.biases += (
            -self.current_learning_rate * layer.dbiases / (np.sqrt(layer.bias_cache) + self.epsilon)
        )


class Optimizer_RMSprop(_Optimizer):
    r"""RMSprop: Adagrad with an exponential moving average of squared gradients.

    * ``cache <- rho * cache + (1 - rho) * g**2`` (``cache`` starts at 0)
    * ``theta <- theta - lr_t * g / (sqrt(cache) + epsilon)`` (epsilon OUTSIDE the square root)

    ``cache`` is ``layer.weight_cache`` / ``layer.bias_cache``.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        decay: float = 0.0,
        epsilon: float = 1e-7,
        rho: float = 0.9,
    ) -> None:
        super().__init__(learning_rate, decay)
        self.epsilon = _check_non_negative(epsilon, "Optimizer_RMSprop: epsilon")
        self.rho = _check_fraction(rho, "Optimizer_RMSprop: rho", closed=True)

    def update_params(self, layer: Any) -> None:
        _gradients(self, layer)
        if not hasattr(layer, "weight_cache"):
            layer.weight_cache = np.zeros_like(layer.weights, dtype=np.float64)
            layer.bias_cache = np.zeros_like(layer.biases, dtype=np.float64)
        layer.weight_cache = self.rho * layer.weight_cache + (1 - self.rho) * layer.dweights**2
        layer.bias_cache = self.rho * layer.bias_cache + (1 - self.rho) * layer.dbiases**2
        layer.weights += (
            -self.current_learning_rate
            * layer.dweights
            / (np.sqrt(layer.weight_cache) + self.epsilon)
        )
        layer.biases += (
            -self.current_learning_rate * layer.dbiases / (np.sqrt(layer.bias_cache) + self.epsilon)
        )


class Optimizer_Adam(_Optimizer):
    r"""Adam: momentum plus RMSprop, with bias correction.

    With ``t = iterations + 1`` (the step being taken, counting from 1):

    * ``m <- beta_1 * m + (1 - beta_1) * g``;  ``m_hat = m / (1 - beta_1**t)``
    * ``v <- beta_2 * v + (1 - beta_2) * g**2``;  ``v_hat = v / (1 - beta_2**t)``
    * ``theta <- theta - lr_t * m_hat / (sqrt(v_hat) + epsilon)`` (epsilon OUTSIDE the root)

    ``m`` is ``layer.weight_momentums`` / ``layer.bias_momentums``, ``v`` is
    ``layer.weight_cache`` / ``layer.bias_cache``; all start at 0.
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        decay: float = 0.0,
        epsilon: float = 1e-7,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
    ) -> None:
        super().__init__(learning_rate, decay)
        self.epsilon = _check_non_negative(epsilon, "Optimizer_Adam: epsilon")
        self.beta_1 = _check_fraction(beta_1, "Optimizer_Adam: beta_1", closed=False)
        self.beta_2 = _check_fraction(beta_2, "Optimizer_Adam: beta_2", closed=False)

    def update_params(self, layer: Any) -> None:
        _gradients(self, layer)
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights, dtype=np.float64)
            layer.weight_cache = np.zeros_like(layer.weights, dtype=np.float64)
            layer.bias_momentums = np.zeros_like(layer.biases, dtype=np.float64)
            layer.bias_cache = np.zeros_like(layer.biases, dtype=np.float64)

        layer.weight_momentums = (
            self.beta_1 * layer.weight_momentums + (1 - self.beta_1) * layer.dweights
        )
        layer.bias_momentums = (
            self.beta_1 * layer.bias_momentums + (1 - self.beta_1) * layer.dbiases
        )
        weight_momentums_corrected = layer.weight_momentums / (
            1 - self.beta_1 ** (self.iterations + 1)
        )
        bias_momentums_corrected = layer.bias_momentums / (1 - self.beta_1 ** (self.iterations + 1))

        layer.weight_cache = (
            self.beta_2 * layer.weight_cache + (1 - self.beta_2) * layer.dweights**2
        )
        layer.bias_cache = self.beta_2 * layer.bias_cache + (1 - self.beta_2) * layer.dbiases**2
        weight_cache_corrected = layer.weight_cache / (1 - self.beta_2 ** (self.iterations + 1))
        bias_cache_corrected = layer.bias_cache / (1 - self.beta_2 ** (self.iterations + 1))

        layer.weights += (
            -self.current_learning_rate
            * weight_momentums_corrected
            / (np.sqrt(weight_cache_corrected) + self.epsilon)
        )
        layer.biases += (
            -self.current_learning_rate
            * bias_momentums_corrected
            / (np.sqrt(bias_cache_corrected) + self.epsilon)
        )
