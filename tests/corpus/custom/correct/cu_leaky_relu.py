# corpus: correct
# bug: Activation_LeakyReLU(alpha=0.01), np.where forward, masked copy in backward, methods return their result
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
        self.dinputs[self.inputs <= 0] *= self.alpha
        return self.dinputs
