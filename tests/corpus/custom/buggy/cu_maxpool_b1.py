# corpus: buggy
# culprit: Layer_MaxPool2D
# bug: CHANNELS-LAST; gradient routed to every position of the window (mask not applied)
import numpy as np


class Layer_MaxPool2D:
    """Max pooling over non-overlapping pool_size x pool_size windows.
    Inputs are channels-last: (batch, height, width, channels)."""

    def __init__(self, pool_size=2):
        self.pool_size = pool_size

    def forward(self, inputs):
        self.inputs = inputs
        n, h, w, c = inputs.shape
        p = self.pool_size
        windows = inputs.reshape(n, h // p, p, w // p, p, c)
        self.output = windows.max(axis=(2, 4))
        return self.output

    def backward(self, dvalues):
        p = self.pool_size
        # blow the pooled maxima back up to the input size
        expanded_out = self.output.repeat(p, axis=1).repeat(p, axis=2)
        mask = (self.inputs == expanded_out)
        # only the max of each window receives the gradient
        expanded_grad = dvalues.repeat(p, axis=1).repeat(p, axis=2)
        self.dinputs = expanded_grad
        return self.dinputs
