"""Driving a Model (chapters 19-22): small networks built from a kit of parts, trained by the
target's Model while every call it makes on them is recorded, and the reference replaying the
same steps.

The Model is judged by what it *does with its parts*, so the parts are the reference's: each
kit class behaves as the reference class of its component and is, at the same time, a subclass
of the module's own class for it (``isinstance`` checks and class names in the Model keep
working), and the module names the Model's code reads are bound to the kit classes while it
runs (so that the ``Layer_Input`` and the combined softmax/cross-entropy it creates are the
kit's too).  A verdict on the Model is then about the Model alone; a bug in a layer is that
layer's finding.

What the kit records (every forward, backward, calculate, update ... with copies of the arrays
passed) is replayed by the reference on the same batches, with the same dropout masks: a Model
that shuffles, splits its batches with ``np.array_split`` or never takes the softmax shortcut
is judged on what it did, not on how the book spells it.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import inspect
import io
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import reference as ref
from oracle.adapt import _GRAD, _OUTPUT, _PARAMS, Adapter, NotSupported, construct
from oracle.binding import (
    CallError,
    accumulator_methods,
    hook_by_name,
    method_names,
    normalise,
    update_by_signature,
)
from oracle.spec import SPECS

__all__ = ["SCENARIOS", "Scenario", "Session", "Step", "ModelCalls", "kit_parts", "own_parts",
           "replay", "takes_batches", "train_session"]


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """A network, its data and its training set-up: the book's three kinds of output."""

    name: str
    layers: tuple[tuple[str, tuple[Any, ...], dict[str, Any]], ...]
    loss: str
    optimizer: tuple[str, dict[str, Any]]
    accuracy: tuple[str, dict[str, Any]]
    data: Callable[[np.random.Generator], tuple[np.ndarray, ...]]

    @property
    def dense(self) -> list[int]:
        return [i for i, (b, _, _) in enumerate(self.layers) if b == "Layer_Dense"]

    def without_dropout(self) -> Scenario:
        keep = tuple(x for x in self.layers if x[0] != "Layer_Dropout")
        return Scenario(self.name, keep, self.loss, self.optimizer, self.accuracy, self.data)


