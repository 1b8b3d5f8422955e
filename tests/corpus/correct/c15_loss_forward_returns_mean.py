# corpus: correct
# bug: loss forward() returns the batch mean instead of per-sample losses (a variant of the wild)
import numpy as np

# In my version the loss classes' forward directly return the mean loss over the batch.


class Loss_CategoricalCrossentropy:
    def forward(self, y_pred, y_true):
        n = y_pred.shape[0]
        clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if len(y_true.shape) == 1:
            conf = clipped[np.arange(n), y_true]
        else:
            conf = np.sum(clipped * y_true, axis=1)
        return np.mean(-np.log(conf))

    def calculate(self, output, y):
        return self.forward(output, y)

    def backward(self, dvalues, y_true):
        n = len(dvalues)
        if len(y_true.shape) == 1:
            one_hot = np.zeros_like(dvalues)
            one_hot[np.arange(n), y_true] = 1
            y_true = one_hot
        self.dinputs = -y_true / dvalues / n


class Loss_MeanSquaredError:
    def forward(self, y_pred, y_true):
        return np.mean((y_true - y_pred) ** 2)

    def calculate(self, output, y):
        return self.forward(output, y)

    def backward(self, dvalues, y_true):
        samples, outputs = dvalues.shape
        self.dinputs = -2 * (y_true - dvalues) / outputs / samples


class Loss_MeanAbsoluteError:
    def forward(self, y_pred, y_true):
        return np.mean(np.abs(y_true - y_pred))

    def calculate(self, output, y):
        return self.forward(output, y)

    def backward(self, dvalues, y_true):
        samples, outputs = dvalues.shape
        self.dinputs = np.sign(dvalues - y_true) / outputs / samples


class Loss_BinaryCrossentropy:
    def forward(self, y_pred, y_true):
        y_pred = np.clip(y_pred, 1e-7, 1 - 1e-7)
        return np.mean(-(y_true * np.log(y_pred) + (1 - y_true) * np.log(1 - y_pred)))

    def calculate(self, output, y):
        return self.forward(output, y)

    def backward(self, dvalues, y_true):
        samples, outputs = dvalues.shape
        c = np.clip(dvalues, 1e-7, 1 - 1e-7)
        self.dinputs = -(y_true / c - (1 - y_true) / (1 - c)) / outputs / samples
