# corpus: correct
# bug: a module-level rng = np.random.default_rng(...) used by Dense and Dropout
"""NNFS-style layers with module-level helpers and a shared generator."""
import numpy as np

EPS = 1e-7
CLIP = (EPS, 1 - EPS)
rng = np.random.default_rng(12345)


def one_hot(y, k):
    out = np.zeros((len(y), k))
    out[np.arange(len(y)), y] = 1.0
    return out


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons, l1w=0.0, l2w=0.0, l1b=0.0, l2b=0.0):
        self.weights = 0.01 * rng.standard_normal((n_inputs, n_neurons))
        self.biases = np.zeros((1, n_neurons))
        self.l1w, self.l2w, self.l1b, self.l2b = l1w, l2w, l1b, l2b

    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = inputs @ self.weights + self.biases

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues + self.l1w * np.where(self.weights >= 0, 1, -1) + 2 * self.l2w * self.weights
        self.dbiases = dvalues.sum(axis=0, keepdims=True) + self.l1b * np.where(self.biases >= 0, 1, -1) + 2 * self.l2b * self.biases
        self.dinputs = dvalues @ self.weights.T


class Layer_Dropout:
    def __init__(self, rate):
        self.rate = 1 - rate

    def forward(self, inputs, training=False):
        self.inputs = inputs
        if not training:
            self.output = inputs.copy()
            return
        self.binary_mask = rng.binomial(1, self.rate, size=inputs.shape) / self.rate
        self.output = inputs * self.binary_mask

    def backward(self, dvalues):
        self.dinputs = dvalues * self.binary_mask


class Loss:
    def calculate(self, output, y, *, include_regularization=False):
        return np.mean(self.forward(output, y))


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        p = np.clip(y_pred, *CLIP)
        if y_true.ndim == 1:
            y_true = one_hot(y_true, p.shape[1])
        return -np.log(np.sum(p * y_true, axis=1))

    def backward(self, dvalues, y_true):
        if y_true.ndim == 1:
            y_true = one_hot(y_true, dvalues.shape[1])
        self.dinputs = -y_true / dvalues / len(dvalues)


class Optimizer_SGD:
    def __init__(self, learning_rate=1.0, decay=0.0, momentum=0.0):
        self.lr = learning_rate
        self.current_lr = learning_rate
        self.decay = decay
        self.momentum = momentum
        self.t = 0

    def pre_update_params(self):
        if self.decay:
            self.current_lr = self.lr / (1 + self.decay * self.t)

    def update_params(self, layer):
        if self.momentum:
            if not hasattr(layer, "vw"):
                layer.vw = np.zeros_like(layer.weights)
                layer.vb = np.zeros_like(layer.biases)
            layer.vw = self.momentum * layer.vw - self.current_lr * layer.dweights
            layer.vb = self.momentum * layer.vb - self.current_lr * layer.dbiases
            layer.weights += layer.vw
            layer.biases += layer.vb
        else:
            layer.weights -= self.current_lr * layer.dweights
            layer.biases -= self.current_lr * layer.dbiases

    def post_update_params(self):
        self.t += 1
