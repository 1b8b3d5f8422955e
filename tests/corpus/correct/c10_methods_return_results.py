# corpus: correct
# bug: a learner's own style: forward/backward also return their result, training defaults to False, `@` instead of np.dot, accumulators set in __init__
import numpy as np


class Layer_Dense:
    def __init__(self, n_inputs, n_neurons, weight_regularizer_l1=0.0, weight_regularizer_l2=0.0,
                 bias_regularizer_l1=0.0, bias_regularizer_l2=0.0):
        self.weights = np.random.randn(n_inputs, n_neurons) * np.sqrt(2.0 / n_inputs)
        self.biases = np.zeros((1, n_neurons))
        self.weight_regularizer_l1 = weight_regularizer_l1
        self.weight_regularizer_l2 = weight_regularizer_l2
        self.bias_regularizer_l1 = bias_regularizer_l1
        self.bias_regularizer_l2 = bias_regularizer_l2

    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = inputs @ self.weights + self.biases
        return self.output

    def backward(self, dvalues):
        self.dweights = self.inputs.T @ dvalues
        self.dbiases = dvalues.sum(axis=0, keepdims=True)
        if self.weight_regularizer_l1 > 0:
            self.dweights += self.weight_regularizer_l1 * np.where(self.weights < 0, -1.0, 1.0)
        if self.weight_regularizer_l2 > 0:
            self.dweights += 2 * self.weight_regularizer_l2 * self.weights
        if self.bias_regularizer_l1 > 0:
            self.dbiases += self.bias_regularizer_l1 * np.where(self.biases < 0, -1.0, 1.0)
        if self.bias_regularizer_l2 > 0:
            self.dbiases += 2 * self.bias_regularizer_l2 * self.biases
        self.dinputs = dvalues @ self.weights.T
        return self.dinputs


class Activation_ReLU:
    def forward(self, inputs, training=False):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)
        return self.output

    def backward(self, dvalues):
        self.dinputs = np.where(self.inputs > 0, dvalues, 0.0)
        return self.dinputs


class Activation_Softmax:
    def forward(self, inputs, training=False):
        shifted = inputs - inputs.max(axis=1, keepdims=True)
        exps = np.exp(shifted)
        self.output = exps / exps.sum(axis=1, keepdims=True)
        return self.output

    def backward(self, dvalues):
        s = self.output
        # J^T v for every row at once: s * (v - <s, v>)
        self.dinputs = s * (dvalues - np.sum(s * dvalues, axis=1, keepdims=True))
        return self.dinputs


class Activation_Sigmoid:
    def forward(self, inputs, training=False):
        self.output = 1.0 / (1.0 + np.exp(-inputs))
        return self.output

    def backward(self, dvalues):
        self.dinputs = dvalues * self.output * (1.0 - self.output)
        return self.dinputs


class Activation_Linear:
    def forward(self, inputs, training=False):
        self.output = inputs
        return self.output

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        return self.dinputs


