# corpus: buggy
# culprit: Activation_LeakyReLU
# bug: backward zeroes the gradient of negative inputs (copied from ReLU) instead of scaling it by alpha
import numpy as np


class Activation_LeakyReLU:

    def __init__(self, alpha=0.01):
        # slope used for negative inputs
        self.alpha = alpha

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.where(inputs > 0, inputs, self.alpha * inputs)
        return self.output

    def backward(self, dvalues):
        # copy so we don't change the gradient the next layer gave us
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0
        return self.dinputs
