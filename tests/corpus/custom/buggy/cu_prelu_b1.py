# corpus: buggy
# culprit: Activation_PReLU
# bug: dalpha sums dvalues * inputs over every input, not only the negative ones
import numpy as np


# Dense layer
class Layer_Dense:

    # Layer initialization
    def __init__(self, n_inputs, n_neurons):
        # Initialize weights and biases
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    # Forward pass
    def forward(self, inputs):
        # Remember input values
        self.inputs = inputs
        # Calculate output values from inputs, weights and biases
        self.output = np.dot(inputs, self.weights) + self.biases

    # Backward pass
    def backward(self, dvalues):
        # Gradients on parameters
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        # Gradient on values
        self.dinputs = np.dot(dvalues, self.weights.T)


# Parametric ReLU: the negative slope is learned, one per feature
class Activation_PReLU:

    def __init__(self, n_inputs, alpha_init=0.25):
        self.alpha = np.full((1, n_inputs), alpha_init) + 0.01 * np.random.randn(1, n_inputs)

    # Forward pass
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.where(inputs > 0, inputs, self.alpha * inputs)

    # Backward pass
    def backward(self, dvalues):
        negative = self.inputs <= 0
        # gradient on the slopes: d(alpha * x)/d alpha = x, only where x <= 0
        self.dalpha = np.sum(dvalues * self.inputs, axis=0, keepdims=True)
        # gradient on the inputs
        self.dinputs = np.where(negative, dvalues * self.alpha, dvalues)
