"""Binding by signature: the book's calls fitted to each method's own parameters, and
discovery of classes by name, by the words of a name and by structure."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oracle.adapt import Adapter, construct, discover
from oracle.binding import CallError, plan_call, takes_training
from oracle.load import load_target


def arguments(fn: Any, roles: tuple[str, ...], *, training: bool | None = None,
              optional: tuple[str, ...] = (), available: tuple[str, ...] = ()) -> tuple:
    plan = plan_call(fn, roles, optional=optional, training=training is not None,
                     available=available)
    return tuple(plan.arguments([*roles, *available], training))


class Methods:
    def book(self, inputs, training): ...
    def train_kw(self, x, train=False): ...
    def kw_only(self, x, *, training=False): ...
    def kwargs(self, x, **kw): ...
    def none(self, x): ...
    def positional(self, x, mode): ...
    def inverted(self, x, evaluation=False): ...
    def underscore(self, x, _training): ...
    def string_mode(self, x, mode="eval"):
        return x if mode != "train" else -x

    def reads_kwargs(self, x, **kwargs):
        return kwargs.get("is_training", False)

    def layer_kw_only(self, *, layer): ...
    def loss(self, predictions, true_values): ...
    def logits_only(self, logits): ...
    def labels_kw_only(self, dvalues, *, target): ...
    def wants_inputs(self, dvalues, inputs): ...
    def too_many(self, x, y, z): ...


M = Methods()


@pytest.mark.parametrize(("fn", "expected"), [
    (M.book, (["inputs"], {"training": True})),
    (M.train_kw, (["inputs"], {"train": True})),
    (M.kw_only, (["inputs"], {"training": True})),
    (M.kwargs, (["inputs"], {"training": True})),
    (M.none, (["inputs"], {})),
    (M.positional, (["inputs"], {"mode": True})),
    (M.inverted, (["inputs"], {"evaluation": False})),
    (M.underscore, (["inputs"], {"_training": True})),
    (M.string_mode, (["inputs"], {"mode": "train"})),
    (M.reads_kwargs, (["inputs"], {"is_training": True})),
])
def test_a_training_flag_under_any_name_by_position_or_absent(fn: Any, expected: tuple) -> None:
    assert arguments(fn, ("inputs",), training=True) == expected


def test_the_flag_for_evaluation_is_its_other_value() -> None:
    plan = plan_call(M.string_mode, ("inputs",), training=True)
    assert plan.arguments(["x"], False) == (["x"], {"mode": "eval"})
    plan = plan_call(M.inverted, ("inputs",), training=True)
    assert plan.arguments(["x"], False) == (["x"], {"evaluation": True})


def test_data_parameters_are_never_taken_for_flags() -> None:
    # 'true_values' holds 'eval' as letters, not as a word: it is the labels
    assert arguments(M.loss, ("inputs", "y_true")) == (["inputs", "y_true"], {})


def test_keyword_only_optional_and_available_values() -> None:
    assert arguments(M.layer_kw_only, ("layer",)) == ([], {"layer": "layer"})
    assert arguments(M.labels_kw_only, ("dvalues", "y_true")) == (["dvalues"],
                                                                  {"target": "y_true"})
    assert arguments(M.logits_only, ("inputs", "y_true"), optional=("y_true",)) == (
        ["inputs"], {})
    assert arguments(M.wants_inputs, ("dvalues",), available=("inputs",)) == (
        ["dvalues", "inputs"], {})


def test_a_call_that_cannot_be_made_says_which_parameters_get_nothing() -> None:
    with pytest.raises(CallError, match="y, z"):
        plan_call(M.too_many, ("inputs",), training=True)
    assert not takes_training(M.too_many)
    assert takes_training(M.string_mode) and not takes_training(M.none)


def test_constructor_arguments_by_name_variant_then_by_the_books_order() -> None:
    import reference as ref

    class SGD:
        def __init__(self, lr=1.0, lr_decay=0.0, mu=0.0):
            self.args = (lr, lr_decay, mu)

    class RMS:
        def __init__(self, learning_rate=0.001, decay=0.0, epsilon=1e-7, gamma=0.9, /):
            self.args = (learning_rate, decay, epsilon, gamma)

    got = construct(SGD, book=ref.Optimizer_SGD, learning_rate=0.5, decay=0.1, momentum=0.9)
    assert got.args == (0.5, 0.1, 0.9)
    got = construct(RMS, book=ref.Optimizer_RMSprop, learning_rate=0.5, rho=0.8)
    assert got.args == (0.5, 0.0, 1e-7, 0.8)


def test_an_input_gradient_under_a_name_of_its_own_is_found_by_shape() -> None:
    class Dense:
        def __init__(self):
            self.weights = np.ones((3, 2))

        def forward(self, inputs):
            self.output = inputs @ self.weights

        def backward(self, dvalues, inputs):
            self.dweights = inputs.T @ dvalues
            self.dvalues = dvalues @ self.weights.T

    ad = Adapter(Dense())
    x = np.arange(12.0).reshape(4, 3)
    ad.forward(x, training=True)
    ad.backward(np.ones((4, 2)))
    assert np.array_equal(ad.read("dinputs"), np.ones((4, 2)) @ np.ones((3, 2)).T)
    assert any("dvalues" in n for n in ad.notes)


def _classes(source: str) -> dict[str, Any]:
    ns: dict[str, Any] = {"np": np}
    exec(textwrap.dedent(source), ns)
    return ns


def test_discovery_by_the_words_of_a_name_among_classes_with_the_familys_methods() -> None:
    ns = _classes("""
        class Act_ReLU:
            def forward(self, x): ...
            def backward(self, d): ...
        class Optimiser_SGD:
            def update_params(self, layer): ...
        class Loss_CCE:
            def forward(self, p, y): ...
        class Act_Softmax_CCE_Loss:
            def backward(self, d, y): ...
        class ReLUNotes:  # no methods of a layer: not a candidate
            pass
    """)
    found = {k: f.target_name for k, f in discover(ns).items() if f.cls is not None}
    assert found == {"Activation_ReLU": "Act_ReLU", "Optimizer_SGD": "Optimiser_SGD",
                     "Loss_CategoricalCrossentropy": "Loss_CCE",
                     "Activation_Softmax_Loss_CategoricalCrossentropy": "Act_Softmax_CCE_Loss"}


def test_discovery_by_structure_and_a_name_two_classes_answer_to(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text("import numpy as np\n" + textwrap.dedent("""
        class LossFunction:
            def calculate(self, out, y): ...
        class CrossEntropy(LossFunction):
            def forward(self, p, y): ...
        class Layer:
            def __init__(self, n_in, n_out):
                self.weights = np.random.randn(n_in, n_out)
            def forward(self, x): ...
            def backward(self, d): ...
        class MyReLU:
            def forward(self, x): ...
        class ReLU2:
            def forward(self, x): ...
    """))
    found = discover(load_target(tmp_path / "net.py").namespace)
    assert found["Layer_Dense"].target_name == "Layer"
    assert found["Loss"].target_name == "LossFunction"
    relu = found["Activation_ReLU"]
    assert relu.cls is None and "MyReLU, ReLU2" in relu.adaptations[0]


def test_a_method_named_by_mapping() -> None:
    ns = _classes("""
        class Layer_Dense:
            def predict(self, x): return x
    """)
    found = discover(ns, {"Layer_Dense.forward": "predict"})
    ad = Adapter(found["Layer_Dense"].cls())
    assert ad.forward(np.ones(2), training=True) is not None


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_namespace_folder_its_modules_import_by_name(tmp_path: Path) -> None:
    root = tmp_path / "nsproj"
    _write(root, {
        "layers/dense.py": """
            import numpy as np
            class Layer_Dense:
                def forward(self, x): ...
        """,
        "losses/base.py": """
            class Loss:
                def calculate(self, o, y): ...
        """,
        "losses/cce.py": """
            from nsproj.losses.base import Loss
            class Loss_CategoricalCrossentropy(Loss):
                def forward(self, p, y): ...
        """,
    })
    loaded = load_target(root)
    assert {"Layer_Dense", "Loss", "Loss_CategoricalCrossentropy"} <= set(loaded.namespace)
    assert issubclass(loaded.namespace["Loss_CategoricalCrossentropy"], loaded.namespace["Loss"])


def test_modules_named_like_their_classes_and_one_that_cannot_be_defined(tmp_path: Path) -> None:
    root = tmp_path / "oneclasseach"
    _write(root, {
        "Loss.py": """
            class Loss:
                def calculate(self, o, y): ...
        """,
        "CCE.py": """
            import Loss
            class Loss_CategoricalCrossentropy(Loss):  # subclasses the module: raises
                def forward(self, p, y): ...
        """,
        "pkg/__init__.py": "",
        "pkg/Layer_Dense.py": """
            class Layer_Dense:
                def forward(self, x): ...
        """,
    })
    ns = load_target(root).namespace
    assert isinstance(ns["Loss"], type) and isinstance(ns["Layer_Dense"], type)
    from oracle.load import broken_definition

    assert broken_definition(ns["Loss_CategoricalCrossentropy"])  # that class's error only


def test_classes_of_a_module_the_target_imports_as_a_module(tmp_path: Path) -> None:
    _write(tmp_path, {
        "optimizers.py": """
            class Optimizer_Adam:
                def update_params(self, layer): ...
        """,
        "main.py": """
            import optimizers
            class Layer_Dense:
                def forward(self, x): ...
        """,
    })
    ns = load_target(tmp_path / "main.py").namespace
    assert {"Layer_Dense", "Optimizer_Adam"} <= set(ns)
