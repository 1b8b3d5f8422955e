"""The spec table: one record per nnfs component, every property written once over it.

Design note (the contract, in the manner of PyTorch's OpInfo): a ``Spec`` says
*what a component is* -- its family (how to drive it through the book's
interface), its float64 reference, which case strategy feeds it, which gradient
attributes it exposes, how its outputs depend on its inputs (``separable``,
which lets finite differences perturb many entries per evaluation) and where
its kinks are.  Properties (:mod:`oracle.properties`) and the check generator
(:mod:`oracle.checks`) never name a component: a new component opts into every
applicable property by adding one record here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

import reference as ref
from oracle import strategies as nst
from oracle.numerics import Separable

# --------------------------------------------------------------------------- cases


def _summ(a: Any) -> str:
    if isinstance(a, np.ndarray):
        if a.size <= 24:
            body = np.array2string(a, precision=6, separator=", ", suppress_small=False)
            return f"np.array({body})"
        return f"<array shape={a.shape} dtype={a.dtype}>"
    return repr(a)


@dataclass
class Case:
    """One drawn input for a component: what is passed to it, and the upstream gradient.

    The array fields are float64 (labels int64) arrays or None; typed ``Any`` because
    every property reads the ones its family guarantees.
    """

    inputs: Any = None  # forward input (y_pred for losses, logits for combined)
    y: Any = None  # labels or targets (sparse labels for classification)
    y_one_hot: Any = None  # the one-hot twin of sparse labels
    dvalues: Any = None  # upstream gradient for backward
    weights: Any = None
    biases: Any = None
    ctor: dict[str, Any] = field(default_factory=dict)  # constructor keyword arguments
    extra: dict[str, Any] = field(default_factory=dict)  # family-specific (grad sequences ...)

    @property
    def samples(self) -> int | None:
        return None if self.inputs is None else int(self.inputs.shape[0])

    @property
    def outputs(self) -> int | None:
        if self.inputs is None or self.inputs.ndim < 2:
            return None
        return int(self.inputs.shape[1])

    def summary(self) -> str:
        parts = []
        for name in ("inputs", "y", "dvalues", "weights", "biases"):
            v = getattr(self, name)
            if v is not None:
                parts.append(f"{name}={_summ(v)}")
        for k, v in {**self.ctor, **self.extra}.items():
            if isinstance(v, list) and v and all(isinstance(x, Case) for x in v):
                # the layers of a regularization case: their parameters and nonzero lambdas
                parts.append(f"{k}:")
                for j, c in enumerate(v):
                    lams = ", ".join(f"{n}={x:g}" for n, x in c.ctor.items()
                                     if "regularizer" in n and x)
                    parts.append(f"  [{j}] weights={_summ(c.weights)} biases={_summ(c.biases)}"
                                 f" {lams or 'no regularizer'}")
            elif isinstance(v, list):
                parts.append(f"{k}=[{', '.join(_summ(x) for x in v)}]")
            else:
                parts.append(f"{k}={_summ(v)}")
        return "\n".join(parts)

    def size(self) -> int:
        """How big the case is (for picking the smallest failing one)."""
        total = 0
        for name in ("inputs", "y", "dvalues", "weights", "biases"):
            v = getattr(self, name)
            if v is not None:
                total += int(np.size(v))
        return total


#: Cases for judging targets draw each array from one seed (see oracle.strategies):
#: about 20x cheaper than element-wise draws, which matters at 10 checks per component.
FAST = True

# Shapes stay small: the properties are about formulas, not scale, and a small
# counterexample is one a learner can read.
_N = nst.batch_sizes(min_value=1, max_value=6)
_F = nst.feature_sizes(min_value=1, max_value=5)
_K = nst.class_counts(min_value=2, max_value=5)


@st.composite
def dense_cases(draw: Any, *, regularized: bool = False, l1: bool = False) -> Case:
    n, i, o = draw(_N), draw(_F), draw(_F)
    ctor: dict[str, Any] = {}
    if regularized:
        lam = nst.regularization_strengths(allow_zero=True)
        ctor = {
            "weight_regularizer_l1": draw(lam) if l1 else 0.0,
            "weight_regularizer_l2": draw(lam),
            "bias_regularizer_l1": draw(lam) if l1 else 0.0,
            "bias_regularizer_l2": draw(lam),
        }
    w, b = draw(nst.dense_parameters(i, o, l1=l1, seeded=FAST))
    return Case(
        inputs=draw(nst.inputs((n, i), seeded=FAST)),
        dvalues=draw(nst.upstream_gradients((n, o), seeded=FAST)),
        weights=w,
        biases=b,
        ctor={"n_inputs": i, "n_neurons": o, **ctor},
    )


@st.composite
def activation_cases(draw: Any, *, kind: str = "plain", large: bool = False) -> Case:
    n, f = draw(_N), draw(_F if kind != "softmax" else _K)
    if kind == "relu":
        x = draw(nst.relu_inputs((n, f), seeded=FAST))
    elif kind == "softmax":
        x = draw(nst.logits((n, f), large=large, seeded=FAST))
    elif large:
        x = draw(nst.inputs((n, f), scale=800.0, seeded=FAST))
    else:
        x = draw(nst.inputs((n, f), seeded=FAST))
    return Case(inputs=x, dvalues=draw(nst.upstream_gradients((n, f), seeded=FAST)))


@st.composite
def classification_cases(draw: Any, *, floor: float = nst.PROBABILITY_FLOOR) -> Case:
    n, k = draw(_N), draw(_K)
    sparse, onehot = draw(nst.labels(n, k, seeded=FAST))
    p = draw(nst.probability_rows(n, k, floor=floor, seeded=FAST))
    return Case(inputs=p, y=sparse, y_one_hot=onehot)


@st.composite
def combined_cases(draw: Any, *, large: bool = False) -> Case:
    n, k = draw(_N), draw(_K)
    sparse, onehot = draw(nst.labels(n, k, seeded=FAST))
    z = draw(nst.logits((n, k), large=large, seeded=FAST))
    return Case(inputs=z, y=sparse, y_one_hot=onehot)


@st.composite
def binary_cases(draw: Any, *, floor: float = nst.PROBABILITY_FLOOR) -> Case:
    n, o = draw(_N), draw(_F)
    return Case(
        inputs=draw(nst.binary_probabilities((n, o), floor=floor, seeded=FAST)),
        y=draw(nst.binary_targets((n, o), seeded=FAST)),
    )


@st.composite
def regression_cases(draw: Any, *, kink: bool = False) -> Case:
    n, o = draw(_N), draw(_F)
    p = draw(nst.inputs((n, o), seeded=FAST))
    if kink:
        y = draw(nst.targets_away_from(p, seeded=FAST))
    else:
        y = draw(nst.regression_targets((n, o), seeded=FAST))
    return Case(inputs=p, y=y)


@st.composite
def dropout_cases(draw: Any) -> Case:
    n, f = draw(_N), draw(_F)
    return Case(
        # nonzero inputs, so that output/inputs reveals the mask
        inputs=draw(nst.relu_inputs((n, f), seeded=FAST)),
        dvalues=draw(nst.upstream_gradients((n, f), seeded=FAST)),
        ctor={"rate": draw(nst.dropout_rates())},
    )


@st.composite
def optimizer_cases(
    draw: Any, *, kind: str, decay: bool | None = None, momentum: bool | None = None,
    tiny: bool | None = None,
) -> Case:
    i, o = draw(_F), draw(_F)
    steps = draw(st.integers(1, 4))
    w, b = draw(nst.dense_parameters(i, o, seeded=FAST))
    return Case(
        weights=w,
        biases=b,
        ctor=draw(nst.optimizer_hyperparameters(kind, decay=decay, momentum=momentum)),
        extra={
            "dweights": draw(nst.gradient_sequences((i, o), steps=steps, tiny=tiny, seeded=FAST)),
            "dbiases": draw(nst.gradient_sequences((1, o), steps=steps, tiny=tiny, seeded=FAST)),
        },
    )


@st.composite
def loss_base_cases(draw: Any) -> Case:
    n = draw(_N)
    per = draw(nst.inputs((n,), scale=5.0, seeded=FAST))
    second = draw(nst.inputs((draw(_N),), scale=5.0, seeded=FAST))  # a batch of another size
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        c = draw(dense_cases(regularized=True, l1=True))
        layers.append(c)
    return Case(inputs=per, extra={"layers": layers, "second_batch": second})


# --------------------------------------------------------------------------- kinks


def _relu_kinks(c: Case) -> dict[str, np.ndarray]:
    assert c.inputs is not None
    return {"inputs": np.abs(c.inputs)}


def _mae_kinks(c: Case) -> dict[str, np.ndarray]:
    assert c.inputs is not None and c.y is not None
    return {"inputs": np.abs(c.inputs - c.y)}


def _clip_kinks(c: Case) -> dict[str, np.ndarray]:
    assert c.inputs is not None
    p = c.inputs
    return {"inputs": np.minimum(p - nst.CLIP, 1.0 - nst.CLIP - p)}


def _l1_kinks(c: Case) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if c.ctor.get("weight_regularizer_l1", 0) > 0 and c.weights is not None:
        out["weights"] = np.abs(c.weights)
    if c.ctor.get("bias_regularizer_l1", 0) > 0 and c.biases is not None:
        out["biases"] = np.abs(c.biases)
    return out


# --------------------------------------------------------------------------- the table

Strategy = Callable[[], st.SearchStrategy[Case]]


@dataclass(frozen=True)
class Spec:
    name: str  # the book's class name
    family: str  # how to drive it: dense | activation | input | loss | combined | dropout
    #              | optimizer | loss_base
    reference: type  # the float64 reference class
    cases: Strategy  # kink-safe cases for values and gradients
    grads: tuple[str, ...] = ()  # gradient attributes backward sets
    wrt: dict[str, str] = field(default_factory=dict)  # gradient attribute -> Case field
    separable: dict[str, Separable] = field(default_factory=dict)  # Case field -> structure
    kinks: Callable[[Case], dict[str, np.ndarray]] | None = None  # distance to kinks
    stability: Strategy | None = None  # extreme inputs that must stay finite
    regularized: Strategy | None = None  # cases with regularization (Dense)
    hints: dict[str, str] = field(default_factory=dict)  # check -> extra advice
    checks: tuple[str, ...] = ()  # derived: the checks run on a target

    def __post_init__(self) -> None:
        families = {
            "dense", "activation", "input", "loss", "combined", "dropout", "optimizer",
            "loss_base",
        }
        if self.family not in families:
            raise ValueError(f"{self.name}: unknown family {self.family!r}")
        for g in self.grads:
            if g not in self.wrt:
                raise ValueError(f"{self.name}: gradient {g} has no wrt entry")
        if not self.checks:
            object.__setattr__(self, "checks", _derive_checks(self))


def _derive_checks(s: Spec) -> tuple[str, ...]:
    f = s.family
    if f == "optimizer":
        out = ["update", "update.tiny_gradients", "decay"]
        if s.name == "Optimizer_SGD":
            out.append("momentum")
        return tuple(out)
    if f == "loss_base":
        return ("calculate", "calculate_accumulated", "regularization_loss")
    if f == "dropout":
        return ("dropout.mask", "dropout.backward", "dropout.rate", "dropout.eval", "no_mutation")
    if f == "input":
        return ("forward", "no_mutation", "dtype")
    out = ["forward"] + [f"backward.{g}" for g in s.grads]
    if s.regularized is not None:
        out.append("regularization")
    if f in ("dense", "activation", "loss"):
        out.append("finite_differences")
    if f in ("loss", "combined") and s.name != "Loss_BinaryCrossentropy" and _classifies(s):
        out.append("labels.one_hot")
    if s.stability is not None:
        out.append("stability")
    if s.kinks is _relu_kinks:
        out.append("kink")
    out += ["no_mutation", "dtype", "determinism"]
    if f == "dense":
        out.append("init")
    return tuple(out)


def _classifies(s: Spec) -> bool:
    return s.name in (
        "Loss_CategoricalCrossentropy", "Activation_Softmax_Loss_CategoricalCrossentropy"
    )


_DX = {"dinputs": "inputs"}
_DENSE = {"dinputs": "inputs", "dweights": "weights", "dbiases": "biases"}

SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec(
            "Layer_Dense", "dense", ref.Layer_Dense, lambda: dense_cases(),
            grads=("dinputs", "dweights", "dbiases"), wrt=_DENSE,
            separable={"inputs": "rows", "weights": "columns", "biases": "columns"},
            kinks=_l1_kinks,
            regularized=lambda: dense_cases(regularized=True, l1=True),
        ),
        Spec("Layer_Dropout", "dropout", ref.Layer_Dropout, lambda: dropout_cases()),
        Spec("Layer_Input", "input", ref.Layer_Input, lambda: activation_cases()),
        Spec(
            "Activation_ReLU", "activation", ref.Activation_ReLU,
            lambda: activation_cases(kind="relu"), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"}, kinks=_relu_kinks,
        ),
        Spec(
            "Activation_Softmax", "activation", ref.Activation_Softmax,
            lambda: activation_cases(kind="softmax"), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"},
            stability=lambda: activation_cases(kind="softmax", large=True),
        ),
        Spec(
            "Activation_Sigmoid", "activation", ref.Activation_Sigmoid,
            lambda: activation_cases(), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"},
            stability=lambda: activation_cases(large=True),
        ),
        Spec(
            "Activation_Linear", "activation", ref.Activation_Linear,
            lambda: activation_cases(), grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
        ),
        Spec("Loss", "loss_base", ref.Loss, lambda: loss_base_cases()),
        Spec(
            "Loss_CategoricalCrossentropy", "loss", ref.Loss_CategoricalCrossentropy,
            lambda: classification_cases(), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"}, kinks=_clip_kinks,
            stability=lambda: classification_cases(floor=0.0),
        ),
        Spec(
            "Activation_Softmax_Loss_CategoricalCrossentropy", "combined",
            ref.Activation_Softmax_Loss_CategoricalCrossentropy, lambda: combined_cases(),
            grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
            stability=lambda: combined_cases(large=True),
        ),
        Spec(
            "Loss_BinaryCrossentropy", "loss", ref.Loss_BinaryCrossentropy,
            lambda: binary_cases(), grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
            kinks=_clip_kinks, stability=lambda: binary_cases(floor=0.0),
        ),
        Spec(
            "Loss_MeanSquaredError", "loss", ref.Loss_MeanSquaredError,
            lambda: regression_cases(), grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
        ),
        Spec(
            "Loss_MeanAbsoluteError", "loss", ref.Loss_MeanAbsoluteError,
            lambda: regression_cases(kink=True), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"}, kinks=_mae_kinks,
        ),
        Spec("Optimizer_SGD", "optimizer", ref.Optimizer_SGD, lambda: optimizer_cases(kind="sgd")),
        Spec(
            "Optimizer_Adagrad", "optimizer", ref.Optimizer_Adagrad,
            lambda: optimizer_cases(kind="adagrad"),
        ),
        Spec(
            "Optimizer_RMSprop", "optimizer", ref.Optimizer_RMSprop,
            lambda: optimizer_cases(kind="rmsprop"),
        ),
        Spec(
            "Optimizer_Adam", "optimizer", ref.Optimizer_Adam, lambda: optimizer_cases(kind="adam"),
        ),
    ]
}

_OPT_KIND = {
    "Optimizer_SGD": "sgd", "Optimizer_Adagrad": "adagrad", "Optimizer_RMSprop": "rmsprop",
    "Optimizer_Adam": "adam",
}


def optimizer_kind(name: str) -> str:
    return _OPT_KIND[name]


# --------------------------------------------------------------------------- typical cases


def typical(spec: Spec, variant: str = "cases") -> Case:
    """A fixed, ordinary case (4 samples, non-square shapes, away from kinks) that every
    check tries first, so that even a run of very few examples covers the common path
    where most bugs show (a batch of one sample hides a missing '/ samples')."""
    rng = np.random.default_rng(20260101)
    f = spec.family
    n = 4

    def away(shape: tuple[int, ...]) -> np.ndarray:
        x = rng.normal(size=shape)
        return x + np.where(x >= 0, 0.1, -0.1)

    if f == "dense":
        ctor: dict[str, Any] = {"n_inputs": 3, "n_neurons": 2}
        if variant == "regularized":
            ctor.update(weight_regularizer_l1=0.01, weight_regularizer_l2=0.02,
                        bias_regularizer_l1=0.03, bias_regularizer_l2=0.04)
        return Case(inputs=rng.normal(size=(n, 3)), dvalues=rng.normal(size=(n, 2)),
                    weights=away((3, 2)), biases=away((1, 2)), ctor=ctor)
    if f in ("activation", "input"):
        k = 3
        x = away((n, k))
        if variant == "stability":
            x = x * 400.0 + np.array([[1000.0], [-1000.0], [0.0], [700.0]])
        return Case(inputs=x, dvalues=rng.normal(size=(n, k)))
    if f in ("loss", "combined"):
        labels = np.array([0, 2, 1, 2])
        onehot = nst.one_hot(labels, 3)
        if spec.name == "Loss_BinaryCrossentropy":
            p = rng.uniform(0.05, 0.95, size=(n, 2))
            y = rng.integers(0, 2, size=(n, 2)).astype(np.float64)
            if variant == "stability":
                p[0, 0], p[1, 1], p[2, 0] = 0.0, 1.0, 1.0
                y[0, 0], y[1, 1], y[2, 0] = 1.0, 0.0, 1.0
            return Case(inputs=p, y=y)
        if spec.name in ("Loss_MeanSquaredError", "Loss_MeanAbsoluteError"):
            p = rng.normal(size=(n, 2))
            away_from_p = np.sign(rng.normal(size=(n, 2))) * (0.5 + rng.random((n, 2)))
            return Case(inputs=p, y=p + away_from_p)
        if f == "combined":
            z = rng.normal(size=(n, 3))
            if variant == "stability":
                z = z * 500.0 + 1000.0
            return Case(inputs=z, y=labels, y_one_hot=onehot)
        p = _softmax_rows(rng.normal(size=(n, 3))) * 0.97 + 0.01
        if variant == "stability":
            p[0] = [0.0, 0.0, 1.0]
            p[1] = [1.0, 0.0, 0.0]
        return Case(inputs=p, y=labels, y_one_hot=onehot)
    if f == "dropout":
        return Case(inputs=away((n, 3)), dvalues=rng.normal(size=(n, 3)), ctor={"rate": 0.3})
    if f == "optimizer":
        kind = optimizer_kind(spec.name)
        ctor = {
            "sgd": {"learning_rate": 0.5},
            "adagrad": {"learning_rate": 0.5},
            "rmsprop": {"learning_rate": 0.01},
            "adam": {"learning_rate": 0.01},
        }[kind]
        if variant == "decay":
            ctor["decay"] = 0.1
        if variant == "momentum":
            ctor["momentum"] = 0.9
        scale = 1e-4 if variant == "tiny" else 1.0
        return Case(
            weights=away((3, 2)), biases=away((1, 2)), ctor=ctor,
            extra={"dweights": [away((3, 2)) * scale for _ in range(3)],
                   "dbiases": [away((1, 2)) * scale for _ in range(3)]},
        )
    if f == "loss_base":
        layers = [typical(SPECS["Layer_Dense"], "regularized") for _ in range(2)]
        return Case(inputs=rng.normal(size=(n,)),
                    extra={"layers": layers, "second_batch": rng.normal(size=(n + 3,))})
    raise ValueError(f"no typical case for family {f}")


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
