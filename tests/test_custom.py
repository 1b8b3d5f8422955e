"""Custom components: classes that are not the book's, checked against their own forward.

Discovery, construction from the signature, inputs by trial, parameters by X/dX pairing,
the configuration a user gives, ``oracle.certify``, and the verdicts: a correct layer
passes at many seeds, a planted slip fails with its likely cause, and a class that cannot
be driven is ``skipped`` (not a verdict on its math)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import oracle
from oracle import custom as C
from oracle.api import parse_layers, read_layer_configs
from oracle.run import run_namespace, run_target
from oracle.settings import Settings

CORPUS = Path(__file__).parent / "corpus" / "custom"


class Tanh:
    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.tanh(inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.output ** 2)


class TanhFromInputs(Tanh):
    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.inputs ** 2)  # the derivative at the inputs


class Scale:
    """A learnable per-feature scale: y = x * gamma."""

    def __init__(self, n_features):
        self.gamma = np.random.randn(1, n_features)

    def forward(self, inputs):
        self.inputs = inputs
        self.output = inputs * self.gamma

    def backward(self, dvalues):
        self.dgamma = np.sum(dvalues * self.inputs, axis=0, keepdims=True)
        self.dinputs = dvalues * self.gamma


class ScaleMean(Scale):
    def backward(self, dvalues):
        self.dgamma = np.mean(dvalues * self.inputs, axis=0, keepdims=True)  # mean, not sum
        self.dinputs = dvalues * self.gamma


class Huber:
    def __init__(self, delta=1.0):
        self.delta = delta

    def forward(self, y_pred, y_true):
        d = y_pred - y_true
        a = np.abs(d)
        return np.mean(np.where(a <= self.delta, 0.5 * d ** 2,
                                self.delta * (a - 0.5 * self.delta)), axis=-1)

    def backward(self, dvalues, y_true):
        n, k = dvalues.shape
        d = dvalues - y_true
        self.dinputs = np.clip(d, -self.delta, self.delta) / k / n


class HuberNoSamples(Huber):
    def backward(self, dvalues, y_true):
        n, k = dvalues.shape
        d = dvalues - y_true
        self.dinputs = np.clip(d, -self.delta, self.delta) / k  # no / samples


class Pool2:
    """2x2 max pooling, NCHW."""

    def forward(self, inputs):
        self.inputs = inputs
        n, c, h, w = inputs.shape
        r = inputs.reshape(n, c, h // 2, 2, w // 2, 2)
        self.output = r.max(axis=(3, 5))

    def backward(self, dvalues):
        n, c, h, w = self.inputs.shape
        r = self.inputs.reshape(n, c, h // 2, 2, w // 2, 2)
        mask = r == self.output[:, :, :, None, :, None]
        self.dinputs = (mask * dvalues[:, :, :, None, :, None]).reshape(self.inputs.shape)


class PoolToAll(Pool2):
    def backward(self, dvalues):
        up = np.repeat(np.repeat(dvalues, 2, axis=2), 2, axis=3)
        self.dinputs = up  # every position of the window gets the gradient


class Abstract:
    def forward(self, inputs):
        raise NotImplementedError

    def backward(self, dvalues):
        raise NotImplementedError


class NeedsActivation:
    def __init__(self, fn, dfn):
        self.fn, self.dfn = fn, dfn

    def forward(self, inputs):
        self.inputs = inputs
        self.output = self.fn(inputs)

    def backward(self, dvalues):
        self.dinputs = dvalues * self.dfn(self.inputs)


def _check(*classes, **settings):
    ns = {c.__name__: c for c in classes}
    return run_namespace(ns, "test", Settings(max_examples=settings.pop("examples", 8),
                                              **settings))


# --------------------------------------------------------------------------- discovery


def test_classes_with_forward_and_backward_that_are_not_the_books_are_custom():
    import reference

    ns = {"Tanh": Tanh, "Abstract": Abstract, "Layer_Dense": reference.Layer_Dense,
          "Scale": Scale, "ndarray": np.ndarray}
    assert list(C.custom_classes(ns)) == ["Tanh", "Scale"]


def test_a_relu_variant_with_parameters_is_a_custom_component_not_the_books_relu():
    class Activation_PReLU:
        def __init__(self, alpha=0.25):
            self.alpha = alpha

        def forward(self, inputs):
            self.inputs = inputs
            self.output = np.where(inputs > 0, inputs, self.alpha * inputs)

        def backward(self, dvalues):
            self.dinputs = np.where(self.inputs > 0, dvalues, self.alpha * dvalues)

    report = _check(Activation_PReLU)
    assert report.component("Activation_ReLU").status == "missing"
    assert report.component("Activation_PReLU").status == "pass", report


# --------------------------------------------------------------------------- construction


def test_size_like_parameters_get_small_sizes_and_the_rest_needs_the_user():
    class Conv:
        def __init__(self, in_channels, n_filters, kernel_size, stride=1, activation=None):
            pass

    plan = C.constructor_plan(Conv)
    assert plan.kwargs == {"in_channels": 3, "n_filters": 4, "kernel_size": 3}
    with pytest.raises(C.CustomError, match=r"--layer 'NeedsActivation: kwargs="):
        C.constructor_plan(NeedsActivation)


@pytest.mark.parametrize("text, name, config", [
    ("Conv2D: args=(3, 4, 3), input_shape=(2, 3, 8, 8)", "Conv2D",
     {"args": (3, 4, 3), "input_shape": (2, 3, 8, 8)}),
    ("Conv2D(3, 4, kernel_size=3)", "Conv2D", {"args": (3, 4), "kwargs": {"kernel_size": 3}}),
    ("Emb: input=int, params=(table,)", "Emb", {"input": "int", "params": ("table",)}),
])
def test_the_layer_option_reads_a_class_name_and_its_settings(text, name, config):
    assert C.parse_layer_option(text) == (name, config)


@pytest.mark.parametrize("values, message", [
    (["Conv2D: shape=(2, 3)"], "unknown key"),
    (["Conv2D: input=complex"], "input must be"),
    (["Conv2D: input_shape=(0, 3)"], "positive integers"),
    (["(3, 4)"], "expected Name: key=value"),
])
def test_a_bad_layer_option_is_refused_with_a_reason(values, message):
    with pytest.raises(ValueError, match=message):
        parse_layers(values)


def test_layer_configs_are_read_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.nnfs-oracle.layers.NeedsActivation]
        skip = true
        [tool.nnfs-oracle.layers.Conv]
        args = [3, 4, 3]
        input_shape = [2, 3, 8, 8]
    """))
    got = read_layer_configs(tmp_path / "pyproject.toml")
    assert got == {"NeedsActivation": {"skip": True},
                   "Conv": {"args": [3, 4, 3], "input_shape": [2, 3, 8, 8]}}
    (tmp_path / "bad.toml").write_text("[tool.nnfs-oracle.layers.X]\nsize = 3\n")
    with pytest.raises(ValueError, match="unknown key"):
        read_layer_configs(tmp_path / "bad.toml")


