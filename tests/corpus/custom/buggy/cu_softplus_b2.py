# corpus: buggy
# culprit: Activation_Softplus
# bug: derivative of the wrong function: sigmoid'(x) = s * (1 - s) instead of sigmoid(x)
import numpy as np


# Sigmoid activation
class Activation_Sigmoid:

    # Forward pass
    def forward(self, inputs):
        # Save input and calculate/save output
        # of the sigmoid function
        self.inputs = inputs
        self.output = 1 / (1 + np.exp(-inputs))

    # Backward pass
    def backward(self, dvalues):
        # Derivative - calculates from output of the sigmoid function
        self.dinputs = dvalues * (1 - self.output) * self.output


# Softplus activation: log(1 + e^x)
class Activation_Softplus:

    # Forward pass
    def forward(self, inputs):
        self.inputs = inputs
        # logaddexp(0, x) = log(e^0 + e^x), stable for large x
        self.output = np.logaddexp(0, inputs)

    # Backward pass
    def backward(self, dvalues):
        # derivative of softplus is the sigmoid
        sigmoid = 1 / (1 + np.exp(-self.inputs))
        self.dinputs = dvalues * sigmoid * (1 - sigmoid)