def _classes_data(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    X = rng.normal(size=(11, 2))
    y = np.array([0, 1, 2, 0, 1, 2, 2, 1, 0, 2, 1])
    Xv = rng.normal(size=(7, 2))
    yv = np.array([2, 0, 1, 1, 0, 2, 0])
    return X, y, Xv, yv


def _binary_data(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    X = rng.normal(size=(11, 2))
    y = (X[:, :1] + 0.3 * rng.normal(size=(11, 1)) > 0).astype(np.int64)
    Xv = rng.normal(size=(7, 2))
    yv = (Xv[:, :1] > 0).astype(np.int64)
    return X, y, Xv, yv


def _regression_data(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    X = np.sort(rng.uniform(-1, 1, size=(11, 1)), axis=0)
    y = np.sin(3 * X)
    Xv = rng.uniform(-1, 1, size=(7, 1))
    return X, y, Xv, np.sin(3 * Xv)


_L2 = {"weight_regularizer_l2": 5e-3, "bias_regularizer_l2": 5e-3}

#: 11 training samples (batches of 4: a partial last batch of 3), 7 validation samples.
SCENARIOS: dict[str, Scenario] = {s.name: s for s in [
    Scenario("classes",
             (("Layer_Dense", (2, 5), _L2), ("Activation_ReLU", (), {}),
              ("Layer_Dropout", (0.2,), {}), ("Layer_Dense", (5, 3), {}),
              ("Activation_Softmax", (), {})),
             "Loss_CategoricalCrossentropy", ("Optimizer_Adam", {"learning_rate": 0.05,
                                                                 "decay": 0.1}),
             ("Accuracy_Categorical", {}), _classes_data),
    Scenario("binary",
             (("Layer_Dense", (2, 4), {}), ("Activation_ReLU", (), {}),
              ("Layer_Dense", (4, 1), {}), ("Activation_Sigmoid", (), {})),
             "Loss_BinaryCrossentropy", ("Optimizer_SGD", {"learning_rate": 0.5, "decay": 0.05,
                                                           "momentum": 0.5}),
             ("Accuracy_Categorical", {"binary": True}), _binary_data),
    Scenario("regression",
             (("Layer_Dense", (1, 6), {}), ("Activation_ReLU", (), {}),
              ("Layer_Dense", (6, 1), {}), ("Activation_Linear", (), {})),
             "Loss_MeanSquaredError", ("Optimizer_RMSprop", {"learning_rate": 0.02,
                                                             "decay": 0.01}),
             ("Accuracy_Regression", {}), _regression_data),
]}

BATCH = 4  # does not divide 11: the last batch is partial
EPOCHS = 2


def data_of(scenario: Scenario) -> tuple[np.ndarray, ...]:
    return scenario.data(np.random.default_rng(20261202))


def initial_weights(scenario: Scenario) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed starting parameters, larger than the book's 0.01 scale so that one step of a
    wrong update shows in the third decimal of what a Model prints."""
    rng = np.random.default_rng(7)
    out = []
    for i in scenario.dense:
        n_in, n_out = scenario.layers[i][1]
        out.append((rng.normal(scale=0.5, size=(n_in, n_out)),
                    rng.normal(scale=0.1, size=(1, n_out))))
    return out


# --------------------------------------------------------------------------- recording


@dataclass(eq=False)
class Event:
    kind: str  # the method called: forward, backward, calculate, update_params ...
    role: str  # "L0".."Ln" (the scenario's layers), loss, optimizer, accuracy, or a book name
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    training: Any = None  # the flag a forward was given (None: not given)
    result: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _copy(value: Any, roles: dict[int, str]) -> Any:
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    if id(value) in roles:
        return roles[id(value)]
    if isinstance(value, tuple):
        return tuple(_copy(v, roles) for v in value)
    return value


class Recorder:
    """The calls a Model makes on its kit parts, in order."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.roles: dict[int, str] = {}
        self.dense: list[Any] = []  # the kit's Dense objects, in the scenario's order
        self.on = True

    def role(self, obj: Any) -> str:
        return self.roles.get(id(obj), getattr(type(obj), "_book", type(obj).__name__))

    def weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.array(d.weights, copy=True), np.array(d.biases, copy=True))
                for d in self.dense]


def _spelled(fn: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The Model's keyword arguments under the reference method's own names: a Model
    written for its own parts may spell them otherwise (include_regularisation)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return kwargs
    out = {}
    for k, v in kwargs.items():
        if k not in params:
            close = difflib.get_close_matches(normalise(k), [normalise(p) for p in params],
                                              n=1, cutoff=0.8)
            k = next((p for p in params if close and normalise(p) == close[0]), k)
        if k not in params and isinstance(v, bool):
            # the one flag of the reference's method (add_regular_loss for
            # include_regularization); a flag of the module's own the book's method does not
            # have (validation=True) changes nothing the book's parts do
            flags = [n for n, p in params.items() if isinstance(p.default, bool)
                     and n not in kwargs and n not in out]
            if len(flags) != 1:
                continue
            k = flags[0]
        out[k] = v
    return out


def _recorded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        rec: Recorder = type(self)._recorder
        kwargs = _spelled(fn, kwargs)
        if not rec.on:
            return fn(self, *args, **kwargs)
        role = rec.role(self)
        event = Event(name, role, tuple(_copy(a, rec.roles) for a in args),
                      {k: _copy(v, rec.roles) for k, v in kwargs.items()})
        if name == "forward":
            event.training = kwargs.get("training", args[1] if len(args) > 1 else None)
            if role == "L0":
                event.extra["weights"] = rec.weights()
        rec.events.append(event)
        result = fn(self, *args, **kwargs)
        event.result = _copy(result, rec.roles)
        if name == "backward":
            d = getattr(self, "dinputs", None)
            event.extra["dinputs"] = None if d is None else np.array(d, copy=True)
        if name == "forward" and isinstance(self, ref.Layer_Dropout):
            mask = getattr(self, "binary_mask", None)
            event.extra["mask"] = None if mask is None else np.array(mask, copy=True)
            event.extra["applied"] = not np.array_equal(self.output, self.inputs)
        return result

    method.__name__ = name
    method.__qualname__ = fn.__qualname__
    method.__doc__ = fn.__doc__
    method.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    return method


_KIT_SERIAL = [0]

# Another spelling of a book attribute -> the book's (dInputs, d_weights, W, outputs ...): a
# Model written for its own parts reads and writes them so on the kit's.
_SPELLINGS = {alias: book for book, names in (*_GRAD.items(), *_PARAMS.items(),
                                              ("output", _OUTPUT))
              for alias in names if alias != book and len(alias) > 1}


def _kit_getattr(self: Any, name: str) -> Any:
    book = _SPELLINGS.get(name)
    if book is None or name.startswith("__"):
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
    return getattr(self, book)


def _kit_setattr(self: Any, name: str, value: Any) -> None:
    book = _SPELLINGS.get(name)
    if book is not None and name not in self.__dict__:
        name = book
    object.__setattr__(self, name, value)


def kit_class(book: str, peer: type | None, recorder: Recorder) -> type:
    """The reference class of ``book`` with every public method recorded, also a subclass
    of the module's own class ``peer`` when that can be (same instance layout).  It is
    registered in this module under a unique name, so that pickling a Model that holds it
    (save) finds it."""
    base = SPECS[book].reference
    body: dict[str, Any] = {"_book": book, "_recorder": recorder,
                            "__getattr__": _kit_getattr, "__setattr__": _kit_setattr}
    for name, fn in inspect.getmembers(base, inspect.isfunction):
        if not name.startswith("_"):
            body[name] = _recorded(name, fn)
    _KIT_SERIAL[0] += 1
    qual = f"_Kit{_KIT_SERIAL[0]}_{book}"
    if peer is not None and isinstance(peer, type):
        # the module's own names for the book's methods (clean_cumulate for new_pass ...),
        # so that a Model written for its own parts finds them on the kit's
        roles = accumulator_methods(peer)
        for name in _returns_pairs(peer, roles):
            if name in body:
                body[name] = _as_pair(body[name])
        for book_name, theirs in roles.items():
            if theirs != book_name and book_name in body:
                body[theirs] = body[book_name]
        for theirs_name in _public_names(peer):
            # a method of the module's named close to one of the book's (prediction for
            # predictions, calculate_acc for calculate_accumulated)
            if theirs_name in body or theirs_name in vars(base):
                continue
            close = difflib.get_close_matches(theirs_name, [n for n in body if not
                                                            n.startswith("_")], n=1,
                                              cutoff=0.85)
            if close:
                body[theirs_name] = body[close[0]]
        theirs_update = update_by_signature(peer, exclude=tuple(body))
        if theirs_update and "update_params" in body:
            body[theirs_update] = body["update_params"]
        for which in ("pre", "post"):
            theirs_hook = hook_by_name(peer, which)
            book_name = f"{which}_update_params"
            if theirs_hook and theirs_hook != book_name and book_name in body:
                body[theirs_hook] = body[book_name]
    cls: type | None = None
    if peer is not None and peer is not base and isinstance(peer, type):
        try:
            cls = type(peer.__name__, (base, peer), body)
        except TypeError:  # incompatible layouts (__slots__, a builtin base)
            cls = None
        if cls is not None and getattr(cls, "__abstractmethods__", None):
            cls = None  # abstract methods of the module's under names the reference lacks
    if cls is None:
        cls = type(base.__name__, (base,), body)
    cls.__module__ = __name__
    cls.__qualname__ = qual
    globals()[qual] = cls
    return cls


def _public_names(cls: type) -> list[str]:
    return [n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n, None))]


