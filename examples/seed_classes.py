"""The classes of the backpropagation notebook users start from, as one script.

They are the notebook's own classes, made complete and correct:

* ``Activation_Softmax`` gains the backward pass (the Jacobian-vector product per sample);
* ``Loss_CategoricalCrossentropy`` has both its forward and its backward in one class (the
  notebook spreads them over two cells, and the forward's return was indented into the
  one-hot branch);
* ``Activation_Softmax_Loss_CategoricalCrossentropy`` is the chapter-9 form with
  ``__init__`` and ``forward(inputs, y_true)``.

Like the notebook, the module calls ``nnfs.init()`` when it is loaded (float32 arithmetic and
a fixed seed); the training demo runs only when the file is executed::

    python examples/seed_classes.py
    nnfs-oracle examples/seed_classes.py
"""

import nnfs
import numpy as np
from nnfs.datasets import spiral_data

nnfs.init()


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.10 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    # Forward pass
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    # Backward pass
    def backward(self, dvalues):
        # Gradients on parameters
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        # Gradient on values
        self.dinputs = np.dot(dvalues, self.weights.T)


class Activation_ReLU:
    # Forward pass
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    # Backward pass
    def backward(self, dvalues):
        # We need to modify the original variable,
        # so we make a copy of the values first
        self.dinputs = dvalues.copy()
        # Zero gradient where input values were negative
        self.dinputs[self.inputs <= 0] = 0


class Activation_Softmax:
    def forward(self, inputs):
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        probabilities = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        self.output = probabilities

    def backward(self, dvalues):
        # One Jacobian per sample: diag(s) - s s^T, applied to that sample's gradient
        self.dinputs = np.empty_like(dvalues)
        for index in range(len(dvalues)):
            single_output = self.output[index].reshape(-1, 1)
            jacobian_matrix = np.diagflat(single_output) - np.dot(single_output, single_output.T)
            self.dinputs[index] = np.dot(jacobian_matrix, dvalues[index])


class Loss:
    def calculate(self, output, y):
        sample_losses = self.forward(output, y)
        data_loss = np.mean(sample_losses)
        return data_loss


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        samples = len(y_pred)
        epsilon = 1e-7
        y_pred_clipped = np.clip(y_pred, epsilon, 1 - epsilon)

        # When y_true is a vector of scalar class values. E.g [0,1,1]
        if len(y_true.shape) == 1:
            correct_confidences = y_pred_clipped[range(samples), y_true]

        # When y_true is an array of vectors (one-hot coding) E.g [[1,0,0], [0,1,0], [0,0,1]]
        elif len(y_true.shape) == 2:
            correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
        negative_log_likelihoods = -np.log(correct_confidences)
        return negative_log_likelihoods

    # Backward pass
    def backward(self, dvalues, y_true):
        # number of samples
        samples = len(dvalues)
        # number of labels in every sample
        labels = len(dvalues[0])
        # if labels are sparse, turn them into one-hot vector
        if len(y_true.shape) == 1:
            y_true = np.eye(labels)[y_true]
        # Calculate gradient
        self.dinputs = -y_true / dvalues
        # Normalise gradient
        self.dinputs = self.dinputs / samples


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def __init__(self):
        self.activation = Activation_Softmax()
        self.loss = Loss_CategoricalCrossentropy()

    def forward(self, inputs, y_true):
        # Softmax activation
        self.activation.forward(inputs)
        # Store output
        self.output = self.activation.output
        # Return loss value
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        # If labels are one-hot, turn them into scalar class indices
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        # Copy the probabilities and calculate gradient
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
        self.dinputs = self.dinputs / samples


def demo():
    """Forward and backward pass on the spiral data, as in the notebook."""
    X, y = spiral_data(samples=100, classes=3)

    dense1 = Layer_Dense(2, 3)
    activation1 = Activation_ReLU()
    dense2 = Layer_Dense(3, 3)
    loss_activation = Activation_Softmax_Loss_CategoricalCrossentropy()

    # Forward pass
    dense1.forward(X)
    activation1.forward(dense1.output)
    dense2.forward(activation1.output)
    loss = loss_activation.forward(dense2.output, y)

    # Backward pass
    loss_activation.backward(loss_activation.output, y)
    dense2.backward(loss_activation.dinputs)
    activation1.backward(dense2.dinputs)
    dense1.backward(activation1.dinputs)

    print("Softmax Output (first 5):")
    print(loss_activation.output[:5])
    print("Loss:", loss)
    print("Dense2 dWeights (first 5):", dense2.dweights.flatten()[:5])
    print("Dense2 dBiases:", dense2.dbiases)
    print("Dense1 dWeights (first 5):", dense1.dweights.flatten()[:5])
    print("Dense1 dBiases:", dense1.dbiases)

    # The separate Softmax and loss backward passes give the same gradient as the
    # combined class (up to float32 rounding)
    softmax = Activation_Softmax()
    softmax.output = loss_activation.output
    loss_function = Loss_CategoricalCrossentropy()
    loss_function.backward(loss_activation.output, y)
    softmax.backward(loss_function.dinputs)
    difference = np.abs(softmax.dinputs - loss_activation.dinputs).max()
    print("Largest difference, separate vs combined gradient:", difference)


if __name__ == "__main__":
    demo()
