# corpus: buggy
# culprit: Layer_BatchNormalization
# bug: forward uses the unbiased batch variance (ddof=1) while backward is derived for the biased one
import numpy as np


class Layer_BatchNormalization:

    def __init__(self, num_features, momentum=0.9, epsilon=1e-5):
        # learnable scale and shift
        self.gamma = np.ones((1, num_features)) + 0.1 * np.random.randn(1, num_features)
        self.beta = np.zeros((1, num_features))
        self.momentum = momentum
        self.epsilon = epsilon
        # statistics used at inference time
        self.running_mean = np.zeros((1, num_features))
        self.running_var = np.ones((1, num_features))

    # Forward pass
    def forward(self, inputs, training):
        self.inputs = inputs
        self.training = training
        if training:
            # statistics of this batch
            self.mean = np.mean(inputs, axis=0, keepdims=True)
            self.var = np.var(inputs, axis=0, ddof=1, keepdims=True)
            # update the running statistics
            self.running_mean = self.momentum * self.running_mean + \
                (1 - self.momentum) * self.mean
            self.running_var = self.momentum * self.running_var + \
                (1 - self.momentum) * self.var
        else:
            self.mean = self.running_mean
            self.var = self.running_var
        self.std = np.sqrt(self.var + self.epsilon)
        self.x_hat = (inputs - self.mean) / self.std
        self.output = self.gamma * self.x_hat + self.beta

    # Backward pass
    def backward(self, dvalues):
        samples = len(dvalues)
        # gradients on parameters
        self.dgamma = np.sum(dvalues * self.x_hat, axis=0, keepdims=True)
        self.dbeta = np.sum(dvalues, axis=0, keepdims=True)
        # gradient on the normalized values
        dx_hat = dvalues * self.gamma
        if self.training:
            # mean and variance depend on every sample of the batch
            self.dinputs = (samples * dx_hat - np.sum(dx_hat, axis=0, keepdims=True) -
                            self.x_hat * np.sum(dx_hat * self.x_hat, axis=0, keepdims=True)) / (samples * self.std)
        else:
            # running statistics are constants
            self.dinputs = dx_hat / self.std
