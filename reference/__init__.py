"""A float64 NumPy reference of every component of *Neural Networks from Scratch* (nnfs).

Class names, constructor defaults, method signatures and attribute names follow the book's
final code, so a learner's classes and these are interchangeable. Each class's docstring states
its forward and backward math and its convention at kinks. The reference never goes through
``np.dot``, one-argument ``np.zeros``/``np.eye``, ``np.random.randn`` or NumPy's global RNG,
so a process in which ``nnfs.init()`` has been called computes exactly the same bits.

Example::

    >>> import numpy as np
    >>> from reference import Layer_Dense, Activation_ReLU
    >>> dense = Layer_Dense(2, 3, rng=np.random.default_rng(0))
    >>> dense.forward(np.ones((4, 2)))
    >>> relu = Activation_ReLU()
    >>> relu.forward(dense.output)
    >>> relu.backward(np.ones_like(relu.output))
    >>> dense.backward(relu.dinputs)
    >>> dense.dweights.shape, dense.dinputs.shape
    ((2, 3), (4, 2))
"""

from reference.accuracy import Accuracy, Accuracy_Categorical, Accuracy_Regression
from reference.activations import (
    Activation_Linear,
    Activation_ReLU,
    Activation_Sigmoid,
    Activation_Softmax,
)
from reference.layers import Layer_Dense, Layer_Dropout, Layer_Input
from reference.losses import (
    Activation_Softmax_Loss_CategoricalCrossentropy,
    Loss,
    Loss_BinaryCrossentropy,
    Loss_CategoricalCrossentropy,
    Loss_MeanAbsoluteError,
    Loss_MeanSquaredError,
)
from reference.model import Model
from reference.optimizers import (
    Optimizer_Adagrad,
    Optimizer_Adam,
    Optimizer_RMSprop,
    Optimizer_SGD,
)

__all__ = [
    "Layer_Dense",
    "Layer_Dropout",
    "Layer_Input",
    "Activation_ReLU",
    "Activation_Softmax",
    "Activation_Sigmoid",
    "Activation_Linear",
    "Loss",
    "Loss_CategoricalCrossentropy",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Loss_BinaryCrossentropy",
    "Loss_MeanSquaredError",
    "Loss_MeanAbsoluteError",
    "Optimizer_SGD",
    "Optimizer_Adagrad",
    "Optimizer_RMSprop",
    "Optimizer_Adam",
    "Accuracy",
    "Accuracy_Categorical",
    "Accuracy_Regression",
    "Model",
]