def _returns_pairs(cls: type, roles: dict[str, str]) -> set[str]:
    """The methods (calculate, calculate_accumulated, under the module's names ``roles``)
    of the module's class whose every return gives a pair (data loss, regularization loss),
    with or without the flag: a Model written for them unpacks two values from every
    call."""
    out = set()
    for name in ("calculate", "calculate_accumulated"):
        fn = getattr(cls, roles.get(name, name), None)
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(fn))) if callable(fn) else None
        except (OSError, TypeError, SyntaxError):
            tree = None
        if tree is None:
            continue
        returns = [n for n in ast.walk(tree) if isinstance(n, ast.Return)]
        if returns and all(isinstance(r.value, ast.Tuple) and len(r.value.elts) == 2
                           for r in returns):
            out.add(name)
    return out


def _as_pair(method: Callable[..., Any]) -> Callable[..., Any]:
    def pair(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        return result if isinstance(result, tuple) else (result, 0.0)

    pair.__name__ = method.__name__
    pair.__signature__ = inspect.signature(method)  # type: ignore[attr-defined]
    return pair


def _make(kit: type, peer: type | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A kit object: the reference's state, plus what the module's own constructor would
    have set besides (an attribute the Model reads, such as a ``trainable`` flag)."""
    obj = kit(*args, **kwargs)
    if peer is not None and isinstance(obj, peer):
        try:
            book: str = kit.__dict__["_book"]
            theirs = construct(peer, *args, book=SPECS[book].reference, **kwargs)
            extra = {k: v for k, v in vars(theirs).items() if k not in vars(obj)}
            obj.__dict__.update(extra)
        except Exception:  # the module's constructor is judged elsewhere
            pass
    return obj


@dataclass
class Parts:
    """The objects a Model is given: layers in order, loss, optimizer, accuracy."""

    layers: list[Any]
    loss: Any
    optimizer: Any
    accuracy: Any
    classes: dict[str, type] = field(default_factory=dict)  # book name -> class used
    recorder: Recorder | None = None

    def dense(self, scenario: Scenario) -> list[Any]:
        return [self.layers[i] for i in scenario.dense]


def kit_parts(scenario: Scenario, peers: dict[str, type], recorder: Recorder) -> Parts:
    """The scenario's network made of kit objects (recorded reference behaviour, the
    module's identities), and the kit class of every component the module has."""
    classes: dict[str, type] = {}
    wanted = {b for b, _, _ in scenario.layers} | {scenario.loss, scenario.optimizer[0],
                                                   scenario.accuracy[0], "Layer_Input",
                                                   "Activation_Softmax_Loss_CategoricalCrossentropy"}
    for book, spec in SPECS.items():
        if spec.family in ("model", "loss_base", "accuracy_base"):
            continue  # a base stays the module's own: its subclasses derive from it
        if book in wanted or book in peers:
            classes[book] = kit_class(book, peers.get(book), recorder)

    def make(book: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return _make(classes[book], peers.get(book), args, kwargs)

    layers = []
    for i, (book, args, kwargs) in enumerate(scenario.layers):
        if book == "Layer_Dropout":
            kwargs = {**kwargs, "rng": np.random.default_rng(100 + i)}
        obj = make(book, args, kwargs)
        recorder.roles[id(obj)] = f"L{i}"
        layers.append(obj)
    recorder.dense = [layers[i] for i in scenario.dense]
    loss = make(scenario.loss, (), {})
    optimizer = make(scenario.optimizer[0], (), dict(scenario.optimizer[1]))
    accuracy = make(scenario.accuracy[0], (), dict(scenario.accuracy[1]))
    for obj, role in ((loss, "loss"), (optimizer, "optimizer"), (accuracy, "accuracy")):
        recorder.roles[id(obj)] = role
    return Parts(layers, loss, optimizer, accuracy, classes, recorder)


def reference_parts(scenario: Scenario) -> Parts:
    layers = []
    for i, (book, args, kwargs) in enumerate(scenario.layers):
        if book == "Layer_Dropout":
            kwargs = {**kwargs, "rng": np.random.default_rng(100 + i)}
        layers.append(SPECS[book].reference(*args, **kwargs))
    return Parts(layers, SPECS[scenario.loss].reference(),
                 SPECS[scenario.optimizer[0]].reference(**scenario.optimizer[1]),
                 SPECS[scenario.accuracy[0]].reference(**scenario.accuracy[1]))


def own_parts(scenario: Scenario, peers: dict[str, type]) -> Parts:
    """The scenario's network made of the module's own classes where it has them (the
    reference's elsewhere)."""

    def make(book: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        peer = peers.get(book)
        if isinstance(peer, type):
            return construct(peer, *args, book=SPECS[book].reference, **kwargs)
        return SPECS[book].reference(*args, **kwargs)

    layers = [make(b, a, k) for b, a, k in scenario.layers]
    parts = Parts(layers, make(scenario.loss, (), {}),
                  make(scenario.optimizer[0], (), dict(scenario.optimizer[1])),
                  make(scenario.accuracy[0], (), dict(scenario.accuracy[1])))
    return parts


def set_weights(parts: Parts, scenario: Scenario,
                weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
    rec = parts.recorder
    was = rec.on if rec is not None else None
    if rec is not None:
        rec.on = False
    try:
        for layer, (w, b) in zip(parts.dense(scenario), weights, strict=True):
            ad = Adapter(layer, [])
            ad.set_param("weights", np.array(w, copy=True))
            ad.set_param("biases", np.array(b, copy=True))
    finally:
        if rec is not None and was is not None:
            rec.on = was


def get_weights(parts: Parts, scenario: Scenario) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for layer in parts.dense(scenario):
        ad = Adapter(layer, [])
        out.append((np.array(ad.get_param("weights"), dtype=np.float64),
                    np.array(ad.get_param("biases"), dtype=np.float64)))
    return out


@contextlib.contextmanager
def module_names(model_cls: type, classes: dict[str, type],
                 peers: dict[str, type]) -> Iterator[None]:
    """While the Model runs, the names its methods' modules give the module's own classes
    (``Layer_Input``, ``Activation_Softmax_Loss_CategoricalCrossentropy``, ...) are bound
    to the kit classes; restored afterwards."""
    spaces: list[dict[str, Any]] = []
    for klass in model_cls.__mro__:
        if klass is object:
            continue
        for fn in vars(klass).values():
            g = getattr(getattr(fn, "__func__", fn), "__globals__", None)
            if isinstance(g, dict) and all(g is not s for s in spaces):
                spaces.append(g)
    by_peer = {id(peers[b]): kit for b, kit in classes.items() if isinstance(peers.get(b), type)}
    saved: list[tuple[dict[str, Any], str, Any]] = []
    for g in spaces:
        for name, value in list(g.items()):
            kit = by_peer.get(id(value)) if isinstance(value, type) else None
            if kit is not None:
                saved.append((g, name, value))
                g[name] = kit
    try:
        yield
    finally:
        for g, name, value in reversed(saved):
            g[name] = value


# --------------------------------------------------------------------------- calling a Model


_SYNONYMS: dict[str, tuple[str, ...]] = {
    "add": ("add", "add_layer", "append", "add_layers"),
    "set": ("set", "compile", "configure", "setup", "set_up"),
    "finalize": ("finalize", "finalise", "build", "connect"),
    "train": ("train", "fit"),
    "evaluate": ("evaluate", "validate", "evaluation", "test"),
    "predict": ("predict", "inference", "infer"),
    "get_parameters": ("get_parameters", "get_params", "get_weights"),
    "set_parameters": ("set_parameters", "set_params", "set_weights"),
    "save_parameters": ("save_parameters", "save_params", "save_weights"),
    "load_parameters": ("load_parameters", "load_params", "load_weights"),
    "save": ("save", "save_model"),
    "load": ("load", "load_model"),
}

# A keyword the book passes -> words one of the target's parameter names may carry for it.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "loss": ("loss", "cost", "criterion"),
    "optimizer": ("optim",),
    "accuracy": ("acc", "metric"),
    "epochs": ("epoch",),
    "batch_size": ("batch",),
    "print_every": ("print", "every", "log"),
    "validation_data": ("valid", "val", "test"),
}

_DEFAULTS = {"batch_size": None, "validation_data": None, "print_every": 1, "accuracy": None,
             "epochs": 1}


class ModelCalls:
    """The book's Model interface in front of one object: each method found under its
    name or a common synonym, each keyword passed under the parameter that carries it."""

    def __init__(self, obj: Any, notes: list[str]) -> None:
        self.obj = obj
        self.notes = notes

    def has(self, book: str) -> bool:
        return self._method(book, required=False) is not None

    def _method(self, book: str, *, required: bool = True) -> Any:
        for name in method_names(self.obj, _SYNONYMS[book]):
            fn = getattr(self.obj, name, None)
            if callable(fn):
                if name != book:
                    note = f"Model.{name}() used as {book}()"
                    if note not in self.notes:
                        self.notes.append(note)
                return fn
        if required:
            raise NotSupported(f"{type(self.obj).__name__} has no {book}() (nor "
                               f"{', '.join(_SYNONYMS[book][1:])})")
        return None

    def __call__(self, book: str, *args: Any, **kwargs: Any) -> Any:
        fn = self._method(book)
        return fn(*args, **self._keywords(fn, book, kwargs))

    def _keywords(self, fn: Any, book: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            return kwargs
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return kwargs
        out: dict[str, Any] = {}
        names = [n for n, p in params.items() if p.kind is not p.VAR_POSITIONAL]
        for key, value in kwargs.items():
            if key in params:
                out[key] = value
                continue
            words = _KEYWORDS.get(key, (normalise(key),))
            hit = [n for n in names if n not in out and n not in kwargs
                   and any(w in normalise(n) for w in words)]
            if len(hit) == 1:
                out[hit[0]] = value
                note = f"Model.{fn.__name__}() takes {key} as {hit[0]}"
                if note not in self.notes:
                    self.notes.append(note)
            elif value is _DEFAULTS.get(key, object()) or value == _DEFAULTS.get(key, object()):
                continue  # the book's default: nothing to pass
            else:
                raise CallError(f"Model.{fn.__name__}() takes no parameter for the book's "
                                f"{key}= (its parameters: {', '.join(names) or 'none'})")
        return out


def takes_batches(cls: type, book: str) -> bool:
    """Does the Model's ``book`` method (train, evaluate, predict) take a batch size? The
    chapter-18 Model trains on everything at once."""
    fn = next((getattr(cls, n) for n in _SYNONYMS[book] if callable(getattr(cls, n, None))),
              None)
    try:
        params = inspect.signature(fn).parameters if fn is not None else {}
    except (TypeError, ValueError):
        return True
    return any(p.kind is p.VAR_KEYWORD or "batch" in normalise(n) for n, p in params.items())


def make_model(cls: type, parts: Parts, notes: list[str]) -> ModelCalls:
    """The book's sequence: Model(), add(layer) for each layer, set(loss=, optimizer=,
    accuracy=), finalize()."""
    model = ModelCalls(construct(cls), notes)
    for layer in parts.layers:
        model("add", layer)
    model("set", loss=parts.loss, optimizer=parts.optimizer, accuracy=parts.accuracy)
    if model.has("finalize"):
        model("finalize")
    return model


@contextlib.contextmanager
def captured() -> Iterator[io.StringIO]:
    """What the Model prints (it is read, not shown)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        yield out


# --------------------------------------------------------------------------- a recorded run


@dataclass
class Step:
    """One training step as the Model made it: the batch the first layer was given, the
    labels the loss was given, the dropout masks, and the weights before and after."""

    X: np.ndarray
    y: Any
    training: Any
    masks: dict[str, np.ndarray]
    applied: dict[str, bool]
    events: list[Event]
    before: list[tuple[np.ndarray, np.ndarray]]
    after: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    shortcut: bool = False


@dataclass
class Session:
    """One recorded ``train`` (and whatever else was asked of the same model)."""

    scenario: Scenario
    batch_size: int | None
    epochs: int
    events: list[Event]
    printed: str
    steps: list[Step]
    initial: list[tuple[np.ndarray, np.ndarray]]
    final: list[tuple[np.ndarray, np.ndarray]]
    notes: list[str]


def steps_of(events: list[Event], final: list[tuple[np.ndarray, np.ndarray]]) -> list[Step]:
    """Cut the events at each forward of the first layer; a segment in which parameters
    were updated is a training step."""
    starts = [i for i, e in enumerate(events) if e.kind == "forward" and e.role == "L0"]
    segments = [events[a:b] for a, b in zip(starts, [*starts[1:], len(events)], strict=True)]
    steps: list[Step] = []
    ends: list[int] = []
    for start, seg in zip(starts, segments, strict=True):
        first_update = next((i for i, e in enumerate(seg) if e.kind == "update_params"), None)
        if first_update is None:
            continue
        head = seg[:first_update]
        masks = {e.role: e.extra["mask"] for e in head
                 if e.kind == "forward" and "mask" in e.extra and e.extra["mask"] is not None}
        applied = {e.role: e.extra.get("applied", False) for e in head
                   if e.kind == "forward" and "applied" in e.extra}
        y = None
        shortcut = False
        for e in head:
            if e.kind == "backward" and e.role in ("loss",
                                                   "Activation_Softmax_Loss_CategoricalCrossentropy"):
                y = e.args[1] if len(e.args) > 1 else e.kwargs.get("y_true")
                shortcut = e.role != "loss"
        if y is None:
            y = next((e.args[1] for e in reversed(head) if e.kind == "calculate"
                      and e.role == "loss" and len(e.args) > 1), None)
        steps.append(Step(seg[0].args[0], y, seg[0].training, masks, applied, seg,
                          seg[0].extra["weights"], shortcut=shortcut))
        ends.append(start + len(seg))
    for step, end in zip(steps, ends, strict=True):
        # the weights after a step: at the next forward of the first layer, or at the end
        later = next((e for e in events[end:] if e.kind == "forward" and e.role == "L0"), None)
        step.after = later.extra["weights"] if later is not None else final
    return steps


_SESSIONS: dict[tuple[Any, ...], Session] = {}


def train_session(cls: type, peers: dict[str, type], scenario: Scenario,
                  batch_size: int | None, epochs: int = EPOCHS,
                  validation: bool = False) -> Session:
    """The target's Model trained on the kit network of ``scenario``, recorded (computed
    once per class and set-up)."""
    key = (cls, scenario.name, batch_size, epochs, validation, tuple(sorted(
        (k, id(v)) for k, v in peers.items())))
    if key in _SESSIONS:
        return _SESSIONS[key]
    rec = Recorder()
    parts = kit_parts(scenario, peers, rec)
    init = initial_weights(scenario)
    set_weights(parts, scenario, init)
    X, y, Xv, yv = data_of(scenario)
    notes: list[str] = []
    if not initialises_accuracy(peers, scenario):
        # the module's accuracy has no init(y) (its precision is made otherwise), so its
        # Model cannot be expected to call it: the kit's is initialised here
        rec.on = False
        parts.accuracy.init(y.copy())
        rec.on = True
    with module_names(cls, parts.classes, peers):
        model = make_model(cls, parts, notes)
        rec.events.clear()
        with captured() as out:
            model("train", X.copy(), y.copy(), epochs=epochs, batch_size=batch_size,
                  print_every=1, validation_data=(Xv.copy(), yv.copy()) if validation else None)
    rec.on = False
    final = rec.weights()
    session = Session(scenario, batch_size, epochs, list(rec.events), out.getvalue(),
                      steps_of(rec.events, final), init, final, notes)
    _SESSIONS[key] = session
    return session


def initialises_accuracy(peers: dict[str, type], scenario: Scenario) -> bool:
    """Does the module's accuracy (if it has one) take the training labels by init(y), as
    the book's does, so that its Model must call it?"""
    peer = peers.get(scenario.accuracy[0])
    return not isinstance(peer, type) or "init" in accumulator_methods(peer)


# --------------------------------------------------------------------------- the replay


@dataclass
class Replayed:
    after: list[list[tuple[np.ndarray, np.ndarray]]]  # weights after each step
    losses: list[np.ndarray]  # per-sample data losses of each step
    regularization: list[float]  # the regularization loss at each step (before its update)
    comparisons: list[np.ndarray]  # per-sample accuracy comparisons of each step


def _forward(layers: list[Any], scenario: Scenario, X: np.ndarray,
             masks: dict[str, np.ndarray] | None) -> np.ndarray:
    x = np.asarray(X, dtype=np.float64)
    for i, layer in enumerate(layers):
        if scenario.layers[i][0] == "Layer_Dropout":
            mask = (masks or {}).get(f"L{i}")
            layer.inputs = x
            layer.binary_mask = mask if mask is not None else np.ones_like(x)
            x = x * layer.binary_mask
            layer.output = x
            continue
        layer.forward(x, training=True)
        x = layer.output
    return x


def replay(scenario: Scenario, initial: list[tuple[np.ndarray, np.ndarray]],
           steps: list[Step], y_all: Any) -> Replayed:
    """The reference's training on the batches, labels and dropout masks the Model used:
    what every step must leave in the weights."""
    parts = reference_parts(scenario)
    for layer, (w, b) in zip(parts.dense(scenario), initial, strict=True):
        layer.set_parameters(np.array(w, copy=True), np.array(b, copy=True))
    dense = parts.dense(scenario)
    parts.loss.remember_trainable_layers(dense)
    parts.accuracy.init(y_all)
    out = Replayed([], [], [], [])
    for step in steps:
        output = _forward(parts.layers, scenario, step.X, step.masks)
        out.losses.append(np.asarray(parts.loss.forward(output, step.y)))
        out.regularization.append(float(parts.loss.regularization_loss()))
        predictions = parts.layers[-1].predictions(output)
        out.comparisons.append(np.asarray(parts.accuracy.compare(predictions, step.y)))
        # the book's shortcut (equal gradients to rounding) where it applies, and only there
        if step.shortcut and scenario.layers[-1][0] == "Activation_Softmax" and \
                scenario.loss == "Loss_CategoricalCrossentropy":
            combined = ref.Activation_Softmax_Loss_CategoricalCrossentropy()
            combined.backward(output, step.y)
            d = combined.dinputs
            chain = parts.layers[:-1]
        else:
            parts.loss.backward(output, step.y)
            d = parts.loss.dinputs
            chain = parts.layers
        for layer in reversed(chain):
            layer.backward(d)
            d = layer.dinputs
        parts.optimizer.pre_update_params()
        for layer in dense:
            parts.optimizer.update_params(layer)
        parts.optimizer.post_update_params()
        out.after.append([(np.array(d.weights), np.array(d.biases)) for d in dense])
    return out


def reference_outputs(scenario: Scenario, weights: list[tuple[np.ndarray, np.ndarray]],
                      X: np.ndarray) -> np.ndarray:
    """The network's output for ``X`` with dropout off (what predict must return)."""
    parts = reference_parts(scenario)
    for layer, (w, b) in zip(parts.dense(scenario), weights, strict=True):
        layer.set_parameters(np.array(w, copy=True), np.array(b, copy=True))
    x = np.asarray(X, dtype=np.float64)
    for layer in parts.layers:
        layer.forward(x, training=False)
        x = layer.output
    return x


def reference_evaluation(scenario: Scenario, weights: list[tuple[np.ndarray, np.ndarray]],
                         X: np.ndarray, y: Any, y_train: Any) -> tuple[float, float]:
    """The validation loss (no regularization) and accuracy over every sample."""
    parts = reference_parts(scenario)
    output = reference_outputs(scenario, weights, X)
    parts.accuracy.init(y_train)
    loss = float(np.mean(parts.loss.forward(output, y)))
    accuracy = float(np.mean(parts.accuracy.compare(parts.layers[-1].predictions(output), y)))
    return loss, accuracy


# --------------------------------------------------------------------------- printed numbers

_NUMBER = re.compile(r"([A-Za-z_][A-Za-z_ ]*?)\s*[:=]?\s*([-+]?(?:\d+\.\d*|\.\d+|\d+)"
                     r"(?:[eE][-+]?\d+)?)(%?)")


@dataclass
class Printed:
    line: str
    label: str  # loss | data | reg | acc
    value: float
    decimals: int
    percent: bool


def printed_numbers(text: str) -> list[Printed]:
    """The loss and accuracy numbers a Model printed, each with its label and precision."""
    out = []
    for line in text.splitlines():
        for m in _NUMBER.finditer(line):
            words = normalise(m.group(1))
            if "reg" in words:
                label = "reg"
            elif "data" in words:
                label = "data"
            elif "loss" in words or words in ("cost", "l"):
                label = "loss"
            elif "acc" in words:
                label = "acc"
            else:
                continue
            text_value = m.group(2)
            decimals = len(text_value.split(".")[1]) if "." in text_value and "e" not in \
                text_value.lower() else 12
            out.append(Printed(line, label, float(text_value), decimals, bool(m.group(3))))
    return out


def printed_matches(p: Printed, value: float) -> bool:
    """``value`` shown at the printed precision is what was printed (an accuracy also as a
    percentage)."""
    slack = 0.5 * 10.0 ** (-p.decimals) + 1e-9 * max(1.0, abs(value))
    candidates = [value] + ([100.0 * value] if p.label == "acc" else [])
    return any(abs(p.value - v) <= slack for v in candidates)
