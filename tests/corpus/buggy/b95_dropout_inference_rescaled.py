# corpus: buggy
# culprit: Layer_Dropout
# bug: inference path scales by (1 - rate) although training already uses inverted dropout (double scaling); string flag `mode`
import numpy as np


class Layer_Dropout:
    def __init__(self, rate):
        self.rate = rate

    def forward(self, inputs, mode='train'):
        self.inputs = inputs
        if mode == 'train':
            self.binary_mask = np.random.binomial(1, 1 - self.rate, size=inputs.shape) / (1 - self.rate)
            self.output = inputs * self.binary_mask
        else:
            self.output = inputs * (1 - self.rate)

    def backward(self, dvalues):
        self.dinputs = dvalues * self.binary_mask


class Activation_Linear:
    def forward(self, inputs, mode='train'):
        self.inputs = inputs
        self.output = inputs

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
