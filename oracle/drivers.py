"""Drivers: how a component of each family is driven through the book's interface --
built, run forward and backward, differentiated (the function of one input whose
derivative backward computes, and the upstream gradient it assumes), and, for an
optimizer, stepped on a layer.  Every call goes through :class:`oracle.adapt.Adapter`,
which binds it to the class's own signature (:mod:`oracle.binding`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracle import custom
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
from oracle.binding import accumulator_methods, class_cached, normalise
from oracle.context import Context, Mismatch, NotApplicable
from oracle.spec import Case

__all__ = ["DRIVERS", "Driver", "LayerHandle", "Outcome", "accumulator", "build", "evaluate",
           "functional",
           "run_optimizer", "upstream_for"]


@dataclass
class Outcome:
    output: Any = None
    grads: dict[str, Any] = field(default_factory=dict)
    adapter: Adapter | None = None
    loss: Any = None  # what a chapter-9 combined forward returns


def _c(a: Any) -> Any:
    return None if a is None else np.array(a, copy=True)


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
    name = class_cached(obj, "remembers", lambda: _remembering_method(obj))
    return None if name is None else getattr(obj, name, None)


def _remembering_method(obj: Any) -> str | None:
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
        said = normalise(name + (params[0].name if params else ""))
        if len(params) == 1 and ("trainable" in said or "remember" in said):
            hits.append(name)
    return hits[0] if len(hits) == 1 else None


def accumulator(obj: Any, book: str) -> Any:
    """The bound method of a loss or accuracy that plays the book's ``new_pass``,
    ``calculate_accumulated`` or ``remember_trainable_layers`` (under any name: see
    :func:`oracle.binding.accumulator_methods`), or None."""
    name = accumulator_methods(obj).get(book)
    return getattr(obj, name) if name else None


def ready_loss(loss: Any) -> None:
    """Make a loss ready as the book's Model makes it before training: no trainable layers
    remembered yet (a calculate() that always adds the regularization loss has a list to
    read), and its accumulators started (new_pass, chapter 19+, or a reset method)."""
    remember = remembers_layers(loss) or accumulator(loss, "remember_trainable_layers")
    start = accumulator(loss, "new_pass")
    starts = [start] if start is not None else []
    for step in (lambda: remember([]) if remember is not None else None, *starts):
        if callable(step):
            try:
                step()
            except Exception:  # the checks that use it will say so
                pass


def _forward_method(obj: Any) -> Any:
    """The object's (or class's) forward under any of its spellings, or None."""
    return next((m for m in (getattr(obj, n, None) for n in FORWARD_NAMES) if callable(m)), None)


class Driver:
    """How the components of one family are driven through the book's interface: built
    from a case, run forward and backward on it, and differentiated (the function of one
    case field whose derivative backward computes, and the upstream gradient it assumes).
    The base drives a layer: forward(inputs, training=True), backward(dvalues)."""

    def build(self, ctx: Context, cls: type, case: Case, notes: list[str]) -> Adapter:
        return Adapter(construct(cls), notes)

    def run(self, ctx: Context, ad: Adapter, case: Case, a: dict[str, Any], *,
            backward: bool, given: bool) -> Outcome:
        out = Outcome(adapter=ad)
        ad.forward(a["inputs"], training=True)
        out.output = ad.read("output")
        if backward:
            ad.backward(a["dvalues"])
            out.grads = {g: ad.read(g) for g in (ctx.spec.grads or ("dinputs",))}
        return out

    def function(self, ctx: Context, cls: type, case: Case) -> Any:
        """The output of a fresh object for ``case`` (see :func:`functional`)."""
        ad = build(ctx, cls, case)
        ad.forward(np.array(case.inputs, copy=True), training=True)
        return np.asarray(ad.read("output"))

    def upstream(self, case: Case) -> np.ndarray:
        assert case.dvalues is not None
        return case.dvalues

    def exercise(self, ctx: Context, cls: type, case: Case) -> None:
        """Drive ``case`` once, for the adaptations it needs (recorded on ``ctx``)."""
        evaluate(ctx, cls, case)


class DenseDriver(Driver):
    """A Dense: built from its sizes and regularizers, then given the case's parameters
    under the names it keeps them by."""

    def build(self, ctx: Context, cls: type, case: Case, notes: list[str]) -> Adapter:
        ctor = dict(case.ctor)
        n_in, n_out = ctor.pop("n_inputs"), ctor.pop("n_neurons")
        ad = Adapter(construct(cls, n_in, n_out, book=ctx.spec.reference, **ctor), notes)
        ad.set_param("weights", _c(case.weights))
        ad.set_param("biases", _c(case.biases))
        return ad


class DropoutDriver(Driver):
    def build(self, ctx: Context, cls: type, case: Case, notes: list[str]) -> Adapter:
        return Adapter(cls(case.ctor["rate"]), notes)


class InputDriver(Driver):
    def run(self, ctx: Context, ad: Adapter, case: Case, a: dict[str, Any], *,
            backward: bool, given: bool) -> Outcome:
        return super().run(ctx, ad, case, a, backward=False, given=given)


class LossDriver(Driver):
    """A loss: made ready as the Model makes it; forward(y_pred, y_true) gives per-sample
    losses (or their mean, a variant); backward(y_pred, y_true) sets dinputs; the upstream
    gradient of the mean loss is 1/N per sample."""

    def build(self, ctx: Context, cls: type, case: Case, notes: list[str]) -> Adapter:
        obj = construct(cls)
        ready_loss(obj)
        for part in list(getattr(obj, "__dict__", {}).values()):  # a combined class's loss
            if callable(getattr(part, "calculate", None)):
                ready_loss(part)
        return Adapter(obj, notes)

    def run(self, ctx: Context, ad: Adapter, case: Case, a: dict[str, Any], *,
            backward: bool, given: bool) -> Outcome:
        out = Outcome(adapter=ad)
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

    def function(self, ctx: Context, cls: type, case: Case) -> Any:
        ad = build(ctx, cls, case)
        ret = ad.forward(np.array(case.inputs, copy=True), _c(case.y))
        return np.asarray(ret if ret is not None else ad.read("output", returned_ok=False))

    def upstream(self, case: Case) -> np.ndarray:
        n = case.samples or 1
        return np.full((n,), 1.0 / n)


class CombinedDriver(LossDriver):
    """Softmax and cross-entropy in one class: backward(softmax outputs, y_true) gives the
    gradient with respect to the logits; a chapter-9 forward(inputs, y_true) (or a forward
    of the logits alone) is optional.  What is differentiated is the reference's mean
    cross-entropy of the softmax of the logits."""

    def run(self, ctx: Context, ad: Adapter, case: Case, a: dict[str, Any], *,
            backward: bool, given: bool) -> Outcome:
        from reference import Activation_Softmax

        out = Outcome(adapter=ad)
        sm = Activation_Softmax()
        sm.forward(case.inputs)
        fwd = _forward_method(ad.obj)
        if fwd is not None and not _takes_nothing(fwd):
            out.loss = ad.forward(a["inputs"], a["y"], optional=("y_true",))
            if ad.dropped("y_true"):  # forward(logits) alone: the softmax, no loss to return
                out.loss = None
            out.output = ad.read("output", returned_ok=out.loss is None)
        if backward:
            ad.backward(a["dvalues"] if given else np.array(sm.output, copy=True), a["y"])
            out.grads = {"dinputs": ad.read("dinputs")}
        return out

    def function(self, ctx: Context, cls: type, case: Case) -> Any:
        from reference import Activation_Softmax, Loss_CategoricalCrossentropy

        sm = Activation_Softmax()
        sm.forward(case.inputs)
        return Loss_CategoricalCrossentropy().forward(sm.output, case.y)


class OptimizerDriver(Driver):
    """An optimizer is stepped on a layer (:func:`run_optimizer`), not run forward."""

    def run(self, ctx: Context, ad: Adapter, case: Case, a: dict[str, Any], *,
            backward: bool, given: bool) -> Outcome:
        raise ValueError("an optimizer is driven by run_optimizer()")

    def exercise(self, ctx: Context, cls: type, case: Case) -> None:
        run_optimizer(ctx, cls, case, ctx.adaptations)


class LossBaseDriver(Driver):
    """The Loss base is driven through a probe subclass by its own checks."""

    def exercise(self, ctx: Context, cls: type, case: Case) -> None:
        return None


class AccuracyDriver(Driver):
    """An accuracy is constructed with the case's keyword arguments (``binary=True``) and
    driven by its own checks (compare, calculate, init), not forward and backward."""

    def build(self, ctx: Context, cls: type, case: Case, notes: list[str]) -> Adapter:
        return Adapter(construct(cls, book=ctx.spec.reference, **case.ctor), notes)

    def exercise(self, ctx: Context, cls: type, case: Case) -> None:
        return None


class ModelDriver(Driver):
    """A Model is driven by :mod:`oracle.training` (networks trained while recorded)."""

    def exercise(self, ctx: Context, cls: type, case: Case) -> None:
        return None


class CustomDriver(Driver):
    """A custom layer (:mod:`oracle.custom`): built as its plan says with np.random seeded
    (so a constructor's random draws, and a dropout-like forward's, are the same on every
    call), given the case's parameters where probing found them; forward(inputs,
    training=True), backward(dvalues); its gradients read where probing found them."""

    def build(self, ctx: Context, cls: type, case: Case, notes: list[str]) -> Adapter:
        plan = ctx.spec.plan
        obj = custom.make(cls, plan.construction, plan.factory)
        for name, (where, _) in plan.params.items():
            value = case.extra.get("params", {}).get(name)
            if value is not None:
                custom.set_path(obj, where, np.array(value, copy=True))
        return Adapter(obj, notes)

    def run(self, ctx: Context, ad: Adapter, case: Case, a: dict[str, Any], *,
            backward: bool, given: bool) -> Outcome:
        plan = ctx.spec.plan
        out = Outcome(adapter=ad)
        custom.seed_forward()
        ad.forward(_theirs(plan.batch_last, a["inputs"]), training=True)
        out.output = _ours(plan.output_batch_last, ad.read("output"))
        if backward:
            ad.backward(_theirs(plan.output_batch_last, a["dvalues"]))
            if not plan.integer:
                out.grads["dinputs"] = _ours(plan.batch_last, ad.read("dinputs"))
            for _, grad in plan.params.values():
                out.grads[custom.show_path(grad)] = custom.get_path(ad.obj, grad)
        return out

    def function(self, ctx: Context, cls: type, case: Case) -> Any:
        ad = build(ctx, cls, case)
        custom.seed_forward()
        plan = ctx.spec.plan
        ad.forward(_theirs(plan.batch_last, _c(case.inputs)), training=True)
        return _ours(plan.output_batch_last, np.asarray(ad.read("output")))


def _theirs(last: bool, a: Any) -> Any:
    """The samples moved to the last axis for a layer that takes them there (a view: the
    caller's array is what the layer sees, so a mutation still shows)."""
    return np.moveaxis(a, 0, -1) if last and isinstance(a, np.ndarray) else a


def _ours(last: bool, a: Any) -> Any:
    if last and isinstance(a, np.ndarray) and a.ndim >= 1:
        return np.moveaxis(a, -1, 0)
    return a


class CustomLossDriver(LossDriver):
    """A custom loss: forward(y_pred, y_true) and backward(dvalues, y_true) as the book's
    losses, built as its plan says."""

    def build(self, ctx: Context, cls: type, case: Case, notes: list[str]) -> Adapter:
        plan = ctx.spec.plan
        return Adapter(custom.make(cls, plan.construction, plan.factory), notes)

    def run(self, ctx: Context, ad: Adapter, case: Case, a: dict[str, Any], *,
            backward: bool, given: bool) -> Outcome:
        if not ctx.spec.plan.backward_from_output:
            return super().run(ctx, ad, case, a, backward=backward, given=given)
        # an activation and a loss in one class (sigmoid and cross-entropy): its backward
        # takes the activation's outputs, as the book's softmax one does
        out = super().run(ctx, ad, case, a, backward=False, given=given)
        if backward:
            activations = np.array(ad.read("output", returned_ok=False), copy=True)
            ad.backward(activations, a["y"])
            out.grads = {"dinputs": ad.read("dinputs")}
        return out


#: One driver per family (a spec's ``family`` names its driver).
DRIVERS: dict[str, Driver] = {
    "dense": DenseDriver(), "activation": Driver(), "input": InputDriver(),
    "dropout": DropoutDriver(), "loss": LossDriver(), "combined": CombinedDriver(),
    "optimizer": OptimizerDriver(), "loss_base": LossBaseDriver(),
    "accuracy": AccuracyDriver(), "accuracy_base": LossBaseDriver(), "model": ModelDriver(),
    "custom": CustomDriver(), "custom_loss": CustomLossDriver(),
}


def build(ctx: Context, cls: type, case: Case) -> Adapter:
    """An object of ``cls`` for ``case``, built by its family's driver."""
    notes = ctx.adaptations if cls is ctx.cls else []
    return DRIVERS[ctx.spec.family].build(ctx, cls, case, notes)


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
    a = arrays or {
        "inputs": _c(case.inputs), "dvalues": _c(case.dvalues),
        "y": _c(case.y_one_hot if one_hot else case.y),
    }
    ad = adapter if adapter is not None else build(ctx, cls, case)
    return DRIVERS[ctx.spec.family].run(ctx, ad, case, a, backward=backward,
                                        given=arrays is not None)


def functional(ctx: Context, cls: type, case: Case, field_name: str) -> Callable[[np.ndarray], Any]:
    """The forward pass of ``cls`` as a function of one Case field (fresh object per call)."""
    driver = DRIVERS[ctx.spec.family]

    def fn(x: np.ndarray) -> np.ndarray:
        return np.asarray(driver.function(ctx, cls, case.replaced(field_name, x)))

    return fn


def upstream_for(ctx: Context, case: Case) -> np.ndarray:
    """The upstream gradient the backward pass assumes: dvalues, or 1/N for a mean loss."""
    return DRIVERS[ctx.spec.family].upstream(case)


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
