# corpus: buggy
# culprit: Layer_Conv2D
# bug: dinputs assigned (=) instead of accumulated (+=): overlapping windows overwrite each other
import numpy as np


class Layer_Conv2D:

    def __init__(self, in_channels, out_channels, kernel_size):
        self.kernel_size = kernel_size
        self.kernels = 0.1 * np.random.randn(out_channels, in_channels,
                                             kernel_size, kernel_size)
        self.biases = np.zeros(out_channels)

    # Forward pass ('valid' cross-correlation)
    def forward(self, inputs):
        self.inputs = inputs
        n, c, h, w = inputs.shape
        k = self.kernel_size
        out_h = h - k + 1
        out_w = w - k + 1
        self.output = np.zeros((n, self.kernels.shape[0], out_h, out_w))
        for i in range(out_h):
            for j in range(out_w):
                patch = inputs[:, :, i:i + k, j:j + k]
                # (n, c, k, k) . (f, c, k, k) -> (n, f)
                self.output[:, :, i, j] = np.tensordot(
                    patch, self.kernels, axes=([1, 2, 3], [1, 2, 3]))
        self.output += self.biases.reshape(1, -1, 1, 1)

    # Backward pass
    def backward(self, dvalues):
        k = self.kernel_size
        out_h, out_w = dvalues.shape[2], dvalues.shape[3]
        self.dkernels = np.zeros_like(self.kernels)
        self.dbiases = np.sum(dvalues, axis=(0, 2, 3))
        self.dinputs = np.zeros_like(self.inputs)
        for i in range(out_h):
            for j in range(out_w):
                patch = self.inputs[:, :, i:i + k, j:j + k]
                grad = dvalues[:, :, i, j]  # (n, f)
                # (n, f) . (n, c, k, k) -> (f, c, k, k)
                self.dkernels += np.tensordot(grad, patch, axes=([0], [0]))
                # (n, f) . (f, c, k, k) -> (n, c, k, k)
                self.dinputs[:, :, i:i + k, j:j + k] = np.tensordot(
                    grad, self.kernels, axes=([1], [0]))
