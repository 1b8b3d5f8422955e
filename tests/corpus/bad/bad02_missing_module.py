# corpus: bad
# bug: imports a module that does not exist and uses it inside Activation_ReLU.forward; Layer_Dense does not use it
import numpy as np
import nnfs_course_helpers as helpers


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)


class Activation_ReLU:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = helpers.relu(inputs)

    def backward(self, dvalues):
        self.dinputs = helpers.relu_backward(dvalues, self.inputs)
