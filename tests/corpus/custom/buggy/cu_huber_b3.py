# corpus: buggy
# culprit: Loss_Huber
# bug: linear branch not clipped: gradient is the raw error everywhere (MSE gradient)
import numpy as np


# Common loss class
class Loss:

    # Calculates the data loss
    # given model output and ground truth values
    def calculate(self, output, y):
        # Calculate sample losses
        sample_losses = self.forward(output, y)
        # Calculate mean loss
        data_loss = np.mean(sample_losses)
        # Return loss
        return data_loss


# Huber loss: quadratic near zero, linear for large errors
class Loss_Huber(Loss):

    def __init__(self, delta=1.0):
        self.delta = delta

    # Forward pass
    def forward(self, y_pred, y_true):
        error = y_pred - y_true
        abs_error = np.abs(error)
        quadratic = 0.5 * error ** 2
        linear = self.delta * (abs_error - 0.5 * self.delta)
        sample_losses = np.mean(np.where(abs_error <= self.delta, quadratic, linear), axis=-1)
        # Return losses
        return sample_losses

    # Backward pass
    def backward(self, dvalues, y_true):
        # Number of samples
        samples = len(dvalues)
        # Number of outputs in every sample
        outputs = len(dvalues[0])
        error = dvalues - y_true
        # error inside [-delta, delta], delta * sign(error) outside
        gradient = error
        self.dinputs = gradient / outputs
        # Normalize gradient
        self.dinputs = self.dinputs / samples
