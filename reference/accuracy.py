"""Accuracy: the ``Accuracy`` base, ``Accuracy_Categorical``, ``Accuracy_Regression``.

An accuracy object turns a batch of predictions (what ``predictions()`` of the output
activation returns) and its labels into a fraction of correct samples, and accumulates it over
the batches of an epoch, the way ``Loss`` accumulates the loss. Float64, no randomness.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Accuracy", "Accuracy_Categorical", "Accuracy_Regression"]


class Accuracy:
    r"""Common accuracy behaviour; subclasses define ``compare(predictions, y)`` -> booleans.

    * ``calculate(predictions, y)``: ``c = compare(predictions, y)``; returns ``mean(c)`` and
      adds ``sum(c)`` to ``accumulated_sum`` and ``len(c)`` to ``accumulated_count``.
    * ``calculate_accumulated()``: ``accumulated_sum / accumulated_count``, the accuracy over
      every SAMPLE since the last ``new_pass()`` (not the mean of the batch accuracies: a
      partial last batch weighs by its size).
    * ``new_pass()`` resets both accumulators.

    Like the reference ``Loss``, the accumulators start at zero in ``__init__``.
    """

    def __init__(self) -> None:
        self.accumulated_sum = 0.0
        self.accumulated_count = 0

    def init(self, y: ArrayLike, reinit: bool = False) -> None:
        """Prepare from the training labels (nothing to do for most accuracies)."""

    def compare(self, predictions: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        raise NotImplementedError(
            f"{type(self).__name__} does not define compare(predictions, y); use a concrete "
            "accuracy"
        )

    def calculate(self, predictions: ArrayLike, y: ArrayLike) -> Any:
        comparisons = np.asarray(self.compare(predictions, y))
        accuracy = np.mean(comparisons)
        self.accumulated_sum += np.sum(comparisons)
        self.accumulated_count += len(comparisons)
        return accuracy

    def calculate_accumulated(self) -> Any:
        if self.accumulated_count == 0:
            raise RuntimeError(
                f"{type(self).__name__}.calculate_accumulated: nothing accumulated since the "
                "last new_pass(); call calculate() on at least one batch first"
            )
        return self.accumulated_sum / self.accumulated_count

    def new_pass(self) -> None:
        self.accumulated_sum = 0.0
        self.accumulated_count = 0


class Accuracy_Categorical(Accuracy):
    r"""Classification accuracy: ``predictions == y`` per sample.

    ``y`` holds class indices ``(n,)`` or one-hot rows ``(n, k)``, converted by ``argmax``
    over axis 1; with ``binary=True`` (logistic outputs, ``y`` of shape ``(n, outputs)`` of
    0/1) ``y`` is compared as it is, element by element.
    """

    def __init__(self, *, binary: bool = False) -> None:
        super().__init__()
        self.binary = binary

    def compare(self, predictions: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        y = np.asarray(y)
        if not self.binary and y.ndim == 2:
            y = np.argmax(y, axis=1)
        return np.asarray(predictions) == y


class Accuracy_Regression(Accuracy):
    r"""Regression "accuracy": a prediction counts as correct when
    ``|prediction - y| < precision``, with ``precision = std(y) / 250`` computed by
    ``init(y)`` from the training targets once, and again only with ``reinit=True``."""

    def __init__(self) -> None:
        super().__init__()
        self.precision: Any = None

    def init(self, y: ArrayLike, reinit: bool = False) -> None:
        if self.precision is None or reinit:
            self.precision = np.std(np.asarray(y, dtype=np.float64)) / 250

    def compare(self, predictions: ArrayLike, y: ArrayLike) -> NDArray[np.bool_]:
        if self.precision is None:
            raise RuntimeError("Accuracy_Regression.compare: call init(y) first (it sets the "
                               "precision from the training targets)")
        return np.absolute(np.asarray(predictions, dtype=np.float64)
                           - np.asarray(y, dtype=np.float64)) < self.precision
