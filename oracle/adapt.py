"""Discovery and adaptation: the book's interface in front of anyone's classes.

``discover(namespace, mapping)`` finds which book components a loaded target
has (by the book's class names, by ``--map Book=Theirs``, or by a unique match
of a normalised name such as ``DenseLayer`` or ``ReLU``).

``Adapter`` wraps one *instance* and speaks the book's interface to it: it calls
``forward`` with or without ``training``, reads results from ``output`` or
``outputs`` or the return value, reads ``dinputs``/``d_inputs``/``dInputs``...,
and records every adaptation it needed so the report can say what it did.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracle.binding import (
    call,
    class_signature,
    hook_by_name,
    method_names,
    name_methods,
    normalise,
    plan_for,
    reads_of_self,
    update_by_signature,
)
from oracle.spec import SPECS

#: The book's components, in the registry's order (oracle.spec.SPECS is the one list).
COMPONENTS = list(SPECS)

# Names seen in the wild, normalised (lower case, no underscores), per book name.
_ALIASES: dict[str, tuple[str, ...]] = {name: s.aliases for name, s in SPECS.items()}


# Method names seen in the wild, the book's first.
FORWARD_NAMES = ("forward", "forward_pass", "feed_forward", "feedforward", "forward_propagation")
BACKWARD_NAMES = ("backward", "backwards", "backward_pass", "backwards_pass", "backprop",
                  "backpropagation", "backward_propagation")
UPDATE_NAMES = ("update_params", "update_parameters", "update_param", "update")
PRE_UPDATE_NAMES = ("pre_update_params", "pre_update_parameters", "pre_update_param",
                    "pre_update")
POST_UPDATE_NAMES = ("post_update_params", "post_update_parameters", "post_update_param",
                     "post_update")


_norm = normalise


@dataclass
class Found:
    cls: type | None
    target_name: str | None
    adaptations: list[str] = field(default_factory=list)


def discover(namespace: dict[str, Any], mapping: dict[str, str] | None = None) -> dict[str, Found]:
    """For every book name: the target's class (or None), its name, how it was found.

    In order: ``--map Book=Theirs``; the book's own name; a name the component is known
    by (``DenseLayer``); the words the component's name is made of, anywhere in a class
    name (``Act_ReLU``, ``Optimiser_SGD``, ``Loss_CCE``), among classes that have the
    methods of its family; and, by structure, a Dense (a layer made from two sizes that
    holds weights) and the Loss base (the nearest base of every loss found that defines
    ``calculate``).  A name two classes could answer to is left to ``--map``, and said.
    ``Book.method=theirs`` entries name a method (:func:`oracle.binding.name_methods`).
    """
    mapping = dict(mapping or {})
    methods = {k: v for k, v in mapping.items() if "." in k}
    mapping = {k: v for k, v in mapping.items() if "." not in k}
    classes = {k: v for k, v in namespace.items() if isinstance(v, type) and not k.startswith("__")}
    by_norm: dict[str, list[str]] = {}
    for k in classes:
        by_norm.setdefault(_norm(k), []).append(k)
    taken = set(mapping.values()) | {n for n in COMPONENTS if n in classes}
    out: dict[str, Found] = {}
    for book in COMPONENTS:
        if book in mapping:
            theirs = mapping[book]
            obj = classes.get(theirs)
            if obj is None:
                out[book] = Found(None, None, [f"--map {book}={theirs}: no class {theirs!r} found"])
            else:
                out[book] = Found(obj, theirs, [f"mapped from {theirs} (--map)"])
            continue
        if book in classes:
            if SPECS[book].family == "accuracy_base" and not _has_family_methods(
                    "accuracy_base", classes[book]):
                # the chapter-5 accuracy, a class of its own: not the base of chapter 17
                out[book] = Found(None, None, [
                    f"{book} is not the chapter-17 base: its calculate() does not use "
                    "compare(); not checked"])
                continue
            out[book] = Found(classes[book], book, [])
            continue
        hits = sorted(
            {k for a in _ALIASES.get(book, ()) for k in by_norm.get(a, []) if k not in taken}
        )
        if len(hits) == 1:
            taken.add(hits[0])
            out[book] = Found(classes[hits[0]], hits[0], [f"found as {hits[0]} by name"])
        else:
            out[book] = Found(None, None, _ambiguous(book, hits))
    for book in COMPONENTS:  # the words of a name, then structure
        if out[book].cls is not None or out[book].adaptations:
            continue
        hits = [k for k, c in classes.items() if k not in taken
                and _named_for(SPECS[book], k) and _has_family_methods(SPECS[book].family, c)
                and not _a_variant(SPECS[book], c)]
        if len(hits) == 1:
            taken.add(hits[0])
            out[book] = Found(classes[hits[0]], hits[0],
                              [f"found as {hits[0]} by the words of its name"])
        elif hits:
            out[book] = Found(None, None, _ambiguous(book, hits))
    for book, found in _by_structure(classes, out, taken).items():
        out[book] = found
    for key, theirs in methods.items():
        book, _, method = key.partition(".")
        cls = out.get(book, Found(None, None)).cls
        if cls is not None:
            name_methods(cls, {method: theirs})
            out[book].adaptations.append(f"method {theirs}() used as {method}() (--map)")
    return out


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'X'?)"`` for the closest of `choices`, or ``""``."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered:
        return f" (did you mean '{lowered[name.lower()]}'?)"
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not close:  # "Dense" -> "Layer_Dense", "adam" -> "Optimizer_Adam"
        tails = [c for c in choices if c.lower().endswith("_" + name.lower())]
        close = tails[:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def names_that_name_nothing(namespace: dict[str, Any], found: dict[str, Found],
                            mapping: dict[str, str], named: Iterable[str] = (),
                            custom: Iterable[str] = ()) -> str | None:
    """Why the user's names do not fit the target, or None: a ``--map Book=Theirs`` whose
    class is not in it, and a component asked for by name (``named``) that is neither found
    among the book's classes nor one of its ``custom`` classes; each with the closest of its
    classes.  ``found``: what :func:`discover` found with ``mapping``.  Such a run would
    otherwise drop the component and could pass."""
    classes = sorted(k for k, v in namespace.items() if isinstance(v, type)
                     and not k.startswith("_"))
    problems = []
    for book, theirs in mapping.items():
        if "." not in book and theirs not in classes:
            problems.append(f"--map {book}={theirs}: the target has no class {theirs!r}"
                            f"{did_you_mean(theirs, classes)}")
    custom = set(custom)
    taken = {f.target_name for f in found.values() if f.cls is not None}
    free = [c for c in classes if c not in taken]  # a class that plays another is no answer
    for name in named:
        f = found.get(name)
        if (f is None or f.cls is None) and name not in custom and name not in mapping:
            problems.append(f"--component {name}: the target has no class for it"
                            f"{did_you_mean(name, free)}")
    if not problems:
        return None
    shown = ", ".join(classes[:12]) + (" ..." if len(classes) > 12 else "")
    return "; ".join(problems) + f" (its classes: {shown or 'none'})"


def role_of(class_name: str, *, words: bool = True) -> str | None:
    """The book component a class speaks for by its name alone (the book's name, a name it
    is known by, or, with ``words``, the words of its name), or None: what two files that
    define a ``DenseLayer`` and a ``Layer_Dense`` have in common before anything is run."""
    if class_name in SPECS:
        return class_name
    n = _norm(class_name)
    for book in COMPONENTS:
        if n in _ALIASES.get(book, ()):
            return book
    if not words:
        return None
    hits = [book for book in COMPONENTS if _named_for(SPECS[book], class_name)]
    return hits[0] if len(hits) == 1 else None


def _ambiguous(book: str, hits: list[str]) -> list[str]:
    if len(hits) < 2:
        return []
    return [f"several classes could be {book}: {', '.join(hits)}; name one with --map "
            f"{book}={hits[0]}"]


def _named_for(spec: Any, name: str) -> bool:
    """Does ``name`` contain every word of one of the spec's name keys, and none of its
    exclusions?"""
    n = _norm(name)
    return any(all(w in n for w in words) for words in spec.name_keys) and not any(
        w in n for w in spec.name_excludes)


def _a_variant(spec: Any, cls: type) -> bool:
    """A class named like a book component whose book class takes no constructor
    arguments, but which takes some (``Activation_PReLU(alpha=0.25)``,
    ``LabelSmoothingCrossentropy(smoothing=0.1)``, ``HuberLoss(delta=1.0)``): a variant of
    it, with other values, checked as a custom component against its own forward."""
    if spec.family not in ("activation", "loss", "combined"):
        return False
    try:
        mine = [p for p in inspect.signature(cls).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        book = [p for p in inspect.signature(spec.reference).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return not book and bool(mine)


def _has_family_methods(family: str, cls: type) -> bool:
    have = {n for n in dir(cls) if not n.startswith("_") and callable(getattr(cls, n, None))}
    if family == "optimizer":
        return bool(have & {*UPDATE_NAMES, "step", "update_weights"}) or any(
            "update" in n for n in have)
    if family == "accuracy_base":  # the chapter-17 base: calculate() compares via compare()
        calculate = getattr(cls, "calculate", None)
        return "calculate" in have and ("compare" in have or "compare" in reads_of_self(calculate))
    if family == "loss_base":
        return "calculate" in have
    if family == "accuracy":
        return bool(have & {"calculate", "compare"})
    if family == "model":
        return bool(have & {"train", "fit"}) and bool(have & {"add", "predict", "forward"})
    if family == "combined":  # chapters 18+: backward only
        return bool(have & set(BACKWARD_NAMES))
    return bool(have & set(FORWARD_NAMES))  # backward may come in a later chapter


def _by_structure(classes: dict[str, type], out: dict[str, Found],
                  taken: set[str]) -> dict[str, Found]:
    found: dict[str, Found] = {}
    free = {k: c for k, c in classes.items() if k not in taken}
    if out["Layer_Dense"].cls is None and not out["Layer_Dense"].adaptations:
        dense = [k for k, c in free.items() if _looks_like_dense(c)]
        if len(dense) == 1:
            taken.add(dense[0])
            found["Layer_Dense"] = Found(free[dense[0]], dense[0], [
                f"found as {dense[0]} by its structure (made from two sizes, holds weights)"])
    for base in (s for s in SPECS.values() if s.base_of is not None):
        if out[base.name].cls is not None or out[base.name].adaptations:
            continue
        derived = [f.cls for b, f in out.items() if f.cls is not None
                   and SPECS[b].family == base.base_of]
        if derived:
            common = [c for c in derived[0].__mro__[1:] if c is not object
                      and all(issubclass(x, c) for x in derived) and "calculate" in vars(c)]
            name = common[0].__name__ if common else None
            if name is not None and classes.get(name) is common[0] and name not in taken:
                taken.add(name)
                found[base.name] = Found(common[0], name, [
                    f"found as {name} by its structure (the base of the "
                    f"{base.base_of} classes, with calculate())"])
    return found


def _looks_like_dense(cls: type) -> bool:
    """A layer built from two sizes that draws weights: forward and backward, an
    ``__init__`` with two required parameters, weights in its source."""
    have = {n for n in dir(cls) if not n.startswith("_")}
    if not (have & set(FORWARD_NAMES) and have & set(BACKWARD_NAMES)):
        return False
    try:
        sig = inspect.signature(cls)
        source = inspect.getsource(cls)
    except (TypeError, ValueError, OSError):
        return False
    required = [p for p in sig.parameters.values() if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    # exactly two sizes: a layer made from more (a convolution's kernel size, an RNN's
    # steps) is not a Dense but a custom component
    if len(required) != 2 or not ("weights" in source or "randn" in source):
        return False
    # and holds (3, 2) weights and 2 biases when made from 3 and 2 (an embedding's table
    # has no biases; an RNN cell's weights are named otherwise)
    state = np.random.get_state()
    try:
        obj = cls(3, 2)
        d = {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray)}
    except Exception:
        return False
    finally:
        np.random.set_state(state)
    w = next((d[n] for n in _PARAMS["weights"] if n in d), None)
    b = next((d[n] for n in _PARAMS["biases"] if n in d), None)
    if w is None or np.shape(w) != (3, 2):
        return False
    if b is not None:
        return bool(np.size(b) == 2)
    try:  # no biases: a Dense still takes real-valued inputs (an embedding's ids do not)
        fwd = next(getattr(obj, n) for n in FORWARD_NAMES if callable(getattr(obj, n, None)))
        fwd(np.full((4, 3), 0.5))
    except Exception:
        return False
    finally:
        np.random.set_state(state)
    return True


# --------------------------------------------------------------------------- instance adapter

_OUTPUT = ("output", "outputs", "out", "a", "activations", "y")
_GRAD = {
    "dinputs": ("dinputs", "d_inputs", "dInputs", "dinput", "d_input", "dx", "dX", "grad_inputs"),
    "dweights": ("dweights", "d_weights", "dWeights", "dweight", "dw", "dW", "grad_weights"),
    "dbiases": ("dbiases", "d_biases", "dBiases", "dbias", "db", "dB", "grad_biases"),
}
_PARAMS = {
    "weights": ("weights", "weight", "W", "w"),
    "biases": ("biases", "bias", "b", "B"),
}


class AdapterError(Exception):
    """The target does not offer something the book's interface needs."""


