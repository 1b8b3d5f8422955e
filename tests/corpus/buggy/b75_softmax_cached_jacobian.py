# corpus: buggy
# culprit: Activation_Softmax
# bug: Jacobians cached on the first backward and reused while the batch shape is unchanged (uses outputs of a previous call)
import numpy as np


class Activation_Softmax:
    def forward(self, inputs, training=False):
        self.inputs = inputs
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        self.output = exp_values / np.sum(exp_values, axis=1, keepdims=True)

    def backward(self, dvalues):
        # speed-up: build the jacobians once
        if getattr(self, "_jacobians", None) is None or self._jacobians.shape[0] != len(dvalues):
            s = self.output
            self._jacobians = np.stack([np.diagflat(r) - np.outer(r, r) for r in s])
        self.dinputs = np.einsum("nij,nj->ni", self._jacobians, dvalues)
