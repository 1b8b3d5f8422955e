# corpus: buggy
# culprit: Activation_Softmax_Loss_CategoricalCrossentropy
# bug: combined class (logits-only forward) backward does not divide by number of samples
import numpy as np


class Activation_Softmax_Loss_CategoricalCrossentropy:
    def forward(self, logits):
        self.inputs = logits
        exp_values = np.exp(logits - np.max(logits, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        return self.output

    def backward(self, dvalues, y_true):
        samples = len(dvalues)
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        self.dinputs = dvalues.copy()
        self.dinputs[range(samples), y_true] -= 1
