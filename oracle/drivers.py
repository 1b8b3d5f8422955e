"""Drivers: how a component of each family is driven through the book's interface --
built, run forward and backward, differentiated (the function of one input whose
derivative backward computes, and the upstream gradient it assumes), and, for an
optimizer, stepped on a layer.  Every call goes through :class:`oracle.adapt.Adapter`,
which binds it to the class's own signature (:mod:`oracle.binding`)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracle.adapt import _GRAD as _GRAD_NAMES
from oracle.adapt import _PARAMS as _PARAM_NAMES
from oracle.adapt import (
    FORWARD_NAMES,
    POST_UPDATE_NAMES,
    PRE_UPDATE_NAMES,
    Adapter,
    AdapterError,
    Location,
    construct,
    get_at,
    set_at,
)
from oracle.context import Context, Mismatch, NotApplicable
from oracle.spec import Case

__all__ = ["LayerHandle", "Outcome", "build", "evaluate", "functional", "run_optimizer",
           "upstream_for"]


@dataclass
class Outcome:
    output: Any = None
    grads: dict[str, Any] = field(default_factory=dict)
    adapter: Adapter | None = None
    loss: Any = None  # what a chapter-9 combined forward returns


def _c(a: Any) -> Any:
    return None if a is None else np.array(a, copy=True)


def build(ctx: Context, cls: type, case: Case) -> Adapter:
    s = ctx.spec
    notes = ctx.adaptations if cls is ctx.cls else []
    if s.family == "dense":
        ctor = dict(case.ctor)
        n_in, n_out = ctor.pop("n_inputs"), ctor.pop("n_neurons")
        ad = Adapter(construct(cls, n_in, n_out, book=s.reference, **ctor), notes)
        ad.set_param("weights", _c(case.weights))
        ad.set_param("biases", _c(case.biases))
        return ad
    if s.family == "dropout":
        return Adapter(cls(case.ctor["rate"]), notes)
    obj = construct(cls)
    if s.family in ("loss", "combined"):
        ready_loss(obj)
        for part in list(getattr(obj, "__dict__", {}).values()):  # a combined class's loss
            if callable(getattr(part, "calculate", None)):
                ready_loss(part)
    return Adapter(obj, notes)


def _takes_nothing(fn: Any) -> bool:
    """A method with no parameters (a placeholder forward of a backward-only class)."""
    try:
        return not inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def remembers_layers(obj: Any) -> Any:
    """The loss's ``remember_trainable_layers`` under any name: its one public method
    that takes one argument and whose name, or that argument's, speaks of trainable
    layers (or remembering): ``initialize_loss_func(trainable_layers)``."""
    hits = []
    for name in dir(obj):
        fn = getattr(obj, name, None)
        if name.startswith("_") or not callable(fn):
            continue
        try:
            params = [p for p in inspect.signature(fn).parameters.values()
                      if p.default is p.empty
                      and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            continue
        said = re.sub(r"[^a-z0-9]", "", (name + (params[0].name if params else "")).lower())
        if len(params) == 1 and ("trainable" in said or "remember" in said):
            hits.append(fn)
    return hits[0] if len(hits) == 1 else None


def ready_loss(loss: Any) -> None:
    """Make a loss ready as the book's Model makes it before training: no trainable layers
    remembered yet (a calculate() that always adds the regularization loss has a list to
    read), and its accumulators started (new_pass, chapter 19+, or a reset method)."""
    remember = remembers_layers(loss)
    starts = [getattr(loss, n) for n in dir(loss) if not n.startswith("_")
              and any(w in n.lower() for w in ("new_pass", "newpass", "reset"))
              and callable(getattr(loss, n, None))]
    for step in (lambda: remember([]) if remember is not None else None, *starts):
        if callable(step):
            try:
                step()
            except Exception:  # the checks that use it will say so
                pass


def _forward_method(obj: Any) -> Any:
    """The object's (or class's) forward under any of its spellings, or None."""
    return next((m for m in (getattr(obj, n, None) for n in FORWARD_NAMES) if callable(m)), None)


def evaluate(
    ctx: Context,
    cls: type,
    case: Case,
    *,
    one_hot: bool = False,
    backward: bool = True,
    arrays: dict[str, np.ndarray] | None = None,
    adapter: Adapter | None = None,
) -> Outcome:
    """Run forward (and backward) of ``cls`` on ``case`` through the book's interface.

    ``arrays`` (optional) supplies the exact array objects to pass, so that a
    caller can check afterwards that they were not mutated; by default fresh
    copies are passed.  ``adapter`` (optional) reuses an object built before, for a
    second call on the same instance.
    """
    s = ctx.spec
    a = arrays or {
        "inputs": _c(case.inputs), "dvalues": _c(case.dvalues),
        "y": _c(case.y_one_hot if one_hot else case.y),
    }
    ad = adapter if adapter is not None else build(ctx, cls, case)
    out = Outcome(adapter=ad)
    if s.family in ("dense", "activation", "input", "dropout"):
        ad.forward(a["inputs"], training=True)
        out.output = ad.read("output")
        if backward and s.family != "input":
            ad.backward(a["dvalues"])
            out.grads = {g: ad.read(g) for g in (s.grads or ("dinputs",))}
        return out
    if s.family == "loss":
        ret = ad.forward(a["inputs"], a["y"])
        if ret is None:
            ret = ad.read("output", returned_ok=False)
        ret = np.asarray(ret)
        if ret.ndim == 0 and case.samples and case.samples > 1:
            ad._note("forward() returns the mean loss, not per-sample losses")
        out.output = ret
        if backward:
            ad.backward(a["inputs"], a["y"])
            out.grads = {"dinputs": ad.read("dinputs")}
        return out
    if s.family == "combined":
        from reference import Activation_Softmax

        sm = Activation_Softmax()
        sm.forward(case.inputs)
        p = sm.output
        fwd = _forward_method(ad.obj)
        if fwd is not None and not _takes_nothing(fwd):
            # the chapter-9 form: forward(inputs, y_true) returns the loss
            out.loss = ad.forward(a["inputs"], a["y"], optional=("y_true",))
            if ad.dropped("y_true"):  # forward(logits) alone: the softmax, no loss to return
                out.loss = None
            out.output = ad.read("output", returned_ok=out.loss is None)
        if backward:
            ad.backward(np.array(p, copy=True) if arrays is None else a["dvalues"], a["y"])
            out.grads = {"dinputs": ad.read("dinputs")}
        return out
    raise ValueError(f"evaluate() does not drive family {s.family}")


def functional(ctx: Context, cls: type, case: Case, field_name: str) -> Callable[[np.ndarray], Any]:
    """The forward pass of ``cls`` as a function of one Case field (fresh object per call)."""
    s = ctx.spec

    def fn(x: np.ndarray) -> np.ndarray:
        c = Case(**{**case.__dict__, field_name: x})
        ad = build(ctx, cls, c)
        if s.family == "loss":
            ret = ad.forward(np.array(c.inputs, copy=True), _c(c.y))
            return np.asarray(ret if ret is not None else ad.read("output", returned_ok=False))
        if s.family == "combined":
            from reference import Activation_Softmax, Loss_CategoricalCrossentropy

            sm = Activation_Softmax()
            sm.forward(c.inputs)
            return Loss_CategoricalCrossentropy().forward(sm.output, c.y)
        ad.forward(np.array(c.inputs, copy=True), training=True)
        return np.asarray(ad.read("output"))

    return fn


def upstream_for(ctx: Context, case: Case) -> np.ndarray:
    """The upstream gradient the backward pass assumes: dvalues, or 1/N for a mean loss."""
    if ctx.spec.family in ("loss", "combined"):
        n = case.samples or 1
        return np.full((n,), 1.0 / n)
    assert case.dvalues is not None
    return case.dvalues


def _dropout_forward(ctx: Context, case: Case, training: bool | None = True) -> tuple[Adapter, Any]:
    ad = build(ctx, ctx.cls, case)
    ad.forward(np.array(case.inputs, copy=True), training=training)
    return ad, ad.read("output")


class StandInMissing(AdapterError, AttributeError):
    """An optimizer asked the stand-in layer for what only its own Dense has."""


class _Layer:
    """A stand-in layer for optimizers: parameters, gradients, and their spellings (an
    optimizer written for a Dense with ``weight``/``dweight`` reads and writes those)."""

    _ALIAS = {alias: book for book, names in (*_GRAD_NAMES.items(), *_PARAM_NAMES.items())
              for alias in names if alias != book and book != "dinputs"}

    def __init__(self, w: np.ndarray, b: np.ndarray) -> None:
        self.weights = np.array(w, copy=True)
        self.biases = np.array(b, copy=True)
        self.dweights = np.zeros_like(self.weights)
        self.dbiases = np.zeros_like(self.biases)

    def __getattr__(self, name: str) -> Any:
        canon = _Layer._ALIAS.get(name)
        if canon is None:
            if name.startswith("__"):
                raise AttributeError(name)
            raise StandInMissing(
                f"the optimizer reads layer.{name}, which the checks' stand-in layer does "
                "not have (the module has no Dense the checks could build and drive, so a "
                "plain layer with weights, biases, dweights and dbiases stands in)")
        return getattr(self, canon)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, _Layer._ALIAS.get(name, name), value)


class LayerHandle:
    """The layer an optimizer updates, and how the oracle reaches its parameters and
    gradients: the module's own Dense (under the attribute names found on it), or the
    stand-in :class:`_Layer`."""

    def __init__(self, obj: Any, places: dict[str, Location]) -> None:
        self.obj = obj
        self.places = places  # book attribute -> where the layer keeps it

    def set(self, book: str, value: np.ndarray) -> None:
        set_at(self.obj, self.places[book], np.array(value, copy=True))

    def get(self, book: str) -> np.ndarray:
        return np.array(get_at(self.obj, self.places[book]), dtype=np.float64, copy=True)


_BOOK_NAMES: dict[str, Location] = {n: (n, None) for n in ("weights", "biases", "dweights",
                                                            "dbiases")}


def _stand_in(w: np.ndarray, b: np.ndarray) -> LayerHandle:
    return LayerHandle(_Layer(w, b), _BOOK_NAMES)


def own_dense_layer(ctx: Context, w: np.ndarray, b: np.ndarray) -> LayerHandle | None:
    """The module's own Dense (found or mapped) with parameters ``w``, ``b``, built as its
    optimizer expects it: constructed, run forward and backward once (so that whatever it
    creates there exists, under its own names), then given ``w`` and ``b``.  None when the
    module has no Dense or it cannot be driven."""
    dense = ctx.peers.get("Layer_Dense")
    if not isinstance(dense, type) or dense is ctx.spec.reference:
        return None
    try:
        n_in, n_out = w.shape
        ad = Adapter(construct(dense, n_in, n_out), [])
        places = {p: ad.param_location(p) for p in ("weights", "biases")}
        ad.set_param("weights", np.array(w, copy=True))
        ad.set_param("biases", np.array(b, copy=True))
        ad.forward(np.ones((2, n_in)), training=True)
        ad.backward(np.ones((2, n_out)))
        for g in ("dweights", "dbiases"):
            where = ad.grad_location(g)
            if where is None:
                return None
            places[g] = where
        ad.set_param("weights", np.array(w, copy=True))
        ad.set_param("biases", np.array(b, copy=True))
    except Exception:
        return None
    return LayerHandle(ad.obj, places)


def run_optimizer(
    ctx: Context, cls: type, case: Case, notes: list[str], *, companion: bool = False
) -> tuple[LayerHandle, Any]:
    """``case``'s steps on one layer; ``(layer, (optimizer, history))`` with the layer's
    (weights, biases) after every step.

    The layer is the module's own Dense when it has one (an optimizer meets the layer it
    was written for: its getters, the state it preallocates, its attribute names), else a
    stand-in that answers every common spelling.  When the optimizer raises on the
    module's Dense, the stand-in is tried before the exception is reported.

    ``companion``: a second layer of the same shapes is updated in every step too, as in a
    network with two Dense layers; the tuple then ends with its history.  Its parameters
    and gradients are other numbers (-0.5 times the first layer's), so optimizer state
    shared between layers (kept by class name or shape, or an iteration count advanced in
    update_params) shows."""
    assert case.weights is not None and case.biases is not None
    w, b = case.weights, case.biases
    if cls is not ctx.spec.reference:
        first = own_dense_layer(ctx, w, b)
        second = own_dense_layer(ctx, -0.5 * w, -0.5 * b) if companion else None
        if first is not None and (second is not None or not companion):
            tried: list[str] = []
            try:
                out = _steps(ctx, cls, case, tried, first, second)
            except Mismatch:
                raise
            except Exception as exc:
                try:
                    out = _steps(ctx, cls, case, notes, _stand_in(w, b),
                                 _stand_in(-0.5 * w, -0.5 * b) if companion else None)
                except Exception:
                    raise exc from None
                _note_once(notes, f"updates on the module's own {type(first.obj).__name__} "
                           f"raised {type(exc).__name__}; a plain layer was used instead")
                return out
            notes.extend(n for n in tried if n not in notes)
            _note_once(notes, f"updates the module's own {type(first.obj).__name__}")
            return out
    return _steps(ctx, cls, case, notes, _stand_in(w, b),
                  _stand_in(-0.5 * w, -0.5 * b) if companion else None)


def _note_once(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


def _steps(ctx: Context, cls: type, case: Case, notes: list[str], layer: LayerHandle,
           other: LayerHandle | None) -> tuple[LayerHandle, Any]:
    opt = construct(cls, book=ctx.spec.reference, **case.ctor)
    ad = Adapter(opt, notes)
    history: list[tuple[np.ndarray, np.ndarray]] = []
    other_history: list[tuple[np.ndarray, np.ndarray]] = []
    for gw, gb in zip(case.extra["dweights"], case.extra["dbiases"], strict=True):
        layer.set("dweights", gw)
        layer.set("dbiases", gb)
        pre = _hook(ad, PRE_UPDATE_NAMES)
        if pre is not None:
            pre()
        ad.update(layer.obj, step=len(history))
        if not (np.array_equal(layer.get("dweights"), gw)
                and np.array_equal(layer.get("dbiases"), gb)):
            raise Mismatch(
                "update_params() changed the layer's gradients (dweights or dbiases)",
                hint="compute the update into a new array (weight_updates = "
                "-current_learning_rate * layer.dweights) instead of modifying "
                "layer.dweights in place (*=, -=): whatever reads them after the step (a "
                "gradient check, a log, a second optimizer) sees the update instead",
            )
        if other is not None:
            other.set("dweights", -0.5 * np.asarray(gw, dtype=np.float64))
            other.set("dbiases", -0.5 * np.asarray(gb, dtype=np.float64))
            ad.update(other.obj, step=len(history))
        post = _hook(ad, POST_UPDATE_NAMES)
        if post is not None:
            post()
        history.append((layer.get("weights"), layer.get("biases")))
        if other is not None:
            other_history.append((other.get("weights"), other.get("biases")))
    if other is not None:
        return layer, (opt, history, other_history)
    return layer, (opt, history)


def _hook(ad: Adapter, names: tuple[str, ...]) -> Any:
    """The optimizer's pre- or post-update hook under any of its spellings, or None (the
    book's early chapters have none)."""
    try:
        return ad.method(*names)
    except NotApplicable:
        return None


def _probe(cls: type, losses: Callable[[], np.ndarray]) -> type:
    """A subclass of the target's Loss whose forward (under each of its spellings, so that
    calculate() finds it whatever it calls) returns ``losses()``: calculate() is then
    checked on per-sample losses chosen by the test."""

    def forward(self: Any, *args: Any, **kwargs: Any) -> np.ndarray:  # noqa: ARG001
        return losses()

    def unused(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: ARG001
        return None

    # an abstract base (abc.ABC with an abstract backward) can be instantiated once its
    # abstract methods have bodies: the probe gives them one that calculate() never calls
    body: dict[str, Any] = {n: unused for n in getattr(cls, "__abstractmethods__", ())}
    body.update({n: forward for n in FORWARD_NAMES})
    return type("_Probe", (cls,), body)