class NotSupported(Exception):
    """The target does not have an optional feature (regularization, evaluation mode)."""


class MissingMethod(NotSupported):
    """The class has no such method yet (a notebook at chapter 9 has no Softmax backward):
    the checks that need it are skipped, not failed."""


def _accepts(fn: Any, name: str, positional: int) -> bool:
    """Does ``fn`` take keyword ``name`` or ``positional`` positional args (self excluded)?"""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in params) and name:
        return True
    if name and name in sig.parameters:
        return True
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    return len(pos) >= positional


class Adapter:
    """The book's interface in front of one instance; records the adaptations it made."""

    def __init__(self, obj: Any, notes: list[str] | None = None) -> None:
        self.obj = obj
        self.notes: list[str] = notes if notes is not None else []
        self.returned: Any = None

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def method(self, *names: str) -> Any:
        for n in method_names(self.obj, names):
            m = getattr(self.obj, n, None)
            if callable(m):
                if n != names[0] and n in names:  # (a mapped name is reported by discovery)
                    self._note(f"method {n}() used as {names[0]}()")
                return m
        found = None
        if names[0] == UPDATE_NAMES[0]:
            found = update_by_signature(self.obj)
        elif names[0] in (PRE_UPDATE_NAMES[0], POST_UPDATE_NAMES[0]):
            found = hook_by_name(self.obj, "pre" if names[0] == PRE_UPDATE_NAMES[0] else "post")
        if found is not None:
            self._note(f"method {found}() used as {names[0]}() (found by its signature)")
            return getattr(self.obj, found)
        known = {*FORWARD_NAMES, *BACKWARD_NAMES, *UPDATE_NAMES, *PRE_UPDATE_NAMES,
                 *POST_UPDATE_NAMES}
        close = difflib.get_close_matches(
            names[0], [n for n in dir(self.obj) if not n.startswith("_") and n not in known
                       and callable(getattr(self.obj, n, None))], n=1, cutoff=0.8)
        if close and names[0] in (FORWARD_NAMES[0], BACKWARD_NAMES[0]):
            # a required method misspelt (bacward): the book's loop would fail on it
            raise AdapterError(
                f"{type(self.obj).__name__} has no method {names[0]}() but has {close[0]}(): "
                f"a misspelling? The book's training loop calls {names[0]}()")
        raise MissingMethod(
            f"{type(self.obj).__name__} has no method {names[0]}(): the checks that need it "
            "are skipped"
        )

    def _call(self, fn: Any, args: tuple[Any, ...], roles: tuple[str, ...],
              optional: tuple[str, ...], training: bool | None, book: str,
              available: dict[str, Any] | None = None) -> Any:
        what = f"{type(self.obj).__name__}.{getattr(fn, '__name__', book)}()"
        available = available or {}
        self.plan = plan_for(fn, roles, optional=optional, training=training is not None,
                             what=what, available=tuple(available))
        return call(fn, args, roles, optional=optional, training=training, notes=self.notes,
                    what=what, available=available)

    def forward(self, *args: Any, training: bool | None = None,
                optional: tuple[str, ...] = ()) -> Any:
        """forward(inputs[, y_true]) bound to the class's own signature (see binding)."""
        try:
            fwd = self.method(*FORWARD_NAMES)
        except MissingMethod:  # nothing of the class can be driven without it
            raise AdapterError(
                f"{type(self.obj).__name__} has no method forward() (nor forward_pass ...): "
                f"name yours with --map Component.forward=yours") from None
        roles = ("inputs", "y_true")[: len(args)]
        self.inputs_seen = args[0] if args else None
        self.returned = self._call(fwd, args, roles, optional, training, "forward")
        return self.returned

    def backward(self, *args: Any) -> Any:
        bwd = self.method(*BACKWARD_NAMES)
        roles = ("dvalues", "y_true")[: len(args)]
        seen = getattr(self, "inputs_seen", None)
        d = getattr(self.obj, "__dict__", {})
        before = {k: id(v) for k, v in d.items()}
        self.returned = self._call(bwd, args, roles, (), None, "backward",
                                   {"inputs": seen} if seen is not None else None)
        # what this backward set: where its input gradient is, if under no known name
        self.set_by_backward = {k: v for k, v in getattr(self.obj, "__dict__", {}).items()
                                if isinstance(v, np.ndarray) and id(v) != before.get(k)
                                and not any(v is a for a in args)}
        return self.returned

    def update(self, layer: Any, step: int = 0) -> Any:
        """update_params(layer), bound to the optimizer's own signature; an optimizer that
        asks for the step (update_params(layer, epoch)) gets the number of steps done."""
        fn = self.method(*UPDATE_NAMES)
        return self._call(fn, (layer,), ("layer",), (), None, "update_params",
                          {"iteration": step})

    def dropped(self, role: str) -> bool:
        """Did the last call leave ``role`` out (a forward that takes only the logits)?"""
        plan = getattr(self, "plan", None)
        roles = ("inputs", "y_true")
        return plan is not None and any(roles[i] == role for i in plan.dropped)

    def read(self, attr: str, *, returned_ok: bool = True) -> Any:
        """The value of a book attribute under any common spelling (or the return value)."""
        names = _GRAD.get(attr) or (_OUTPUT if attr == "output" else (attr,))
        for n in names:
            if n in getattr(self.obj, "__dict__", {}) or hasattr(type(self.obj), n):
                try:
                    val = getattr(self.obj, n)
                except Exception:  # a property that raises
                    continue
                if val is None or callable(val):
                    continue
                if n != attr:
                    self._note(f"attribute {n} read as {attr}")
                return val
        if attr in ("dweights", "dbiases"):
            loc = self.grad_location(attr)
            if loc is not None and loc[1] is not None:
                self._note(f"{loc[0]}[{loc[1]!r}] read as {attr}")
                return get_at(self.obj, loc)
        # what a method returns is its output (forward) or the input gradient (backward),
        # never a parameter's gradient
        if returned_ok and attr in ("output", "dinputs") and isinstance(self.returned,
                                                                       np.ndarray):
            self._note(f"return value used as {attr}")
            return self.returned
        if attr == "output":
            x = getattr(self, "inputs_seen", None)
            parts = [(k, v) for k, v in getattr(self.obj, "__dict__", {}).items()
                     if not isinstance(v, (np.ndarray, type)) and hasattr(v, "__dict__")
                     and isinstance(getattr(v, "output", None), np.ndarray)
                     and (x is None or np.shape(v.output) == np.shape(x))]
            if len(parts) == 1:  # a combined class whose output lives in its softmax
                self._note(f"attribute {parts[0][0]}.output read as output")
                return parts[0][1].output
        if attr == "dinputs":
            found = self._shaped_like_inputs()
            if found is not None:
                self._note(f"attribute {found} (set by backward, shaped like the inputs) read "
                           "as dinputs")
                return getattr(self.obj, found)
        raise AdapterError(
            f"{type(self.obj).__name__} sets no attribute {attr!r} (nor {', '.join(names[1:4])})"
        )

    def _shaped_like_inputs(self) -> str | None:
        """The one array the last backward set that has the forward inputs' shape and is
        none of the parameter gradients: the input gradient under a name of the class's
        own (self.dvalues, self.grad)."""
        x = getattr(self, "inputs_seen", None)
        if x is None:
            return None
        known = {n for names in _GRAD.values() for n in names} | set(_OUTPUT)
        hits = [k for k, v in getattr(self, "set_by_backward", {}).items()
                if k not in known and np.shape(v) == np.shape(x)
                and not np.array_equal(v, x)]
        return hits[0] if len(hits) == 1 else None

    def param_location(self, book: str) -> Location:
        """Where the class keeps the book's parameter ``book``: an attribute under any
        common spelling (in ``__dict__``, a slot or a property), or a key of a dict it
        holds (``self.params['W']``)."""
        d = getattr(self.obj, "__dict__", {})
        for n in _PARAMS[book]:
            if n in d or hasattr(type(self.obj), n) and isinstance(
                    getattr(self.obj, n, None), np.ndarray):
                if n != book:
                    self._note(f"parameter {n} used as {book}")
                return (n, None)
        for k, v in d.items():
            if isinstance(v, dict):
                for n in _PARAMS[book]:
                    if isinstance(v.get(n), np.ndarray):
                        self._note(f"parameter {k}[{n!r}] used as {book}")
                        return (k, n)
        raise AdapterError(f"{type(self.obj).__name__} has no attribute {book!r}")

    def set_param(self, book: str, value: np.ndarray) -> None:
        set_at(self.obj, self.param_location(book), value)

    def get_param(self, book: str) -> Any:
        return get_at(self.obj, self.param_location(book))

    def grad_location(self, attr: str) -> Location | None:
        """Where backward left a parameter's gradient: an attribute under any spelling, or
        the key of its parameter (or a gradient spelling) in another dict the class holds
        (``self.grads['W']``)."""
        d = getattr(self.obj, "__dict__", {})
        for n in _GRAD[attr]:
            if n in d or hasattr(type(self.obj), n) and isinstance(
                    getattr(self.obj, n, None), np.ndarray):
                return (n, None)
        try:
            where, key = self.param_location("weights" if attr == "dweights" else "biases")
        except AdapterError:
            where, key = None, None
        keys = ((key,) if key else ()) + _GRAD[attr]
        for k, v in d.items():
            if isinstance(v, dict) and k != where:
                hit = next((n for n in keys if isinstance(v.get(n), np.ndarray)), None)
                if hit is not None:
                    return (k, hit)
        return None


