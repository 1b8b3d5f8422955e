# corpus: bad
# bug: a plain NumPy script with functions but none of the book's classes
import numpy as np


def relu(x):
    return np.maximum(0, x)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


if __name__ == "__main__":
    print(softmax(relu(np.random.randn(3, 4))))
