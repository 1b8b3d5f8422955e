# corpus: buggy
# culprit: Layer_RNN
# bug: tanh derivative taken at the previous hidden state (hidden[:, t] instead of hidden[:, t + 1])
import numpy as np


class Layer_RNN:

    def __init__(self, input_size, hidden_size):
        self.hidden_size = hidden_size
        self.weights_input = 0.1 * np.random.randn(input_size, hidden_size)
        self.weights_hidden = 0.1 * np.random.randn(hidden_size, hidden_size)
        self.biases = np.zeros((1, hidden_size))

    # Forward pass over the whole sequence
    def forward(self, inputs):
        self.inputs = inputs
        n, steps, _ = inputs.shape
        # hidden[:, 0] is the initial state, hidden[:, t + 1] the state after step t
        self.hidden = np.zeros((n, steps + 1, self.hidden_size))
        for t in range(steps):
            z = inputs[:, t] @ self.weights_input + \
                self.hidden[:, t] @ self.weights_hidden + self.biases
            self.hidden[:, t + 1] = np.tanh(z)
        self.output = self.hidden[:, 1:]

    # Backpropagation through time
    def backward(self, dvalues):
        n, steps, _ = self.inputs.shape
        self.dweights_input = np.zeros_like(self.weights_input)
        self.dweights_hidden = np.zeros_like(self.weights_hidden)
        self.dbiases = np.zeros_like(self.biases)
        self.dinputs = np.zeros_like(self.inputs)
        dh_next = np.zeros((n, self.hidden_size))
        for t in reversed(range(steps)):
            # gradient from the output at t plus from the next time step
            dh = dvalues[:, t] + dh_next
            dz = dh * (1 - self.hidden[:, t] ** 2)
            self.dweights_input += self.inputs[:, t].T @ dz
            self.dweights_hidden += self.hidden[:, t].T @ dz
            self.dbiases += dz.sum(axis=0, keepdims=True)
            self.dinputs[:, t] = dz @ self.weights_input.T
            dh_next = dz @ self.weights_hidden.T
