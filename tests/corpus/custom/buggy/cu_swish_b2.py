# corpus: buggy
# culprit: Activation_Swish
# bug: sign error in the sigmoid derivative: s * (1 + s)
import numpy as np


class Activation_Swish:
    """Swish / SiLU activation: f(x) = x * sigmoid(x)"""

    def forward(self, inputs):
        self.inputs = inputs
        self.sigmoid = 1.0 / (1.0 + np.exp(-inputs))
        self.output = inputs * self.sigmoid
        return self.output

    def backward(self, dvalues):
        s = self.sigmoid
        # product rule: s + x * s'(x), with s' = s * (1 - s)
        self.dinputs = dvalues * (s + self.inputs * s * (1 + s))
        return self.dinputs