#: Where a value lives in an object: (attribute, None) or (dict attribute, key).
Location = tuple[str, "str | None"]


def get_at(obj: Any, loc: Location) -> Any:
    attr, key = loc
    return getattr(obj, attr) if key is None else getattr(obj, attr)[key]


def set_at(obj: Any, loc: Location, value: Any) -> None:
    attr, key = loc
    if key is None:
        setattr(obj, attr, value)
    else:
        getattr(obj, attr)[key] = value


# Other spellings of the book's constructor arguments (normalised as by _norm, which
# already equates learningRate, learning_rate and beta1, beta_1).
_KEYWORD_ALIASES: dict[str, tuple[str, ...]] = {
    "learning_rate": ("lr", "alpha", "eta", "learnrate"),
    "epsilon": ("eps",),
    "beta_1": ("b1",),
    "beta_2": ("b2",),
    "n_inputs": ("ninput", "inputs", "inputsize", "nin", "fanin"),
    "n_neurons": ("nneuron", "neurons", "outputsize", "nout", "fanout", "noutputs", "outputs"),
}


def regularizer_key(name: str) -> tuple[str, str] | None:
    """('weight' | 'bias', 'l1' | 'l2') for a regularizer's name in any spelling
    (weight_regularizer_l1, weight_regularizer_L1, weight_L1, l1_bias ...), else None."""
    n = _norm(name)
    kind = "weight" if "weight" in n else "bias" if "bias" in n else None
    order = "l1" if "l1" in n else "l2" if "l2" in n else None
    return (kind, order) if kind and order else None


