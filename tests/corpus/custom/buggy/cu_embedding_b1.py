# corpus: buggy
# culprit: Layer_Embedding
# bug: dweights created once in __init__ and never reset: gradients leak from one backward call into the next
import numpy as np


# Embedding layer: looks up one row of the weight matrix per token id
class Layer_Embedding:

    def __init__(self, vocab_size, embed_dim):
        self.weights = 0.01 * np.random.randn(vocab_size, embed_dim)
        self.dweights = np.zeros_like(self.weights)

    # Forward pass
    def forward(self, inputs):
        # inputs are integer token ids
        self.inputs = inputs
        self.output = self.weights[inputs]

    # Backward pass
    def backward(self, dvalues):
        # a token may occur several times, so accumulate
        np.add.at(self.dweights, self.inputs, dvalues)
        # no gradient with respect to integer ids
