# corpus: correct
# bug: Layer_Embedding(vocab_size, embed_dim), token ids (N, T) -> (N, T, D), dweights with np.add.at, no dinputs
import numpy as np


# Embedding layer: looks up one row of the weight matrix per token id
class Layer_Embedding:

    def __init__(self, vocab_size, embed_dim):
        self.weights = 0.01 * np.random.randn(vocab_size, embed_dim)

    # Forward pass
    def forward(self, inputs):
        # inputs are integer token ids
        self.inputs = inputs
        self.output = self.weights[inputs]

    # Backward pass
    def backward(self, dvalues):
        self.dweights = np.zeros_like(self.weights)
        # a token may occur several times, so accumulate
        np.add.at(self.dweights, self.inputs, dvalues)
        # no gradient with respect to integer ids
