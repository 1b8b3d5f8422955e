# corpus: buggy
# culprit: Activation_LeakyReLU
# bug: no .copy(): backward scales the caller's dvalues in place
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
        self.dinputs = dvalues
        self.dinputs[self.inputs <= 0] *= self.alpha
        return self.dinputs
