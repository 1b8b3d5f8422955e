# corpus: correct
# bug: none; variant: Dense keeps params/grads dicts ('W','b' / 'W','b'); SGD with momentum iterates the dicts
# map: Layer_Dense=Dense
import numpy as np


class Dense:
    def __init__(self, n_inputs, n_neurons):
        self.params = {'W': 0.01 * np.random.randn(n_inputs, n_neurons),
                       'b': np.zeros((1, n_neurons))}
        self.grads = {}

    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = inputs @ self.params['W'] + self.params['b']
        return self.output

    def backward(self, dvalues):
        self.grads['W'] = self.inputs.T @ dvalues
        self.grads['b'] = np.sum(dvalues, axis=0, keepdims=True)
        self.dinputs = dvalues @ self.params['W'].T
        return self.dinputs


class Optimizer_SGD:
    def __init__(self, learning_rate=1., decay=0., momentum=0.):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.momentum = momentum
        self.velocity = {}

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate * (1. / (1. + self.decay * self.iterations))

    def update_params(self, layer):
        for name, grad in layer.grads.items():
            if self.momentum:
                key = (id(layer), name)
                v = self.velocity.get(key, np.zeros_like(grad))
                v = self.momentum * v - self.current_learning_rate * grad
                self.velocity[key] = v
                layer.params[name] += v
            else:
                layer.params[name] -= self.current_learning_rate * grad

    def post_update_params(self):
        self.iterations += 1
