# corpus: correct
# bug: Loss_LabelSmoothingCrossentropy(smoothing=0.1), sparse (or one-hot) labels, targets (1 - s) * one_hot + s / K; also the book's Loss base
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


# Cross-entropy against smoothed labels
class Loss_LabelSmoothingCrossentropy(Loss):

    def __init__(self, smoothing=0.1):
        self.smoothing = smoothing

    # Forward pass
    def forward(self, y_pred, y_true):
        samples, classes = y_pred.shape
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        # Clip data to prevent division by 0
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        # smoothed targets: s / K everywhere, plus 1 - s on the true class
        targets = np.full((samples, classes), self.smoothing / classes)
        targets[range(samples), y_true] += 1 - self.smoothing
        sample_losses = -np.sum(targets * np.log(y_pred_clipped), axis=1)
        return sample_losses

    # Backward pass
    def backward(self, dvalues, y_true):
        # Number of samples
        samples = len(dvalues)
        # Number of labels in every sample
        labels = len(dvalues[0])
        if len(y_true.shape) == 2:
            y_true = np.argmax(y_true, axis=1)
        one_hot = np.eye(labels)[y_true]
        smoothed = one_hot * (1 - self.smoothing) + self.smoothing / labels
        # Calculate gradient
        self.dinputs = -smoothed / dvalues
        # Normalize gradient
        self.dinputs = self.dinputs / samples