class Loss:
    def __init__(self):
        self.trainable_layers = []
        self.new_pass()

    def remember_trainable_layers(self, trainable_layers):
        self.trainable_layers = trainable_layers

    def regularization_loss(self):
        total = 0.0
        for layer in self.trainable_layers:
            if layer.weight_regularizer_l1 > 0:
                total += layer.weight_regularizer_l1 * np.abs(layer.weights).sum()
            if layer.weight_regularizer_l2 > 0:
                total += layer.weight_regularizer_l2 * (layer.weights ** 2).sum()
            if layer.bias_regularizer_l1 > 0:
                total += layer.bias_regularizer_l1 * np.abs(layer.biases).sum()
            if layer.bias_regularizer_l2 > 0:
                total += layer.bias_regularizer_l2 * (layer.biases ** 2).sum()
        return total

    def calculate(self, output, y, *, include_regularization=False):
        sample_losses = self.forward(output, y)
        self.accumulated_sum += np.sum(sample_losses)
        self.accumulated_count += len(sample_losses)
        data_loss = np.mean(sample_losses)
        if include_regularization:
            return data_loss, self.regularization_loss()
        return data_loss

    def calculate_accumulated(self, *, include_regularization=False):
        data_loss = self.accumulated_sum / self.accumulated_count
        if include_regularization:
            return data_loss, self.regularization_loss()
        return data_loss

    def new_pass(self):
        self.accumulated_sum = 0.0
        self.accumulated_count = 0


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if y_true.ndim == 1:
            return -np.log(p[np.arange(len(p)), y_true])
        return -np.log(np.sum(p * y_true, axis=1))

    def backward(self, dvalues, y_true):
        samples, labels = dvalues.shape
        if y_true.ndim == 1:
            y_true = np.eye(labels)[y_true]
        self.dinputs = -y_true / dvalues / samples
        return self.dinputs


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if y_true.ndim == 2:
            y_true = y_true.argmax(axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[np.arange(samples), y_true] -= 1
        self.dinputs /= samples
        return self.dinputs


class Loss_BinaryCrossentropy(Loss):
    def forward(self, y_pred, y_true):
        p = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return np.mean(-(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)), axis=-1)

    def backward(self, dvalues, y_true):
        samples, outputs = dvalues.shape
        p = np.clip(dvalues, 1e-7, 1 - 1e-7)
        self.dinputs = -(y_true / p - (1 - y_true) / (1 - p)) / outputs / samples
        return self.dinputs


class Loss_MeanSquaredError(Loss):
    def forward(self, y_pred, y_true):
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    def backward(self, dvalues, y_true):
        samples, outputs = dvalues.shape
        self.dinputs = 2 * (dvalues - y_true) / outputs / samples
        return self.dinputs


class Optimizer_SGD:
    def __init__(self, learning_rate=1.0, decay=0.0, momentum=0.0):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.momentum = momentum
        self.iterations = 0

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer):
        if self.momentum:
            if not hasattr(layer, "weight_momentums"):
                layer.weight_momentums = np.zeros_like(layer.weights)
                layer.bias_momentums = np.zeros_like(layer.biases)
            layer.weight_momentums = (self.momentum * layer.weight_momentums
                                      - self.current_learning_rate * layer.dweights)
            layer.bias_momentums = (self.momentum * layer.bias_momentums
                                    - self.current_learning_rate * layer.dbiases)
            layer.weights += layer.weight_momentums
            layer.biases += layer.bias_momentums
        else:
            layer.weights -= self.current_learning_rate * layer.dweights
            layer.biases -= self.current_learning_rate * layer.dbiases

    def post_update_params(self):
        self.iterations += 1


class Optimizer_Adam:
    def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, beta_1=0.9, beta_2=0.999):
        self.learning_rate = learning_rate
        self.current_learning_rate = learning_rate
        self.decay = decay
        self.iterations = 0
        self.epsilon = epsilon
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def pre_update_params(self):
        if self.decay:
            self.current_learning_rate = self.learning_rate / (1.0 + self.decay * self.iterations)

    def update_params(self, layer):
        if not hasattr(layer, "weight_cache"):
            layer.weight_momentums = np.zeros_like(layer.weights)
            layer.weight_cache = np.zeros_like(layer.weights)
            layer.bias_momentums = np.zeros_like(layer.biases)
            layer.bias_cache = np.zeros_like(layer.biases)
        t = self.iterations + 1
        for p, g, m, c in (("weights", "dweights", "weight_momentums", "weight_cache"),
                           ("biases", "dbiases", "bias_momentums", "bias_cache")):
            grad = getattr(layer, g)
            setattr(layer, m, self.beta_1 * getattr(layer, m) + (1 - self.beta_1) * grad)
            setattr(layer, c, self.beta_2 * getattr(layer, c) + (1 - self.beta_2) * grad ** 2)
            m_hat = getattr(layer, m) / (1 - self.beta_1 ** t)
            c_hat = getattr(layer, c) / (1 - self.beta_2 ** t)
            param = getattr(layer, p)
            param -= self.current_learning_rate * m_hat / (np.sqrt(c_hat) + self.epsilon)

    def post_update_params(self):
        self.iterations += 1