# --------------------------------------------------------------------------- probing


def test_parameters_are_found_by_pairing_x_with_dx():
    plan = C.plan_for_class("Scale", Scale)
    assert plan.params == {"gamma": (("gamma",), ("dgamma",))}
    assert plan.input_shape == (C.PROBE_BATCH, 3)


def test_inputs_are_found_by_trial_and_an_identity_layout_is_passed_over():
    class Flatten:
        def forward(self, inputs):
            self.shape = inputs.shape
            self.output = inputs.reshape(inputs.shape[0], -1)

        def backward(self, dvalues):
            self.dinputs = dvalues.reshape(self.shape)

    assert len(C.plan_for_class("Pool2", Pool2).input_shape) == 4
    flat = C.plan_for_class("Flatten", Flatten)
    assert len(flat.input_shape) == 3 and flat.output_shape == (C.PROBE_BATCH, 3 * C.STEPS)


def test_samples_on_the_last_axis_are_moved_there_by_the_driver():
    class PoolHWCN:  # (height, width, channels, samples)
        def forward(self, inputs):
            self.inputs = inputs
            h, w, c, n = inputs.shape
            self.output = inputs.reshape(h // 2, 2, w // 2, 2, c, n).mean(axis=(1, 3))

        def backward(self, dvalues):
            up = np.repeat(np.repeat(dvalues, 2, axis=0), 2, axis=1)
            self.dinputs = up / 4

    plan = C.plan_for_class("PoolHWCN", PoolHWCN)
    assert plan.batch_last
    assert _check(PoolHWCN).component("PoolHWCN").status == "pass"


# --------------------------------------------------------------------------- verdicts


@pytest.mark.parametrize("seed", range(6))
def test_correct_custom_components_pass_at_every_seed(seed):
    report = _check(Tanh, Scale, Huber, Pool2, seed=seed)
    for name in ("Tanh", "Scale", "Huber", "Pool2"):
        assert report.component(name).status == "pass", report


@pytest.mark.parametrize("cls, cause", [
    (TanhFromInputs, None),
    (ScaleMean, "divided by the number of samples"),
    (HuberNoSamples, "the number of samples"),
    (PoolToAll, "only the maximum of each window"),
])
def test_a_planted_slip_fails_its_gradient_check_with_its_likely_cause(cls, cause):
    result = _check(cls).component(cls.__name__)
    assert result.status == "fail", result
    fd = next(c for c in result.checks if c.name == "finite_differences")
    assert fd.status == "fail"
    if cause:
        assert cause in fd.message, fd.message


def test_a_class_that_cannot_be_built_is_skipped_saying_what_to_give():
    report = _check(NeedsActivation)
    result = report.component("NeedsActivation")
    assert result.status == "skipped"
    assert "--layer" in result.checks[0].message
    assert report.exit_code == 2  # nothing was checked: not a pass


def test_the_configuration_makes_it_checkable():
    report = _check(NeedsActivation, layers={"NeedsActivation": {
        "kwargs": {"fn": "tanh"}}})
    assert report.component("NeedsActivation").status == "skipped"  # a string is no function


# --------------------------------------------------------------------------- certify


def test_certify_judges_one_object_without_changing_it_or_the_random_state():
    layer = Scale(4)
    before = layer.gamma.copy()
    np.random.seed(5)
    state = np.random.get_state()[1].copy()
    report = oracle.certify(layer, np.random.default_rng(1).normal(size=(3, 4)))
    assert report.ok, report
    assert np.array_equal(layer.gamma, before)
    assert np.array_equal(np.random.get_state()[1], state)


def test_assert_certified_raises_with_the_whole_report():
    with pytest.raises(AssertionError, match="finite_differences"):
        oracle.assert_certified(TanhFromInputs(), np.ones((2, 3)) * 0.5)
    oracle.assert_certified(Huber(), np.zeros((4, 3)) + 0.3, y_true=np.eye(3)[[0, 1, 2, 0]])


def test_certify_a_loss_and_a_layer_that_cannot_be_driven():
    report = oracle.certify(HuberNoSamples(), np.zeros((4, 3)), y_true=np.eye(3)[[0, 1, 2, 0]])
    assert not report.ok and "samples" in report.components[0].checks[0].message \
        or any("samples" in c.message for c in report.components[0].checks)

    class NoBackwardShape:
        def forward(self, inputs):
            self.output = inputs.sum()

        def backward(self, dvalues):
            self.dinputs = dvalues

    assert oracle.certify(NoBackwardShape(), np.ones((2, 3))).error is not None


# --------------------------------------------------------------------------- the pipeline


def test_list_shows_how_each_custom_component_will_be_driven():
    target = CORPUS / "correct" / "cu_conv2d.py"
    out = subprocess.run([sys.executable, "-m", "oracle.cli", "list", str(target), "--json"],
                         capture_output=True, text=True, check=True).stdout
    table = json.loads(out)
    assert "custom layer" in table["Layer_Conv2D"]["how"]
    assert "finite_differences" in table["Layer_Conv2D"]["checks"]


def test_a_worker_checks_the_custom_components_after_the_books():
    report = run_target(str(CORPUS / "buggy" / "cu_tanh_b1.py"), Settings(max_examples=4))
    names = [c.name for c in report.components]
    assert names.index("Activation_Tanh") > names.index("Model")
    assert report.component("Activation_Tanh").status == "fail"
    assert report.component("Layer_Dense").status == "pass"


_NEEDS_MODE = textwrap.dedent("""
    import numpy as np

    class Scaler:
        def __init__(self, mode):
            self.factor = 2.0 if mode == "double" else 1.0

        def forward(self, inputs):
            self.output = inputs * self.factor

        def backward(self, dvalues):
            self.dinputs = dvalues * self.factor
""")


def _cli(tmp_path, *args):
    out = subprocess.run([sys.executable, "-m", "oracle.cli", "check", "net.py", "--json",
                          "--max-examples", "3", *args], cwd=tmp_path, capture_output=True,
                         text=True)
    (report,) = json.loads(out.stdout)  # the CLI's JSON is a list, one report per target
    return out.returncode, report


def test_what_cannot_be_inferred_comes_from_the_command_line_or_pyproject(tmp_path):
    (tmp_path / "net.py").write_text(_NEEDS_MODE)
    code, report = _cli(tmp_path)
    (scaler,) = [c for c in report["components"] if c["name"] == "Scaler"]
    assert code == 2 and scaler["status"] == "skipped"
    assert "--layer 'Scaler: kwargs=" in scaler["checks"][0]["message"]
    code, report = _cli(tmp_path, "--layer", "Scaler: kwargs={'mode': 'double'}")
    assert code == 0, report
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nnfs-oracle.layers.Scaler]\nkwargs = {mode = "double"}\n')
    code, report = _cli(tmp_path)
    assert code == 0 and [c["status"] for c in report["components"]
                          if c["name"] == "Scaler"] == ["pass"]


