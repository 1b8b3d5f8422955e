"""The spec table: one record per nnfs component, every property written once over it.

Design note (the contract, in the manner of PyTorch's OpInfo): a ``Spec`` says
*what a component is* -- its family (how to drive it through the book's
interface), its float64 reference, which case strategy feeds it, which gradient
attributes it exposes, how its outputs depend on its inputs (``separable``,
which lets finite differences perturb many entries per evaluation) and where
its kinks are; its names in the wild, its heading in tables, its cost, its typical case
and its capabilities (an optimizer's update rule, momentum, class labels, a kink
convention, clipping).  Nothing else lists components: discovery, the reports and the
lanes of a run derive from :data:`SPECS`, and each property (:mod:`oracle.properties`)
says from a record's family and capabilities whether it applies.  A new component is one
reference class and one record here.
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
            elif k == "params" and isinstance(v, dict):  # a custom component's parameters
                parts.extend(f"{name}={_summ(x)}" for name, x in v.items())
            else:
                parts.append(f"{k}={_summ(v)}")
        return "\n".join(parts)

    def get(self, field_name: str) -> Any:
        """A field's value; ``params.NAME`` is a custom component's parameter."""
        if field_name.startswith("params."):
            return self.extra.get("params", {}).get(field_name[len("params."):])
        return getattr(self, field_name)

    def replaced(self, field_name: str, value: Any) -> Case:
        """A copy of the case with one field (or one parameter) replaced."""
        if field_name.startswith("params."):
            params = {**self.extra.get("params", {}), field_name[len("params."):]: value}
            return Case(**{**self.__dict__, "extra": {**self.extra, "params": params}})
        return Case(**{**self.__dict__, field_name: value})

    def size(self) -> int:
        """How big the case is (for picking the smallest failing one)."""
        total = 0
        for name in ("inputs", "y", "dvalues", "weights", "biases"):
            v = getattr(self, name)
            if v is not None:
                total += int(np.size(v))
        return total + sum(int(np.size(v)) for v in self.extra.get("params", {}).values())


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


@st.composite
def accuracy_cases(draw: Any, *, kind: str) -> Case:
    """Predictions and labels for an accuracy: class indices (sparse, one-hot twin) and a
    binary pair ``extra["binary"]``; or regression targets, the training targets ``init``
    sees (``extra["train"]``) and how far each prediction is placed from its target, in
    units of the precision (``extra["factors"]``: +-0.5 inside, +-2 outside, never on it)."""
    n = draw(_N)
    if kind == "regression":
        o = draw(st.integers(1, 3))
        train = draw(nst.regression_targets((draw(_N) + 2, o), seeded=FAST))
        y = draw(nst.regression_targets((n, o), seeded=FAST))
        factors = draw(st.lists(st.sampled_from([-2.0, -0.5, 0.5, 2.0]), min_size=n * o,
                                max_size=n * o))
        return Case(y=y, extra={"train": train, "factors": np.reshape(factors, (n, o))})
    k = draw(_K)
    sparse, onehot = draw(nst.labels(n, k, seeded=FAST))
    predictions, _ = draw(nst.labels(n, k, seeded=FAST))
    o = draw(st.integers(1, 3))
    binary_y = draw(nst.binary_targets((n, o), seeded=FAST)).astype(np.int64)
    binary_p = draw(nst.binary_targets((n, o), seeded=FAST)).astype(np.int64)
    return Case(inputs=predictions, y=sparse, y_one_hot=onehot,
                extra={"binary": (binary_p, binary_y)})


@st.composite
def accuracy_base_cases(draw: Any) -> Case:
    """Two batches of per-sample comparisons (True/False) of different sizes."""
    first = draw(nst.binary_targets((draw(_N),), seeded=FAST)).astype(bool)
    second = draw(nst.binary_targets((draw(_N) + 1,), seeded=FAST)).astype(bool)
    return Case(inputs=first, extra={"second_batch": second})


def model_cases() -> st.SearchStrategy[Case]:
    """The Model is judged on fixed networks and data (oracle.training), not drawn cases."""
    return st.just(Case())


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
    """Everything the oracle knows of one component; nothing else names components."""

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
    hints: dict[str, str] = field(default_factory=dict)  # situation -> advice (non_finite,
    #              predictions)
    # -- discovery and reporting
    short: str = ""  # the heading in tables (derived: the name itself)
    aliases: tuple[str, ...] = ()  # other class names seen in the wild, normalised
    name_keys: tuple[tuple[str, ...], ...] = ()  # words a class name contains (all of one)
    name_excludes: tuple[str, ...] = ()  # words that make a name another component's
    cost: float = 0.7  # relative seconds to check it (balances a target's worker lanes)
    # -- capabilities (instead of tests on names)
    typical_case: Callable[[Spec, str], Case] | None = None  # the fixed case tried first
    optimizer: str | None = None  # its update rule: sgd | adagrad | rmsprop | adam
    momentum: bool = False  # an optimizer with momentum (a momentum check)
    labels: str | None = None  # "classes": sparse labels and their one-hot twins
    subgradient_at_kink: bool = False  # a kink where any valid subgradient is a note
    integer_inputs: bool = False  # a first layer: raw integer data goes straight in
    clipped: bool = False  # clips predictions (another clip constant is a convention)
    backward_finite_at_extremes: bool = True  # False: the book's backward is inf there too
    bounded_output: bool = False  # outputs are probabilities formed from terms >= 1
    known_slips: Callable[[Case], list[tuple[np.ndarray, str]]] | None = None  # wrong
    #              dinputs formulas learners write, each with its explanation
    base_of: str | None = None  # a base class: the family whose classes derive from it
    #              (found by structure as their nearest common base defining calculate)
    precision: bool = False  # an accuracy whose init(y) sets a precision from the targets
    output_layer: bool = False  # an activation a Model's last layer usually is (its
    #              predictions() are what the accuracy compares)
    plan: Any = None  # a custom component's probe (oracle.custom.CustomPlan): its record
    #              is made at run time, its reference is its own class

    def __post_init__(self) -> None:
        families = {
            "dense", "activation", "input", "loss", "combined", "dropout", "optimizer",
            "loss_base", "accuracy", "accuracy_base", "model", "custom", "custom_loss",
        }
        if self.family not in families:
            raise ValueError(f"{self.name}: unknown family {self.family!r}")
        for g in self.grads:
            if g not in self.wrt:
                raise ValueError(f"{self.name}: gradient {g} has no wrt entry")
        if (self.family == "optimizer") != (self.optimizer is not None):
            raise ValueError(f"{self.name}: an optimizer names its update rule, nothing else")
        if self.typical_case is None:
            raise ValueError(f"{self.name}: no typical case")
        if not self.short:
            object.__setattr__(self, "short", self.name)


# --------------------------------------------------------------------------- typical cases


def _away(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.normal(size=shape)
    return x + np.where(x >= 0, 0.1, -0.1)


def _rng() -> np.random.Generator:
    return np.random.default_rng(20260101)


_TYPICAL_N = 4  # samples in a typical case: a batch of one hides a missing '/ samples'


def _typical_dense(spec: Spec, variant: str) -> Case:
    rng = _rng()
    ctor: dict[str, Any] = {"n_inputs": 3, "n_neurons": 2}
    if variant == "regularized":
        ctor.update(weight_regularizer_l1=0.01, weight_regularizer_l2=0.02,
                    bias_regularizer_l1=0.03, bias_regularizer_l2=0.04)
    return Case(inputs=rng.normal(size=(_TYPICAL_N, 3)), dvalues=rng.normal(size=(_TYPICAL_N, 2)),
                weights=_away(rng, (3, 2)), biases=_away(rng, (1, 2)), ctor=ctor)


def _typical_activation(spec: Spec, variant: str) -> Case:
    rng = _rng()
    x = _away(rng, (_TYPICAL_N, 3))
    if variant == "stability":
        x = x * 400.0 + np.array([[1000.0], [-1000.0], [0.0], [700.0]])
    return Case(inputs=x, dvalues=rng.normal(size=(_TYPICAL_N, 3)))


_LABELS = np.array([0, 2, 1, 2])


def _typical_classification(spec: Spec, variant: str) -> Case:
    rng = _rng()
    onehot = nst.one_hot(_LABELS, 3)
    p = _softmax_rows(rng.normal(size=(_TYPICAL_N, 3))) * 0.97 + 0.01
    if variant == "stability":
        p[0] = [0.0, 0.0, 1.0]
        p[1] = [1.0, 0.0, 0.0]
    return Case(inputs=p, y=_LABELS, y_one_hot=onehot)


def _typical_combined(spec: Spec, variant: str) -> Case:
    rng = _rng()
    z = rng.normal(size=(_TYPICAL_N, 3))
    if variant == "stability":
        z = z * 500.0 + 1000.0
    return Case(inputs=z, y=_LABELS, y_one_hot=nst.one_hot(_LABELS, 3))


def _typical_binary(spec: Spec, variant: str) -> Case:
    rng = _rng()
    p = rng.uniform(0.05, 0.95, size=(_TYPICAL_N, 2))
    y = rng.integers(0, 2, size=(_TYPICAL_N, 2)).astype(np.float64)
    if variant == "stability":
        p[0, 0], p[1, 1], p[2, 0] = 0.0, 1.0, 1.0
        y[0, 0], y[1, 1], y[2, 0] = 1.0, 0.0, 1.0
    return Case(inputs=p, y=y)


def _typical_regression(spec: Spec, variant: str) -> Case:
    rng = _rng()
    p = rng.normal(size=(_TYPICAL_N, 2))
    away_from_p = np.sign(rng.normal(size=(_TYPICAL_N, 2))) * (0.5 + rng.random((_TYPICAL_N, 2)))
    return Case(inputs=p, y=p + away_from_p)


def _typical_dropout(spec: Spec, variant: str) -> Case:
    rng = _rng()
    return Case(inputs=_away(rng, (_TYPICAL_N, 3)), dvalues=rng.normal(size=(_TYPICAL_N, 3)),
                ctor={"rate": 0.3})


_TYPICAL_RATES = {"sgd": 0.5, "adagrad": 0.5, "rmsprop": 0.01, "adam": 0.01}


def _typical_optimizer(spec: Spec, variant: str) -> Case:
    rng = _rng()
    ctor: dict[str, Any] = {"learning_rate": _TYPICAL_RATES[spec.optimizer or "sgd"]}
    if variant == "decay":
        ctor["decay"] = 0.1
    if variant == "momentum":
        ctor["momentum"] = 0.9
    scale = 1e-4 if variant == "tiny" else 1.0
    return Case(
        weights=_away(rng, (3, 2)), biases=_away(rng, (1, 2)), ctor=ctor,
        extra={"dweights": [_away(rng, (3, 2)) * scale for _ in range(3)],
               "dbiases": [_away(rng, (1, 2)) * scale for _ in range(3)]},
    )


def _typical_loss_base(spec: Spec, variant: str) -> Case:
    rng = _rng()
    layers = [typical(SPECS["Layer_Dense"], "regularized") for _ in range(2)]
    return Case(inputs=rng.normal(size=(_TYPICAL_N,)),
                extra={"layers": layers, "second_batch": rng.normal(size=(_TYPICAL_N + 3,))})


def _typical_accuracy(spec: Spec, variant: str) -> Case:
    rng = _rng()
    if spec.precision:
        y = rng.normal(size=(_TYPICAL_N, 2))
        factors = np.array([[0.5, 2.0], [-2.0, -0.5], [2.0, 0.5], [-0.5, -2.0]])
        return Case(y=y, extra={"train": rng.normal(size=(_TYPICAL_N + 3, 2)) * 3.0,
                                "factors": factors})
    predictions = np.array([0, 2, 2, 1])
    return Case(inputs=predictions, y=_LABELS, y_one_hot=nst.one_hot(_LABELS, 3),
                extra={"binary": (np.array([[1, 0], [0, 0], [1, 1], [0, 1]]),
                                  np.array([[1, 1], [0, 0], [1, 0], [0, 1]]))})


def _typical_accuracy_base(spec: Spec, variant: str) -> Case:
    return Case(inputs=np.array([True, False, True, True]),
                extra={"second_batch": np.array([False, False, True, False, True, False, False])})


def _typical_model(spec: Spec, variant: str) -> Case:
    return Case()


def typical(spec: Spec, variant: str = "cases") -> Case:
    """A fixed, ordinary case (4 samples, non-square shapes, away from kinks) that every
    check tries first, so that even a run of very few examples covers the common path
    where most bugs show (a batch of one sample hides a missing '/ samples')."""
    assert spec.typical_case is not None
    return spec.typical_case(spec, variant)


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- known slips


def _relu_slips(c: Case) -> list[tuple[np.ndarray, str]]:
    x, dv = c.inputs, c.dvalues
    return [
        (np.where(dv <= 0, 0.0, dv), "the mask is taken from dvalues; use the forward inputs "
         "(dinputs[self.inputs <= 0] = 0)"),
        (np.where(x > 0, 0.0, dv), "the mask is inverted: the gradient passes where inputs > 0 "
         "and is zeroed where inputs <= 0 (dinputs[self.inputs <= 0] = 0)"),
        (np.where(x > 0, 1.0, 0.0), "dinputs is the mask alone: multiply it by dvalues "
         "(start from dvalues.copy(), then zero where inputs <= 0)"),
    ]


def _softmax_slips(c: Case) -> list[tuple[np.ndarray, str]]:
    x, dv = c.inputs, c.dvalues
    s = _softmax_rows(x)
    return [
        (dv * s * (1 - s), "only the diagonal of the softmax Jacobian is used; the full "
         "Jacobian is diag(s) - s s^T"),
        (s * (dv + np.sum(s * dv, axis=1, keepdims=True)),
         "a sign slip in the Jacobian: diag(s) - s s^T"),
    ]


def _sigmoid_slips(c: Case) -> list[tuple[np.ndarray, str]]:
    return [(c.dvalues * (1 - c.inputs) * c.inputs,
             "the derivative uses the inputs; it is output * (1 - output)")]


_OVERFLOW_SOFTMAX = ("an overflow: exp of large inputs; subtract each row's maximum first "
                     "(np.exp(inputs - np.max(inputs, axis=1, keepdims=True)))")


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
            name_keys=(("dense",), ("fullyconnected",)),
            short="Dense", cost=3.0, typical_case=_typical_dense, integer_inputs=True,
            aliases=("dense", "denselayer", "layerdense", "fullyconnected", "linearlayer", "fc"),
        ),
        Spec("Layer_Dropout", "dropout", ref.Layer_Dropout, lambda: dropout_cases(),
             name_keys=(("dropout",),),
             short="Dropout", cost=1.0, typical_case=_typical_dropout,
             aliases=("dropout", "dropoutlayer", "layerdropout")),
        Spec("Layer_Input", "input", ref.Layer_Input, lambda: activation_cases(),
             short="Input", typical_case=_typical_activation,
             aliases=("input", "inputlayer", "layerinput")),
        Spec(
            "Activation_ReLU", "activation", ref.Activation_ReLU,
            lambda: activation_cases(kind="relu"), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"}, kinks=_relu_kinks, subgradient_at_kink=True,
            name_keys=(("relu",),), name_excludes=("leaky", "loss"),
            short="ReLU", typical_case=_typical_activation, known_slips=_relu_slips,
            aliases=("relu", "activationrelu", "reluactivation"),
        ),
        Spec(
            "Activation_Softmax", "activation", ref.Activation_Softmax,
            lambda: activation_cases(kind="softmax"), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"},
            stability=lambda: activation_cases(kind="softmax", large=True),
            name_keys=(("softmax",),),
            name_excludes=("loss", "cce", "crossentropy", "entropy", "classifier"),
            short="Softmax", typical_case=_typical_activation, known_slips=_softmax_slips,
            output_layer=True,
            bounded_output=True,
            hints={"non_finite": _OVERFLOW_SOFTMAX,
                   "predictions": "the class of each sample is np.argmax(outputs, axis=1): "
                   "along the classes (axis=1), not the samples"},
            aliases=("softmax", "activationsoftmax", "softmaxactivation"),
        ),
        Spec(
            "Activation_Sigmoid", "activation", ref.Activation_Sigmoid,
            lambda: activation_cases(), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"},
            stability=lambda: activation_cases(large=True),
            name_keys=(("sigmoid",),), name_excludes=("loss", "bce", "entropy"),
            short="Sigmoid", typical_case=_typical_activation, known_slips=_sigmoid_slips,
            output_layer=True,
            bounded_output=True,
            hints={"non_finite": "an overflow: exp of a large input (1 / (1 + np.exp(-inputs)) "
                   "is safe as it is)",
                   "predictions": "a sample's output counts as 1 where the probability is "
                   "above one half: (outputs > 0.5) * 1"},
            aliases=("sigmoid", "activationsigmoid", "sigmoidactivation"),
        ),
        Spec(
            "Activation_Linear", "activation", ref.Activation_Linear,
            lambda: activation_cases(), grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
            name_keys=(("linear",),), name_excludes=("layer", "dense", "loss"),
            short="Linear", typical_case=_typical_activation, output_layer=True,
            aliases=("linear", "activationlinear", "linearactivation", "identity"),
        ),
        Spec("Loss", "loss_base", ref.Loss, lambda: loss_base_cases(), short="Loss", cost=1.5,
             typical_case=_typical_loss_base, base_of="loss",
             aliases=("loss", "lossbase", "baseloss")),
        Spec(
            "Loss_CategoricalCrossentropy", "loss", ref.Loss_CategoricalCrossentropy,
            lambda: classification_cases(), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"}, kinks=_clip_kinks,
            stability=lambda: classification_cases(floor=0.0),
            name_keys=(("categorical",), ("cce",), ("crossentropy",), ("loss", "cc")),
            name_excludes=("binary", "bce", "softmax"),
            short="CCE", typical_case=_typical_classification, labels="classes", clipped=True,
            backward_finite_at_extremes=False,  # the book does not clip in backward: -y/p
            aliases=("categoricalcrossentropy", "losscategoricalcrossentropy", "crossentropyloss",
                     "crossentropy", "cceloss", "cce", "categoricalcrossentropyloss"),
        ),
        Spec(
            "Activation_Softmax_Loss_CategoricalCrossentropy", "combined",
            ref.Activation_Softmax_Loss_CategoricalCrossentropy, lambda: combined_cases(),
            grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
            stability=lambda: combined_cases(large=True),
            name_keys=(("softmax", "loss"), ("softmax", "cce"), ("softmax", "entropy"),
                       ("softmax", "classifier")),
            short="Softmax+CCE", typical_case=_typical_combined, labels="classes",
            hints={"non_finite": _OVERFLOW_SOFTMAX},
            aliases=("activationsoftmaxlosscategoricalcrossentropy",
                     "softmaxcategoricalcrossentropy", "softmaxcrossentropy",
                     "softmaxcrossentropyloss", "softmaxcce", "softmaxlosscce"),
        ),
        Spec(
            "Loss_BinaryCrossentropy", "loss", ref.Loss_BinaryCrossentropy,
            lambda: binary_cases(), grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
            kinks=_clip_kinks, stability=lambda: binary_cases(floor=0.0),
            name_keys=(("binary",), ("bce",)), name_excludes=("softmax",),
            short="BCE", typical_case=_typical_binary, labels="binary", clipped=True,
            aliases=("binarycrossentropy", "lossbinarycrossentropy", "bceloss", "bce",
                     "binarycrossentropyloss"),
        ),
        Spec(
            "Loss_MeanSquaredError", "loss", ref.Loss_MeanSquaredError,
            lambda: regression_cases(), grads=("dinputs",), wrt=_DX, separable={"inputs": "rows"},
            name_keys=(("meansquared",), ("mse",), ("squarederror",)),
            short="MSE", typical_case=_typical_regression,
            aliases=("meansquarederror", "lossmeansquarederror", "mseloss", "mse",
                     "meansquarederrorloss"),
        ),
        Spec(
            "Loss_MeanAbsoluteError", "loss", ref.Loss_MeanAbsoluteError,
            lambda: regression_cases(kink=True), grads=("dinputs",), wrt=_DX,
            separable={"inputs": "rows"}, kinks=_mae_kinks,
            name_keys=(("meanabsolute",), ("mae",), ("absoluteerror",)),
            short="MAE", typical_case=_typical_regression,
            aliases=("meanabsoluteerror", "lossmeanabsoluteerror", "maeloss", "mae",
                     "meanabsoluteerrorloss"),
        ),
        Spec("Accuracy", "accuracy_base", ref.Accuracy, lambda: accuracy_base_cases(),
             short="Accuracy", base_of="accuracy", typical_case=_typical_accuracy_base,
             aliases=("accuracy", "accuracybase", "baseaccuracy")),
        Spec("Accuracy_Categorical", "accuracy", ref.Accuracy_Categorical,
             lambda: accuracy_cases(kind="classes"), short="Acc(categ.)", labels="classes",
             name_keys=(("accuracy", "categ"), ("accuracy", "class"), ("acc", "categ")),
             typical_case=_typical_accuracy,
             aliases=("categoricalaccuracy", "accuracycategorical", "classificationaccuracy")),
        Spec("Accuracy_Regression", "accuracy", ref.Accuracy_Regression,
             lambda: accuracy_cases(kind="regression"), short="Acc(regr.)", precision=True,
             name_keys=(("accuracy", "regress"), ("acc", "regress")),
             typical_case=_typical_accuracy,
             aliases=("regressionaccuracy", "accuracyregression")),
        Spec("Optimizer_SGD", "optimizer", ref.Optimizer_SGD,
             lambda: optimizer_cases(kind="sgd"), short="SGD", cost=2.0, optimizer="sgd",
             name_keys=(("sgd",), ("gradientdescent",), ("stochasticgradient",)),
             momentum=True, typical_case=_typical_optimizer,
             aliases=("sgd", "optimizersgd", "sgdoptimizer")),
        Spec("Optimizer_Adagrad", "optimizer", ref.Optimizer_Adagrad,
             lambda: optimizer_cases(kind="adagrad"), short="Adagrad", cost=1.5,
             optimizer="adagrad",
             name_keys=(("adagrad",), ("adgrad",)), typical_case=_typical_optimizer,
             aliases=("adagrad", "optimizeradagrad", "adagradoptimizer")),
        Spec("Optimizer_RMSprop", "optimizer", ref.Optimizer_RMSprop,
             lambda: optimizer_cases(kind="rmsprop"), short="RMSprop", cost=1.5,
             optimizer="rmsprop",
             name_keys=(("rmsprop",), ("rms",)), typical_case=_typical_optimizer,
             aliases=("rmsprop", "optimizerrmsprop", "rmspropoptimizer")),
        Spec("Optimizer_Adam", "optimizer", ref.Optimizer_Adam,
             lambda: optimizer_cases(kind="adam"), short="Adam", cost=1.5, optimizer="adam",
             name_keys=(("adam",),),
             typical_case=_typical_optimizer, aliases=("adam", "optimizeradam", "adamoptimizer")),
        Spec("Model", "model", ref.Model, model_cases, short="Model", cost=3.0,
             name_keys=(("model",),), name_excludes=("layer", "loss", "accuracy"),
             typical_case=_typical_model,
             aliases=("model", "neuralnetwork", "network", "sequential", "sequentialmodel",
                      "nnmodel")),
    ]
}


def optimizer_kind(name: str) -> str:
    """The update rule of an optimizer component (sgd, adagrad, rmsprop, adam)."""
    kind = SPECS[name].optimizer
    if kind is None:
        raise KeyError(f"{name} is not an optimizer")
    return kind
