# corpus: buggy
# culprit: Optimizer_Adam
# bug: second-moment update uses beta_1 instead of beta_2 (Dense with getters, state in dicts)
import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.weights = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.biases = np.zeros((1, n_neurons))

    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = np.dot(dvalues, self.weights.T)

    def get_weights(self):
        return self.weights, self.biases

    def set_weights(self, weights, biases):
        self.weights = weights
        self.biases = biases

    def get_gradients(self):
        return self.dweights, self.dbiases


class Optimizer_Adam:
    def __init__(self, learning_rate=0.001, decay=0., epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.m = {}
        self.v = {}

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate / (1. + self.decay * self.iterations)

    def update_params(self, layer):
        params = layer.get_weights()
        grads = layer.get_gradients()
        key = id(layer)
        if key not in self.m:
            self.m[key] = [np.zeros_like(p) for p in params]
            self.v[key] = [np.zeros_like(p) for p in params]
        t = self.iterations + 1
        new_params = []
        for i, (p, g) in enumerate(zip(params, grads)):
            self.m[key][i] = self.beta_1 * self.m[key][i] + (1 - self.beta_1) * g
            self.v[key][i] = self.beta_1 * self.v[key][i] + (1 - self.beta_1) * g ** 2
            m_hat = self.m[key][i] / (1 - self.beta_1 ** t)
            v_hat = self.v[key][i] / (1 - self.beta_2 ** t)
            new_params.append(p - self.current_learning_rate * m_hat / (np.sqrt(v_hat) + self.epsilon))
        layer.set_weights(*new_params)

    def post_update_params(self):
        self.iterations += 1
