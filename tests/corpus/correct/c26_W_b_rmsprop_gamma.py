# corpus: correct
# bug: none; variant: Dense weights named W/b with grads dW/db; RMSprop hyperparams (lr, decay, eps, gamma) where gamma is rho; caches stored on layer
import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons):
        self.W = 0.01 * np.random.randn(n_inputs, n_neurons)
        self.b = np.zeros((1, n_neurons))

    def forward(self, X, training=False):
        self.X = X
        self.output = X.dot(self.W) + self.b
        return self.output

    def backward(self, dvalues):
        self.dW = self.X.T.dot(dvalues)
        self.db = dvalues.sum(axis=0, keepdims=True)
        self.dinputs = dvalues.dot(self.W.T)
        return self.dinputs


class Optimizer_RMSprop:
    def __init__(self, lr=0.001, decay=0., eps=1e-7, gamma=0.9):
        self.lr = lr
        self.current_lr = lr
        self.decay = decay
        self.iterations = 0
        self.eps = eps
        self.gamma = gamma

    def pre_update_params(self):
        if self.decay:
            self.current_lr = self.lr * (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if not hasattr(layer, 'W_cache'):
            layer.W_cache = np.zeros_like(layer.W)
            layer.b_cache = np.zeros_like(layer.b)
        layer.W_cache = self.gamma * layer.W_cache + (1 - self.gamma) * layer.dW ** 2
        layer.b_cache = self.gamma * layer.b_cache + (1 - self.gamma) * layer.db ** 2
        layer.W -= self.current_lr * layer.dW / (np.sqrt(layer.W_cache) + self.eps)
        layer.b -= self.current_lr * layer.db / (np.sqrt(layer.b_cache) + self.eps)

    def post_update_params(self):
        self.iterations += 1
