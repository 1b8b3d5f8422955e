# corpus: correct
# bug: none; variant: loss backward's label argument named y / target / labels; Loss base with calculate + accumulation
import numpy as np


class Loss:
    def calculate(self, output, y, *, include_regularization=False):
        sample_losses = self.forward(output, y)
        data_loss = np.mean(sample_losses)
        self.accumulated_sum += np.sum(sample_losses)
        self.accumulated_count += len(sample_losses)
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def calculate_accumulated(self, *, include_regularization=False):
        data_loss = self.accumulated_sum / self.accumulated_count
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def new_pass(self):
        self.accumulated_sum = 0
        self.accumulated_count = 0

    def remember_trainable_layers(self, trainable_layers):
        self.trainable_layers = trainable_layers

    def regularization_loss(self):
        regularization_loss = 0
        for layer in self.trainable_layers:
            if layer.weight_regularizer_l1 > 0:
                regularization_loss += layer.weight_regularizer_l1 * np.sum(np.abs(layer.weights))
            if layer.weight_regularizer_l2 > 0:
                regularization_loss += layer.weight_regularizer_l2 * np.sum(layer.weights * layer.weights)
            if layer.bias_regularizer_l1 > 0:
                regularization_loss += layer.bias_regularizer_l1 * np.sum(np.abs(layer.biases))
            if layer.bias_regularizer_l2 > 0:
                regularization_loss += layer.bias_regularizer_l2 * np.sum(layer.biases * layer.biases)
        return regularization_loss


class Loss_CategoricalCrossentropy(Loss):
    def forward(self, y_pred, y):
        samples = len(y_pred)
        y_pred_clipped = np.clip(y_pred, 1e-7, 1 - 1e-7)
        if len(y.shape) == 1:
            correct_confidences = y_pred_clipped[range(samples), y]
        else:
            correct_confidences = np.sum(y_pred_clipped * y, axis=1)
        return -np.log(correct_confidences)

    def backward(self, dvalues, y):
        samples = len(dvalues)
        labels = len(dvalues[0])
        if len(y.shape) == 1:
            y = np.eye(labels)[y]
        self.dinputs = -y / dvalues / samples


class Loss_MeanSquaredError(Loss):
    def forward(self, y_pred, target):
        return np.mean((target - y_pred) ** 2, axis=-1)

    def backward(self, dvalues, target):
        samples = len(dvalues)
        outputs = len(dvalues[0])
        self.dinputs = -2 * (target - dvalues) / outputs / samples


class Loss_MeanAbsoluteError(Loss):
    def forward(self, y_pred, labels):
        return np.mean(np.abs(labels - y_pred), axis=-1)

    def backward(self, dvalues, labels):
        samples = len(dvalues)
        outputs = len(dvalues[0])
        self.dinputs = np.sign(dvalues - labels) / outputs / samples
