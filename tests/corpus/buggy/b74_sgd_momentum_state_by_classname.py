# corpus: buggy
# culprit: Optimizer_SGD
# bug: momentum buffers keyed by type(layer).__name__, so all Dense layers share one buffer (wrong only with >1 layer)
import numpy as np


class Optimizer_SGD:
    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.momentum = momentum
        self.iterations = 0
        self.state = {}

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        if self.momentum:
            key = type(layer).__name__
            vw, vb = self.state.get(key, (0.0, 0.0))
            vw = self.momentum * vw - self.current_learning_rate * layer.dweights
            vb = self.momentum * vb - self.current_learning_rate * layer.dbiases
            self.state[key] = (vw, vb)
            layer.weights += vw
            layer.biases += vb
        else:
            layer.weights -= self.current_learning_rate * layer.dweights
            layer.biases -= self.current_learning_rate * layer.dbiases

    def post_update_params(self):
        self.iterations += 1