def test_an_abstract_base_is_not_a_component():
    import abc

    class Base(abc.ABC):
        def __init__(self, input_size, output_size):
            self.sizes = (input_size, output_size)

        @abc.abstractmethod
        def forward(self, inputs): ...

        @abc.abstractmethod
        def backward(self, dvalues): ...

    assert C.custom_classes({"Base": Base, "Tanh": Tanh}) == {"Tanh": Tanh}


class SigmoidBCE:
    """Sigmoid and binary cross-entropy in one class: backward takes the sigmoid's outputs,
    as the book's softmax/cross-entropy class does."""

    def forward(self, inputs, y_true):
        self.output = 1 / (1 + np.exp(-inputs))
        p = np.clip(self.output, 1e-7, 1 - 1e-7)
        return -np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p), axis=-1)

    def backward(self, dvalues, y_true):
        self.dinputs = (dvalues - y_true) / dvalues.shape[1] / len(dvalues)


class SigmoidBCEWrong(SigmoidBCE):
    def backward(self, dvalues, y_true):
        self.dinputs = (dvalues - y_true) / dvalues.shape[1]  # no / samples


def test_an_activation_and_loss_in_one_class_gets_its_activations_in_backward():
    assert C.plan_for_class("SigmoidBCE", SigmoidBCE).backward_from_output
    report = _check(SigmoidBCE, SigmoidBCEWrong)
    assert report.component("SigmoidBCE").status == "pass", report
    assert report.component("SigmoidBCEWrong").status == "fail"
