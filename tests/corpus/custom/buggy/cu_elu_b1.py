# corpus: buggy
# culprit: Activation_ELU
# bug: negative-branch derivative uses the output alone (forgets + alpha)
import numpy as np
import nnfs

nnfs.init()


# ELU activation
class Activation_ELU:

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    # Forward pass
    def forward(self, inputs):
        self.inputs = inputs
        # x for x > 0, alpha * (e^x - 1) otherwise
        self.output = np.where(inputs > 0, inputs,
                               self.alpha * (np.exp(inputs) - 1))

    # Backward pass
    def backward(self, dvalues):
        # for x <= 0 the derivative is alpha * e^x = output + alpha
        self.dinputs = np.where(self.inputs > 0, dvalues,
                                dvalues * self.output)
