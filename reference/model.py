"""The ``Model`` of chapters 19-22: layers, a loss, an optimizer and an accuracy, trained in
batches.

It follows the book's final code step by step, so that its observable behaviour (the weights
after every step, the accumulated loss and accuracy it reports, what ``evaluate`` and
``predict`` return, the files it writes) is what a learner's Model must reproduce. It draws no
random numbers of its own (a Dropout layer draws from its own generator) and goes through none
of the NumPy functions ``nnfs.init()`` replaces.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from reference.activations import Activation_Softmax
from reference.layers import Layer_Input
from reference.losses import (
    Activation_Softmax_Loss_CategoricalCrossentropy,
    Loss_CategoricalCrossentropy,
)

__all__ = ["Model", "batches"]


def batches(n: int, batch_size: int | None) -> list[slice]:
    """The book's batches of ``n`` samples: one of everything without ``batch_size``, else
    ``ceil(n / batch_size)`` consecutive slices, the last one possibly partial."""
    if batch_size is None:
        return [slice(0, n)]
    steps = -(-n // batch_size)
    return [slice(s * batch_size, (s + 1) * batch_size) for s in range(steps)]


class Model:
    r"""A sequential network.

    * ``add(layer)`` appends; ``set(*, loss, optimizer, accuracy)`` stores them.
    * ``finalize()`` puts an input layer in front, links every layer to its ``prev`` and ``next``
      (the last one's ``next`` is the loss), keeps the layers that have ``weights`` as
      ``trainable_layers`` and gives them to the loss; when the last layer is a softmax and the
      loss is categorical cross-entropy it creates the combined object, whose backward
      (``(softmax - one_hot(y)) / samples``) replaces the loss's and the softmax's.
    * ``train(X, y, *, epochs=1, batch_size=None, print_every=1, validation_data=None)``: per
      epoch, ``new_pass()`` on loss and accuracy, then per batch (:func:`batches`): forward with
      ``training=True``, loss with regularization, accuracy of the output activation's
      ``predictions``, backward, ``pre_update_params()``, ``update_params(layer)`` for each
      trainable layer, ``post_update_params()``; the epoch's accumulated loss and accuracy are
      printed and kept in ``history``; then ``evaluate`` on the validation data.
    * ``evaluate(X, y, *, batch_size=None)``: forward with ``training=False`` per batch, the
      accumulated loss (no regularization) and accuracy; returns ``(loss, accuracy)``.
    * ``predict(X, *, batch_size=None)``: the outputs of forward with ``training=False`` per
      batch, stacked in order.
    * ``get_parameters()`` / ``set_parameters(list)``: one ``(weights, biases)`` per trainable
      layer; ``save_parameters``/``load_parameters`` pickle that list; ``save(path)`` pickles a
      copy without data or gradients, ``Model.load(path)`` returns it.
    """

    def __init__(self) -> None:
        self.layers: list[Any] = []
        self.softmax_classifier_output: Any = None
        self.loss: Any = None
        self.optimizer: Any = None
        self.accuracy: Any = None
        self.history: list[dict[str, float]] = []

    def add(self, layer: Any) -> None:
        self.layers.append(layer)

    def set(self, *, loss: Any = None, optimizer: Any = None, accuracy: Any = None) -> None:
        if loss is not None:
            self.loss = loss
        if optimizer is not None:
            self.optimizer = optimizer
        if accuracy is not None:
            self.accuracy = accuracy

    def finalize(self) -> None:
        self.input_layer = Layer_Input()
        self.trainable_layers = []
        chain = [self.input_layer, *self.layers, self.loss]
        for i, layer in enumerate(self.layers, start=1):
            layer.prev, layer.next = chain[i - 1], chain[i + 1]
            if hasattr(layer, "weights"):
                self.trainable_layers.append(layer)
        self.output_layer_activation = self.layers[-1]
        if self.loss is not None:
            self.loss.remember_trainable_layers(self.trainable_layers)
        if isinstance(self.layers[-1], Activation_Softmax) and isinstance(
                self.loss, Loss_CategoricalCrossentropy):
            self.softmax_classifier_output = Activation_Softmax_Loss_CategoricalCrossentropy()

    def train(self, X: ArrayLike, y: ArrayLike, *, epochs: int = 1, batch_size: int | None = None,
              print_every: int = 1, validation_data: Any = None) -> None:
        X, y = np.asarray(X), np.asarray(y)
        self.accuracy.init(y)
        steps = batches(len(X), batch_size)
        for epoch in range(1, epochs + 1):
            print(f"epoch: {epoch}")
            self.loss.new_pass()
            self.accuracy.new_pass()
            for step, part in enumerate(steps):
                batch_X, batch_y = X[part], y[part]
                output = self.forward(batch_X, training=True)
                data_loss, regularization_loss = self.loss.calculate(
                    output, batch_y, include_regularization=True)
                loss = data_loss + regularization_loss
                predictions = self.output_layer_activation.predictions(output)
                accuracy = self.accuracy.calculate(predictions, batch_y)
                self.backward(output, batch_y)
                self.optimizer.pre_update_params()
                for layer in self.trainable_layers:
                    self.optimizer.update_params(layer)
                self.optimizer.post_update_params()
                if not step % print_every or step == len(steps) - 1:
                    print(f"step: {step}, acc: {accuracy:.3f}, loss: {loss:.3f} (data_loss: "
                          f"{data_loss:.3f}, reg_loss: {regularization_loss:.3f}), "
                          f"lr: {self.optimizer.current_learning_rate}")
            epoch_data_loss, epoch_regularization_loss = self.loss.calculate_accumulated(
                include_regularization=True)
            epoch_loss = epoch_data_loss + epoch_regularization_loss
            epoch_accuracy = self.accuracy.calculate_accumulated()
            self.history.append({"loss": float(epoch_loss), "data_loss": float(epoch_data_loss),
                                 "accuracy": float(epoch_accuracy)})
            print(f"training, acc: {epoch_accuracy:.3f}, loss: {epoch_loss:.3f} (data_loss: "
                  f"{epoch_data_loss:.3f}, reg_loss: {epoch_regularization_loss:.3f}), "
                  f"lr: {self.optimizer.current_learning_rate}")
            if validation_data is not None:
                self.evaluate(*validation_data, batch_size=batch_size)

    def evaluate(self, X_val: ArrayLike, y_val: ArrayLike, *,
                 batch_size: int | None = None) -> tuple[Any, Any]:
        X_val, y_val = np.asarray(X_val), np.asarray(y_val)
        self.loss.new_pass()
        self.accuracy.new_pass()
        for part in batches(len(X_val), batch_size):
            output = self.forward(X_val[part], training=False)
            self.loss.calculate(output, y_val[part])
            predictions = self.output_layer_activation.predictions(output)
            self.accuracy.calculate(predictions, y_val[part])
        validation_loss = self.loss.calculate_accumulated()
        validation_accuracy = self.accuracy.calculate_accumulated()
        print(f"validation, acc: {validation_accuracy:.3f}, loss: {validation_loss:.3f}")
        return validation_loss, validation_accuracy

    def predict(self, X: ArrayLike, *, batch_size: int | None = None) -> Any:
        X = np.asarray(X)
        return np.vstack([self.forward(X[part], training=False)
                          for part in batches(len(X), batch_size)])

    def forward(self, X: ArrayLike, training: bool) -> Any:
        self.input_layer.forward(X, training)
        for layer in self.layers:
            layer.forward(layer.prev.output, training)
        return self.layers[-1].output

    def backward(self, output: ArrayLike, y: ArrayLike) -> None:
        if self.softmax_classifier_output is not None:
            self.softmax_classifier_output.backward(output, y)
            self.layers[-1].dinputs = self.softmax_classifier_output.dinputs
            for layer in reversed(self.layers[:-1]):
                layer.backward(layer.next.dinputs)
            return
        self.loss.backward(output, y)
        for layer in reversed(self.layers):
            layer.backward(layer.next.dinputs)

    def get_parameters(self) -> list[tuple[Any, Any]]:
        return [layer.get_parameters() for layer in self.trainable_layers]

    def set_parameters(self, parameters: Any) -> None:
        for parameter_set, layer in zip(parameters, self.trainable_layers, strict=True):
            layer.set_parameters(*parameter_set)

    def save_parameters(self, path: str) -> None:
        with open(path, "wb") as f:
            pickle.dump(self.get_parameters(), f)

    def load_parameters(self, path: str) -> None:
        with open(path, "rb") as f:
            self.set_parameters(pickle.load(f))

    def save(self, path: str) -> None:
        model = copy.deepcopy(self)
        model.loss.new_pass()
        model.accuracy.new_pass()
        model.input_layer.__dict__.pop("output", None)
        model.loss.__dict__.pop("dinputs", None)
        for layer in model.layers:
            for name in ("inputs", "output", "dinputs", "dweights", "dbiases"):
                layer.__dict__.pop(name, None)
        with open(path, "wb") as f:
            pickle.dump(model, f)

    @staticmethod
    def load(path: str) -> Any:
        with open(path, "rb") as f:
            return pickle.load(f)
