# corpus: buggy
# culprit: Activation_GELU
# bug: chain rule drops the sqrt(2/pi) factor of the inner derivative
import numpy as np


# GELU activation (tanh approximation)
class Activation_GELU:

    # Forward pass
    def forward(self, inputs):
        self.inputs = inputs
        self.c = np.sqrt(2 / np.pi)
        self.inner = self.c * (inputs + 0.044715 * inputs ** 3)
        self.tanh_inner = np.tanh(self.inner)
        self.output = 0.5 * inputs * (1 + self.tanh_inner)

    # Backward pass
    def backward(self, dvalues):
        x = self.inputs
        # derivative of the inner polynomial
        dinner = (1 + 3 * 0.044715 * x ** 2)
        # derivative of tanh is sech^2 = 1 - tanh^2
        sech2 = 1 - self.tanh_inner ** 2
        local_grad = 0.5 * (1 + self.tanh_inner) + 0.5 * x * sech2 * dinner
        self.dinputs = dvalues * local_grad
