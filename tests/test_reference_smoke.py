"""Quick smoke tests of :mod:`reference`: every class builds, runs forward and backward with the
right shapes and dtypes, rejects bad input with a clear message, and computes the same bits in
a process where ``nnfs.init()`` has patched NumPy."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import reference
from reference import (
    Activation_Linear,
    Activation_ReLU,
    Activation_Sigmoid,
    Activation_Softmax,
    Activation_Softmax_Loss_CategoricalCrossentropy,
    Layer_Dense,
    Layer_Dropout,
    Layer_Input,
    Loss,
    Loss_BinaryCrossentropy,
    Loss_CategoricalCrossentropy,
    Loss_MeanAbsoluteError,
    Loss_MeanSquaredError,
    Optimizer_Adagrad,
    Optimizer_Adam,
    Optimizer_RMSprop,
    Optimizer_SGD,
)

REPO = Path(__file__).resolve().parents[1]
N, F, C = 5, 4, 3  # samples, features, classes/outputs


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def _f64(array: Any, shape: tuple[int, ...]) -> None:
    assert isinstance(array, np.ndarray)
    assert array.dtype == np.float64
    assert array.shape == shape


def test_all_exports_exist() -> None:
    assert len(reference.__all__) == 21
    for name in reference.__all__:
        assert isinstance(getattr(reference, name), type), name


def test_dense_shapes_and_parameters(rng: np.random.Generator) -> None:
    layer = Layer_Dense(F, C, 0.1, 0.2, 0.3, 0.4, rng=rng)
    _f64(layer.weights, (F, C))
    _f64(layer.biases, (1, C))
    assert np.all(layer.biases == 0)
    assert np.std(layer.weights) < 0.1  # 0.01 * standard normal
    layer.forward(rng.standard_normal((N, F)).tolist())  # lists are accepted
    _f64(layer.inputs, (N, F))
    _f64(layer.output, (N, C))
    layer.backward(rng.standard_normal((N, C)))
    _f64(layer.dweights, (F, C))
    _f64(layer.dbiases, (1, C))
    _f64(layer.dinputs, (N, F))
    weights, biases = layer.get_parameters()
    layer.set_parameters(weights * 2, biases + 1)
    assert np.array_equal(layer.weights, weights * 2)
    assert np.array_equal(layer.biases, biases + 1)


def test_dense_l1_convention_at_zero() -> None:
    layer = Layer_Dense(2, 1, weight_regularizer_l1=0.5, bias_regularizer_l1=0.25)
    layer.set_parameters(np.array([[0.0], [-1.0]]), np.array([[0.0]]))
    layer.forward(np.zeros((1, 2)))
    layer.backward(np.zeros((1, 1)))
    assert layer.dweights.tolist() == [[0.5], [-0.5]]  # +1 at exactly zero, as the book
    assert layer.dbiases.tolist() == [[0.25]]


def test_dropout_seeded_and_inference(rng: np.random.Generator) -> None:
    x = rng.standard_normal((N, F))
    g = rng.standard_normal((N, F))
    first, second = (Layer_Dropout(0.3, rng=np.random.default_rng(7)) for _ in range(2))
    assert first.rate == pytest.approx(0.7)  # the book stores the keep probability
    first.forward(x)
    second.forward(x, training=True)
    assert np.array_equal(first.binary_mask, second.binary_mask)
    assert set(np.unique(first.binary_mask)) <= {0.0, 1 / 0.7}
    _f64(first.output, (N, F))
    first.backward(g)
    assert np.array_equal(first.dinputs, g * first.binary_mask)
    first.forward(x, training=False)
    assert np.array_equal(first.output, x) and first.output is not x


def test_input_layer() -> None:
    layer = Layer_Input()
    layer.forward([[1, 2], [3, 4]], training=False)
    _f64(layer.output, (2, 2))


@pytest.mark.parametrize(
    "cls", [Activation_ReLU, Activation_Softmax, Activation_Sigmoid, Activation_Linear]
)
def test_activation_shapes(cls: type, rng: np.random.Generator) -> None:
    activation = cls()
    x = rng.standard_normal((N, C))
    activation.forward(x)
    _f64(activation.output, (N, C))
    assert activation.inputs is not None
    activation.backward(rng.standard_normal((N, C)))
    _f64(activation.dinputs, (N, C))
    assert activation.predictions(activation.output).shape[0] == N


def test_relu_and_softmax_details() -> None:
    relu = Activation_ReLU()
    relu.forward(np.array([[-1.0, 0.0, 2.0]]))
    relu.backward(np.ones((1, 3)))
    assert relu.dinputs.tolist() == [[0.0, 0.0, 1.0]]  # gradient 0 at exactly 0
    softmax = Activation_Softmax()
    softmax.forward(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    assert np.allclose(softmax.output, [[0.5, 0.5], [0.25, 0.75]])
    sigmoid = Activation_Sigmoid()
    sigmoid.forward(np.array([[-1000.0, 0.0, 1000.0]]))
    assert sigmoid.output.tolist() == [[0.0, 0.5, 1.0]]


def _probabilities(rng: np.random.Generator) -> np.ndarray:
    e = np.exp(rng.standard_normal((N, C)))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("sparse", [True, False])
def test_categorical_losses(sparse: bool, rng: np.random.Generator) -> None:
    p = _probabilities(rng)
    labels = rng.integers(0, C, N)
    y = labels if sparse else np.eye(C, dtype=np.float64)[labels]
    loss = Loss_CategoricalCrossentropy()
    _f64(loss.forward(p, y), (N,))
    mean = loss.calculate(p, y)  # fresh object, no new_pass() needed
    assert mean == pytest.approx(-np.mean(np.log(p[range(N), labels])))
    loss.backward(p, y)
    _f64(loss.dinputs, (N, C))
    combined = Activation_Softmax_Loss_CategoricalCrossentropy()
    logits = rng.standard_normal((N, C))
    combined_loss = combined.forward(logits, y)  # chapter-9 form
    _f64(combined.output, (N, C))
    assert np.isfinite(combined_loss)
    combined.backward(combined.output, y)
    _f64(combined.dinputs, (N, C))


@pytest.mark.parametrize(
    "cls", [Loss_BinaryCrossentropy, Loss_MeanSquaredError, Loss_MeanAbsoluteError]
)
def test_elementwise_losses(cls: type, rng: np.random.Generator) -> None:
    p = 1 / (1 + np.exp(-rng.standard_normal((N, C))))
    y = (rng.random((N, C)) > 0.5).astype(np.float64)
    loss = cls()
    _f64(loss.forward(p, y), (N,))
    loss.backward(p, y)
    _f64(loss.dinputs, (N, C))


def test_mae_has_the_true_gradient_sign() -> None:
    loss = Loss_MeanAbsoluteError()
    loss.backward(np.array([[2.0, 0.0, 1.0]]), np.array([[1.0, 1.0, 1.0]]))
    assert loss.dinputs.tolist() == [[1 / 3, -1 / 3, 0.0]]


def test_loss_accumulation_and_regularization(rng: np.random.Generator) -> None:
    dense = Layer_Dense(F, C, 0.1, 0.2, 0.3, 0.4, rng=rng)
    dense.biases = rng.standard_normal((1, C))
    plain = Layer_Dense(F, C, rng=rng)
    w, b = dense.weights, dense.biases
    expected = (
        0.1 * np.abs(w).sum() + 0.2 * (w**2).sum() + 0.3 * np.abs(b).sum() + 0.4 * (b**2).sum()
    )
    loss = Loss_MeanSquaredError()
    assert loss.regularization_loss(dense) == pytest.approx(expected)  # chapters 14-17
    assert loss.regularization_loss(plain) == 0
    loss.remember_trainable_layers([dense, plain])
    assert loss.regularization_loss() == pytest.approx(expected)  # chapters 18+
    p, y = rng.standard_normal((N, C)), rng.standard_normal((N, C))
    data_loss, reg_loss = loss.calculate(p, y, include_regularization=True)
    loss.calculate(p[:2], y[:2])
    assert loss.accumulated_count == N + 2
    all_losses = np.concatenate([loss.forward(p, y), loss.forward(p[:2], y[:2])])
    assert loss.calculate_accumulated() == pytest.approx(np.mean(all_losses))
    assert loss.calculate_accumulated(include_regularization=True)[1] == reg_loss
    loss.new_pass()
    assert loss.accumulated_count == 0 and data_loss > 0


@pytest.mark.parametrize(
    ("cls", "defaults"),
    [
        (Optimizer_SGD, {"learning_rate": 1.0, "decay": 0.0, "momentum": 0.0}),
        (Optimizer_Adagrad, {"learning_rate": 1.0, "decay": 0.0, "epsilon": 1e-7}),
        (Optimizer_RMSprop, {"learning_rate": 0.001, "epsilon": 1e-7, "rho": 0.9}),
        (Optimizer_Adam, {"learning_rate": 0.001, "epsilon": 1e-7, "beta_1": 0.9, "beta_2": 0.999}),
    ],
)
def test_optimizers_step(cls: type, defaults: dict[str, float], rng: np.random.Generator) -> None:
    optimizer = cls()
    for attribute, value in defaults.items():
        assert getattr(optimizer, attribute) == value
    assert optimizer.current_learning_rate == optimizer.learning_rate
    assert optimizer.iterations == 0
    kwargs = {"momentum": 0.9} if cls is Optimizer_SGD else {}
    optimizer = cls(learning_rate=0.05, decay=0.01, **kwargs)
    layer = Layer_Dense(F, C, rng=rng)
    x = rng.standard_normal((N, F))
    before = layer.weights.copy()
    for _ in range(3):
        layer.forward(x, training=True)
        layer.backward(layer.output - 1.0)
        optimizer.pre_update_params()
        optimizer.update_params(layer)
        optimizer.post_update_params()
    assert optimizer.iterations == 3
    assert optimizer.current_learning_rate == pytest.approx(0.05 / (1 + 0.01 * 2))
    _f64(layer.weights, (F, C))
    _f64(layer.biases, (1, C))
    assert not np.array_equal(layer.weights, before)
    states: dict[type, list[str]] = {
        Optimizer_SGD: ["weight_momentums", "bias_momentums"],
        Optimizer_Adagrad: ["weight_cache", "bias_cache"],
        Optimizer_RMSprop: ["weight_cache", "bias_cache"],
        Optimizer_Adam: ["weight_momentums", "bias_momentums", "weight_cache", "bias_cache"],
    }
    for name in states[cls]:
        assert getattr(layer, name).dtype == np.float64


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: Layer_Dense(0, 3), "n_inputs"),
        (lambda: Layer_Dense(2, 3).forward(np.ones((4, 5))), "n_inputs=2"),
        (lambda: Layer_Dense(2, 3).backward(np.ones((4, 3))), "call forward() first"),
        (lambda: Layer_Dropout(1.0), "[0, 1)"),
        (lambda: Activation_ReLU().forward([["a"]]), "numeric"),
        (lambda: Activation_Softmax().forward(np.ones(3)), "2-D"),
        (lambda: Loss_CategoricalCrossentropy().forward(np.ones((2, 3)) / 3, [0, 3]), "[0, 3)"),
        (lambda: Loss_CategoricalCrossentropy().forward(np.ones((2, 3)) / 3, [0.5, 1]), "integers"),
        (lambda: Loss_MeanSquaredError().forward(np.ones((4, 1)), np.ones(4)), "reshape"),
        (lambda: Loss().regularization_loss(), "remember_trainable_layers"),
        (lambda: Loss().calculate_accumulated(), "nothing accumulated"),
        (lambda: Optimizer_Adam().update_params(Layer_Dense(2, 2)), "backward() first"),
        (lambda: Optimizer_RMSprop(rho=2), "rho"),
    ],
)
def test_bad_input_is_explained(call: Any, fragment: str) -> None:
    with pytest.raises((ValueError, RuntimeError)) as info:
        call()
    assert fragment in str(info.value)


# Computes a fixed set of reference results and saves them; run once in a clean interpreter and
# once after nnfs.init(), which patches np.dot/np.zeros/np.eye/np.random.randn process-wide.
_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    if sys.argv[2] == "init":
        import nnfs
        nnfs.init()
    import reference as R

    rng = np.random.default_rng(2024)
    x = rng.standard_normal((6, 4))
    labels = rng.integers(0, 3, 6)
    out = {"patched": np.array(np.zeros(2).dtype == np.float32)}

    dense = R.Layer_Dense(4, 3, 0.01, 0.02, 0.03, 0.04, rng=np.random.default_rng(1))
    dense.biases = rng.standard_normal((1, 3))
    dense.forward(x)
    for name, act in [("relu", R.Activation_ReLU()), ("softmax", R.Activation_Softmax()),
                      ("sigmoid", R.Activation_Sigmoid()), ("linear", R.Activation_Linear())]:
        act.forward(dense.output)
        act.backward(rng.standard_normal((6, 3)))
        out[name + ".output"], out[name + ".dinputs"] = act.output, act.dinputs
    dense.backward(rng.standard_normal((6, 3)))
    for attr in ("weights", "output", "dweights", "dbiases", "dinputs"):
        out["dense." + attr] = getattr(dense, attr)

    drop = R.Layer_Dropout(0.25, rng=np.random.default_rng(3))
    drop.forward(x)
    drop.backward(x)
    out["dropout.output"], out["dropout.dinputs"] = drop.output, drop.dinputs

    soft = R.Activation_Softmax()
    soft.forward(x[:, :3])
    p = soft.output
    for y, tag in [(labels, "sparse"), (np.eye(3, dtype=np.float64)[labels], "onehot")]:
        cce = R.Loss_CategoricalCrossentropy()
        out["cce.calc." + tag] = np.array(cce.calculate(p, y))
        cce.backward(p, y)
        out["cce.dinputs." + tag] = cce.dinputs
        both = R.Activation_Softmax_Loss_CategoricalCrossentropy()
        out["smcce.loss." + tag] = np.array(both.forward(x[:, :3], y))
        both.backward(both.output, y)
        out["smcce.dinputs." + tag] = both.dinputs
    target = rng.random((6, 3))
    for name, cls in [("bce", R.Loss_BinaryCrossentropy), ("mse", R.Loss_MeanSquaredError),
                      ("mae", R.Loss_MeanAbsoluteError)]:
        loss = cls()
        loss.remember_trainable_layers([dense])
        data, reg = loss.calculate(p, target, include_regularization=True)
        loss.backward(p, target)
        out[name + ".forward"] = loss.forward(p, target)
        out[name + ".calc"] = np.array([data, reg])
        out[name + ".dinputs"] = loss.dinputs

    for name, opt in [("sgd", R.Optimizer_SGD(0.5, 1e-2, 0.9)), ("adagrad", R.Optimizer_Adagrad()),
                      ("rmsprop", R.Optimizer_RMSprop(decay=1e-3)), ("adam", R.Optimizer_Adam())]:
        layer = R.Layer_Dense(4, 3, 0, 1e-3, rng=np.random.default_rng(5))
        for _ in range(3):
            layer.forward(x, training=True)
            layer.backward(layer.output - 0.5)
            opt.pre_update_params()
            opt.update_params(layer)
            opt.post_update_params()
        out[name + ".weights"], out[name + ".biases"] = layer.weights, layer.biases
        out[name + ".lr"] = np.array(opt.current_learning_rate)

    np.savez(sys.argv[1], **out)
    """
)


def _run(tmp_path: Path, mode: str) -> dict[str, np.ndarray]:
    script = tmp_path / "compute.py"
    script.write_text(_SCRIPT)
    result_file = tmp_path / f"{mode}.npz"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, str(script), str(result_file), mode],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    with np.load(result_file) as data:
        return {key: data[key] for key in data.files}


def test_bit_exact_after_nnfs_init(tmp_path: Path) -> None:
    pytest.importorskip("nnfs")
    clean = _run(tmp_path, "clean")
    patched = _run(tmp_path, "init")
    assert not clean.pop("patched") and patched.pop("patched")  # nnfs.init() did take effect
    assert clean.keys() == patched.keys()
    for key, value in clean.items():
        assert value.dtype == np.float64, key
        assert patched[key].dtype == np.float64, key
        assert np.array_equal(value, patched[key]), key
