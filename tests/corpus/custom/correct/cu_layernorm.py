# corpus: correct
# bug: Layer_LayerNormalization over the last axis, gamma/beta of shape (n_features,), works on (N, D) and (N, T, D); returns results
import numpy as np


class Layer_LayerNormalization:

    def __init__(self, n_features, epsilon=1e-5):
        self.gamma = np.ones(n_features) + 0.1 * np.random.randn(n_features)
        self.beta = np.zeros(n_features)
        self.epsilon = epsilon

    def forward(self, inputs):
        self.inputs = inputs
        mean = inputs.mean(axis=-1, keepdims=True)
        centered = inputs - mean
        var = (centered ** 2).mean(axis=-1, keepdims=True)
        self.inv_std = 1.0 / np.sqrt(var + self.epsilon)
        self.x_hat = centered * self.inv_std
        self.output = self.gamma * self.x_hat + self.beta
        return self.output

    def backward(self, dvalues):
        n = self.inputs.shape[-1]
        # sum over every axis except the feature axis
        batch_axes = tuple(range(dvalues.ndim - 1))
        self.dgamma = np.sum(dvalues * self.x_hat, axis=batch_axes)
        self.dbeta = np.sum(dvalues, axis=batch_axes)
        dx_hat = dvalues * self.gamma
        self.dinputs = self.inv_std / n * (
            n * dx_hat
            - dx_hat.sum(axis=-1, keepdims=True)
            - self.x_hat * (dx_hat * self.x_hat).sum(axis=-1, keepdims=True))
        return self.dinputs