def construct(cls: type, *args: Any, book: type | None = None, **kwargs: Any) -> Any:
    """``cls(*args, **kwargs)`` with each keyword argument passed under the class's own name
    for it: the same name in another spelling (weight_regularizer_L1, learningRate), a known
    other name (lr, eps), a name that contains the book's or is contained in it (lr_decay,
    decay_rate for decay), or else the parameter at the book's position for it in ``book``'s
    constructor with the book's default value there (SGD(lr_=1., d=0., mom=0.)).  An
    argument the class does not take is dropped when it is at its default (a learner's Dense
    without regularizers); otherwise the check that needs it cannot run (NotSupported)."""
    try:
        sig = class_signature(cls) if isinstance(cls, type) else inspect.signature(cls)
    except (TypeError, ValueError):
        return cls(*args, **kwargs)
    params = sig.parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return cls(*args, **kwargs)
    P = inspect.Parameter
    theirs_all = [p for p in params.values() if p.kind in (P.POSITIONAL_ONLY,
                                                            P.POSITIONAL_OR_KEYWORD,
                                                            P.KEYWORD_ONLY)]
    taken = {p.name for p in list(params.values())[: len(args)]} | set(kwargs) & set(params)
    book_params = _book_parameters(book)
    for k in [k for k in kwargs if k not in params]:
        free = [p for p in theirs_all if p.name not in taken]
        hit = _same_parameter(k, free, book_params, theirs_all)
        if hit is not None:
            kwargs[hit] = kwargs.pop(k)
            taken.add(hit)
        elif kwargs[k] in (0, 0.0, None):
            del kwargs[k]
        else:
            raise NotSupported(
                f"{cls.__name__}() takes no argument for the book's {k!r} (its parameters: "
                f"{', '.join(p.name for p in theirs_all) or 'none'}): a form from an earlier "
                "chapter, or a name the checks cannot pair with it"
            )
    # positional-only parameters (def __init__(self, lr=1., decay=0., /)) by position
    only = [p for p in params.values() if p.kind is P.POSITIONAL_ONLY][len(args):]
    positional = list(args)
    if any(p.name in kwargs for p in only):
        last = max(i for i, p in enumerate(only) if p.name in kwargs)
        for p in only[: last + 1]:
            if p.name in kwargs:
                positional.append(kwargs.pop(p.name))
            elif p.default is not P.empty:
                positional.append(p.default)
            else:
                break
    return cls(*positional, **kwargs)


