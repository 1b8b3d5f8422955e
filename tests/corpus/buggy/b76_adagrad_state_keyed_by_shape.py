# corpus: buggy
# culprit: Optimizer_Adagrad
# bug: caches keyed by parameter shape, so two layers with equal shapes share a cache (wrong only with >1 layer of the same shape)
import numpy as np


class Optimizer_Adagrad:
    def __init__(self, learning_rate=1., decay=0., epsilon=1e-7):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.cache = {}

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (1. / (1. + self.decay * self.iterations))

    def _step(self, param, grad):
        key = param.shape
        if key not in self.cache:
            self.cache[key] = np.zeros_like(param)
        self.cache[key] += grad ** 2
        param -= self.current_learning_rate * grad / (np.sqrt(self.cache[key]) + self.epsilon)

    def update_params(self, layer):
        self._step(layer.weights, layer.dweights)
        self._step(layer.biases, layer.dbiases)

    def post_update_params(self):
        self.iterations += 1
