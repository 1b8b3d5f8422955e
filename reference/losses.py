"""Losses: the ``Loss`` base, ``Loss_CategoricalCrossentropy``,
``Activation_Softmax_Loss_CategoricalCrossentropy``, ``Loss_BinaryCrossentropy``,
``Loss_MeanSquaredError``, ``Loss_MeanAbsoluteError``.

A loss's ``forward(y_pred, y_true)`` returns one value per sample; ``calculate`` averages them.
``backward(dvalues, y_true)`` sets ``self.dinputs``, the gradient of the MEAN loss over the batch
(hence the ``/ samples``). Float64 throughout, unaffected by ``nnfs.init()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from reference.activations import Activation_Softmax
from reference.layers import _as_float64, _as_matrix

__all__ = [
    "Loss",
    "Loss_CategoricalCrossentropy",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Loss_BinaryCrossentropy",
    "Loss_MeanSquaredError",
    "Loss_MeanAbsoluteError",
]

Array = NDArray[np.float64]

_CLIP = 1e-7


def _class_targets(y_true: ArrayLike, y_pred: Array, where: str) -> NDArray[Any]:
    """Categorical targets checked against ``y_pred`` ``(samples, classes)``.

    Sparse labels (1-D integers in ``[0, classes)``) come back as an integer array, one-hot
    (or soft) labels (2-D, ``y_pred``'s shape) as float64.
    """
    samples, classes = y_pred.shape
    raw = np.asarray(y_true)
    if raw.ndim == 1:
        if raw.size and raw.dtype.kind not in "iu":
            if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
                raw = raw.astype(np.intp)
            else:
                raise ValueError(
                    f"{where}: 1-D y_true holds class indices and must be integers; "
                    f"got dtype {raw.dtype}"
                )
        raw = raw.astype(np.intp, copy=False)
        if raw.shape[0] != samples:
            raise ValueError(f"{where}: y_true has {raw.shape[0]} labels for {samples} samples")
        if raw.size and (raw.min() < 0 or raw.max() >= classes):
            raise ValueError(
                f"{where}: class indices must be in [0, {classes}); "
                f"got values from {raw.min()} to {raw.max()}"
            )
        return raw
    if raw.ndim == 2:
        one_hot = _as_float64(raw, f"{where}: y_true")
        if one_hot.shape != y_pred.shape:
            raise ValueError(
                f"{where}: one-hot y_true must have the predictions' shape {y_pred.shape}; "
                f"got {one_hot.shape}"
            )
        return one_hot
    raise ValueError(
        f"{where}: y_true must be 1-D class indices or 2-D one-hot labels; got shape {raw.shape}"
    )


def _regression_targets(y_true: ArrayLike, y_pred: Array, where: str) -> Array:
    target = _as_float64(y_true, f"{where}: y_true")
    if target.shape != y_pred.shape:
        raise ValueError(
            f"{where}: y_true must have the predictions' shape {y_pred.shape}; got "
            f"{target.shape} (for one output per sample, reshape y_true to (-1, 1))"
        )
    return target


def _add_regularization_loss(total: float, layer: Any) -> float:
    """``total`` plus ``l1*sum|w| + l2*sum(w*w)`` for the layer's weights and biases.

    Only the terms whose lambda > 0, added one by one to the running total in the book's
    order (so a sum over several layers rounds exactly as the book's loop does).
    """
    try:
        if layer.weight_regularizer_l1 > 0:
            total += layer.weight_regularizer_l1 * np.sum(np.abs(layer.weights))
        if layer.weight_regularizer_l2 > 0:
            total += layer.weight_regularizer_l2 * np.sum(layer.weights * layer.weights)
        if layer.bias_regularizer_l1 > 0:
            total += layer.bias_regularizer_l1 * np.sum(np.abs(layer.biases))
        if layer.bias_regularizer_l2 > 0:
            total += layer.bias_regularizer_l2 * np.sum(layer.biases * layer.biases)
    except AttributeError as exc:
        raise ValueError(
            f"Loss.regularization_loss: {type(layer).__name__} is not a trainable layer "
            f"(needs weights, biases and the four *_regularizer_l1/l2 attributes): {exc}"
        ) from None
    return total


class Loss:
    r"""Common loss behaviour; subclasses define ``forward(y_pred, y_true)`` -> per-sample losses.

    * ``calculate(output, y, *, include_regularization=False)``: ``mean(forward(output, y))``,
      also accumulated for ``calculate_accumulated``; with ``include_regularization`` returns
      ``(data_loss, regularization_loss())``.
    * ``regularization_loss(layer=None)``: for one layer (chapters 14-17) or, without an
      argument, summed over the layers given to ``remember_trainable_layers`` (chapters 18+):
      ``l1_w*sum|W| + l2_w*sum(W**2) + l1_b*sum|b| + l2_b*sum(b**2)``, each term only when
      its lambda > 0.
    * ``new_pass()`` resets the accumulators; ``calculate_accumulated()`` returns
      ``accumulated_sum / accumulated_count``.

    Unlike the book, the accumulators start at zero in ``__init__``, so ``calculate`` works on
    a fresh object without calling ``new_pass()`` first.
    """

    def __init__(self) -> None:
        self.accumulated_sum = 0.0
        self.accumulated_count = 0

    def forward(self, y_pred: ArrayLike, y_true: ArrayLike) -> Array:
        raise NotImplementedError(
            f"{type(self).__name__} does not define forward(y_pred, y_true); use a concrete loss"
        )

    def remember_trainable_layers(self, trainable_layers: Iterable[Any]) -> None:
        self.trainable_layers = list(trainable_layers)

    def regularization_loss(self, layer: Any = None) -> float:
        if layer is not None:
            return _add_regularization_loss(0.0, layer)
        layers = getattr(self, "trainable_layers", None)
        if layers is None:
            raise RuntimeError(
                f"{type(self).__name__}.regularization_loss() without a layer sums over the "
                "remembered trainable layers: call remember_trainable_layers(layers) first, "
                "or pass one layer"
            )
        regularization_loss = 0.0
        for each in layers:
            regularization_loss = _add_regularization_loss(regularization_loss, each)
        return regularization_loss

    def calculate(
        self, output: ArrayLike, y: ArrayLike, *, include_regularization: bool = False
    ) -> Any:
        sample_losses = self.forward(output, y)
        data_loss = np.mean(sample_losses)
        self.accumulated_sum += np.sum(sample_losses)
        self.accumulated_count += len(sample_losses)
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def calculate_accumulated(self, *, include_regularization: bool = False) -> Any:
        if self.accumulated_count == 0:
            raise RuntimeError(
                f"{type(self).__name__}.calculate_accumulated: nothing accumulated since the "
                "last new_pass(); call calculate() on at least one batch first"
            )
        data_loss = self.accumulated_sum / self.accumulated_count
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def new_pass(self) -> None:
        self.accumulated_sum = 0.0
        self.accumulated_count = 0


class Loss_CategoricalCrossentropy(Loss):
    r"""Categorical cross-entropy for probabilities ``p`` of shape ``(samples, classes)``.

    * forward: ``loss_i = -log(clip(p_i, 1e-7, 1 - 1e-7)[y_i])`` for sparse labels (1-D ints),
      ``-log(sum_j clip(p)_ij * y_ij)`` for one-hot labels (2-D)
    * backward: ``dinputs = -y / p / samples`` with ``y`` one-hot (sparse labels converted);
      like the book, ``p`` is NOT clipped here, so ``p == 0`` on a true class gives ``-inf``.

    The clip is where the forward is flat: for ``p < 1e-7`` or ``p > 1 - 1e-7`` the forward
    loss no longer changes with ``p`` while the backward formula still does (the book's
    convention, kept here). Inside ``(1e-7, 1 - 1e-7)`` the two agree.
    """

    def forward(self, y_pred: ArrayLike, y_true: ArrayLike) -> Array:
        where = "Loss_CategoricalCrossentropy.forward"
        y_pred = _as_matrix(y_pred, f"{where}: y_pred")
        target = _class_targets(y_true, y_pred, where)
        samples = len(y_pred)
        y_pred_clipped = np.clip(y_pred, _CLIP, 1 - _CLIP)
        if target.ndim == 1:
            correct_confidences = y_pred_clipped[range(samples), target]
        else:
            correct_confidences = np.sum(y_pred_clipped * target, axis=1)
        return -np.log(correct_confidences)

    def backward(self, dvalues: ArrayLike, y_true: ArrayLike) -> None:
        where = "Loss_CategoricalCrossentropy.backward"
        dvalues = _as_matrix(dvalues, f"{where}: dvalues")
        target = _class_targets(y_true, dvalues, where)
        samples, labels = dvalues.shape
        if target.ndim == 1:
            one_hot = np.zeros((samples, labels), dtype=np.float64)
            one_hot[np.arange(samples), target] = 1.0
            target = one_hot
        self.dinputs = -target / dvalues
        self.dinputs = self.dinputs / samples


class Activation_Softmax_Loss_CategoricalCrossentropy:
    r"""Softmax followed by categorical cross-entropy, with the combined (cheaper) gradient.

    * forward (chapter-9 form): ``output = softmax(inputs)``; returns
      ``mean(CCE(output, y_true))``
    * backward: ``dvalues`` are the softmax outputs ``s``; ``dinputs = (s - onehot(y)) / samples``
      (one-hot labels are turned into indices with ``argmax``)

    Smooth in the logits: no kinks. The chapter-18+ book form has no ``__init__``/``forward``
    and only ``backward``; this class supports both uses.
    """

    def __init__(self) -> None:
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs: ArrayLike, y_true: ArrayLike) -> Any:
        self.activation.forward(inputs)
        self.output = self.activation.output
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues: ArrayLike, y_true: ArrayLike) -> None:
        where = "Activation_Softmax_Loss_CategoricalCrossentropy.backward"
        dvalues = _as_matrix(dvalues, f"{where}: dvalues")
        target = _class_targets(y_true, dvalues, where)
        samples = len(dvalues)
        if target.ndim == 2:
            target = np.argmax(target, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), target] -= 1
        self.dinputs = self.dinputs / samples


class Loss_BinaryCrossentropy(Loss):
    r"""Binary cross-entropy for independent sigmoid outputs ``p`` of shape
    ``(samples, outputs)`` and targets ``y`` of the same shape.

    * forward:  ``loss_i = mean_j -(y_ij log q_ij + (1 - y_ij) log(1 - q_ij))`` with
      ``q = clip(p, 1e-7, 1 - 1e-7)``
    * backward: ``dinputs = -(y / q - (1 - y) / (1 - q)) / outputs / samples`` (clipped ``q``,
      as the book)

    At the clip boundaries the forward is flat in ``p`` while the backward is not (the book's
    convention, kept here); inside ``(1e-7, 1 - 1e-7)`` they agree.
    """

    def forward(self, y_pred: ArrayLike, y_true: ArrayLike) -> Array:
        where = "Loss_BinaryCrossentropy.forward"
        y_pred = _as_matrix(y_pred, f"{where}: y_pred")
        target = _regression_targets(y_true, y_pred, where)
        y_pred_clipped = np.clip(y_pred, _CLIP, 1 - _CLIP)
        sample_losses = -(
            target * np.log(y_pred_clipped) + (1 - target) * np.log(1 - y_pred_clipped)
        )
        return np.mean(sample_losses, axis=-1)

    def backward(self, dvalues: ArrayLike, y_true: ArrayLike) -> None:
        where = "Loss_BinaryCrossentropy.backward"
        dvalues = _as_matrix(dvalues, f"{where}: dvalues")
        target = _regression_targets(y_true, dvalues, where)
        samples, outputs = dvalues.shape
        clipped_dvalues = np.clip(dvalues, _CLIP, 1 - _CLIP)
        self.dinputs = -(target / clipped_dvalues - (1 - target) / (1 - clipped_dvalues)) / outputs
        self.dinputs = self.dinputs / samples


class Loss_MeanSquaredError(Loss):
    r"""Mean squared error (L2 loss), predictions and targets of shape ``(samples, outputs)``.

    * forward:  ``loss_i = mean_j (y_ij - p_ij)**2``
    * backward: ``dinputs = -2 (y - p) / outputs / samples``

    Smooth: no kinks.
    """

    def forward(self, y_pred: ArrayLike, y_true: ArrayLike) -> Array:
        where = "Loss_MeanSquaredError.forward"
        y_pred = _as_matrix(y_pred, f"{where}: y_pred")
        target = _regression_targets(y_true, y_pred, where)
        return np.mean((target - y_pred) ** 2, axis=-1)

    def backward(self, dvalues: ArrayLike, y_true: ArrayLike) -> None:
        where = "Loss_MeanSquaredError.backward"
        dvalues = _as_matrix(dvalues, f"{where}: dvalues")
        target = _regression_targets(y_true, dvalues, where)
        samples, outputs = dvalues.shape
        self.dinputs = -2 * (target - dvalues) / outputs
        self.dinputs = self.dinputs / samples


class Loss_MeanAbsoluteError(Loss):
    r"""Mean absolute error (L1 loss), predictions and targets of shape ``(samples, outputs)``.

    * forward:  ``loss_i = mean_j |y_ij - p_ij|``
    * backward: ``dinputs = sign(p - y) / outputs / samples`` -- the true gradient of the mean
      loss with respect to the predictions ``p``.

    Erratum: the book's published code computes ``sign(y - p) / outputs / samples``, the
    opposite sign. With it, gradient descent moves the predictions AWAY from the targets; a
    finite-difference check shows the difference at once. This reference implements the
    correct sign.

    Kink at ``p == y``: ``|.|`` has no derivative there; the gradient is taken as 0, which is
    what ``np.sign`` gives (any value in ``[-1, 1] / outputs / samples`` is a valid
    subgradient).
    """

    def forward(self, y_pred: ArrayLike, y_true: ArrayLike) -> Array:
        where = "Loss_MeanAbsoluteError.forward"
        y_pred = _as_matrix(y_pred, f"{where}: y_pred")
        target = _regression_targets(y_true, y_pred, where)
        return np.mean(np.abs(target - y_pred), axis=-1)

    def backward(self, dvalues: ArrayLike, y_true: ArrayLike) -> None:
        where = "Loss_MeanAbsoluteError.backward"
        dvalues = _as_matrix(dvalues, f"{where}: dvalues")
        target = _regression_targets(y_true, dvalues, where)
        samples, outputs = dvalues.shape
        self.dinputs = np.sign(dvalues - target) / outputs
        self.dinputs = self.dinputs / samples