def _book_parameters(book: type | None) -> list[inspect.Parameter]:
    if book is None:
        return []
    try:
        return [p for p in inspect.signature(book).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        return []


def _same_parameter(k: str, free: list[inspect.Parameter], book: list[inspect.Parameter],
                    theirs: list[inspect.Parameter]) -> str | None:
    """The class's parameter that plays the book's ``k`` (see :func:`construct`)."""
    key = regularizer_key(k)
    if key:
        hits = [p.name for p in free if regularizer_key(p.name) == key]
        return hits[0] if len(hits) == 1 else None
    nk = _norm(k)
    for test in (
        lambda n: n == nk or n in _KEYWORD_ALIASES.get(k, ()),
        lambda n: len(min(n, nk, key=len)) >= 3 and (nk in n or n in nk),
    ):
        hits = [p.name for p in free if test(_norm(p.name))]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            return None
    names = [p.name for p in book]
    if k in names:
        i = names.index(k)
        mine = book[i].default
        if i < len(theirs) and theirs[i] in free and _same_default(theirs[i].default, mine) \
                and _norm(theirs[i].name) not in {_norm(n) for n in names}:
            return theirs[i].name
    return None


def _same_default(a: Any, b: Any) -> bool:
    try:
        return bool(np.isclose(float(a), float(b), rtol=1e-12, atol=0.0))
    except (TypeError, ValueError):
        return False
