"""Binding by signature: every call the oracle makes, fitted to the target's own method.

The book calls ``layer.forward(inputs, training)``, ``loss.backward(dvalues, y_true)``,
``optimizer.update_params(layer)``.  Learners' methods take the same values under other
names, in other orders of keyword-only parameters, with a training flag called
``train``, ``_training`` or ``is_training`` (or none), or take only what they use (a
combined softmax/cross-entropy ``forward`` that takes only the logits).  A call is
described by its *roles* (the values the book passes, in the book's order) and fitted to
``inspect.signature`` of the target's method:

1. the training flag is the parameter named for training (``train`` in its name, or
   ``eval``/``infer``/``test`` in its name for an inverted flag) or, failing that, the
   first parameter after the data whose default is a bool; it is passed by keyword where
   the parameter allows it, by position otherwise, through ``**kwargs`` as the book's
   ``training=`` when there is no such parameter but ``**kwargs``, and left out when there
   is neither (the chapter-9 form);
2. the data roles fill the positional parameters in order, then keyword-only parameters
   without defaults (by a role's name first, then in order), then ``**kwargs`` under the
   role's name; roles marked optional are dropped when nothing takes them;
3. a required parameter left without a value is a :class:`CallError`: the call cannot be
   made, which says nothing about the values (the component is ``error``, never ``fail``).

The plan for one (method, roles) pair is computed once and cached; how it differs from the
book's own call is said once, as an adaptation.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CallError", "CallPlan", "call", "method_names", "name_methods", "normalise", "plan_call",
    "plan_for",
    "takes_training",
]


class CallError(TypeError):
    """The oracle cannot make a call the book's interface needs on the target's method."""


def normalise(name: str) -> str:
    """A name compared by its letters and digits only: ``learning_Rate`` -> ``learningrate``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


_norm = normalise


# Role -> other names a keyword-only parameter may carry for it (normalised).
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "inputs": ("inputs", "input", "x", "xs", "data", "a", "z", "logits", "ypred", "yhat",
               "predictions", "output", "outputs"),
    "y_true": ("ytrue", "y", "target", "targets", "labels", "label", "truth", "ytarget"),
    "dvalues": ("dvalues", "dvalue", "grad", "gradient", "dout", "doutput", "delta", "dy",
                "upstream", "dz", "da", "outputgradient", "gradoutput"),
    "layer": ("layer", "lyr", "l", "dense", "param", "params", "module"),
}


def _words(name: str) -> list[str]:
    """``is_training`` -> [is, training]; ``evalMode`` -> [eval, mode]."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)]


# Values the oracle has besides a call's roles, and the parameter names that ask for them.
_AVAILABLE_NAMES: dict[str, tuple[str, ...]] = {
    "inputs": ("inputs", "input", "x", "xs", "data", "forwardinputs", "layerinputs", "aprev"),
    "iteration": ("iteration", "iterations", "epoch", "step", "t", "it", "iter", "stepnum"),
}


def _is_flag_name(name: str) -> bool | None:
    """True for a training flag, False for an inverted one (``eval=True`` means not
    training), None when the name says neither (word by word: ``true_values`` is no
    evaluation flag)."""
    words = _words(name)
    if any(w.startswith("train") for w in words):
        return True
    if any(w.startswith(("eval", "infer", "predict")) or w in ("test", "testing")
           for w in words):
        return False
    return None


@dataclass(frozen=True)
class CallPlan:
    """How the roles of one call reach the target's method."""

    positional: tuple[int, ...] = ()  # role indices passed by position, in order
    keywords: tuple[tuple[str, int], ...] = ()  # (their parameter, role index)
    flag: str | None = None  # the training flag's parameter, or None
    flag_position: int | None = None  # its position, when it can only be given by position
    flag_inverted: bool = False
    flag_via_kwargs: bool = False  # passed as training= through **kwargs
    flag_words: tuple[Any, Any] | None = None  # (training, evaluation) values of a str flag
    dropped: tuple[int, ...] = ()  # optional roles nothing takes
    notes: tuple[str, ...] = field(default=())

    def arguments(self, values: Sequence[Any], training: bool | None) -> tuple[list[Any],
                                                                             dict[str, Any]]:
        args = [values[i] for i in self.positional]
        kwargs = {p: values[i] for p, i in self.keywords}
        if training is not None and (self.flag or self.flag_via_kwargs):
            value: Any = (not training) if self.flag_inverted else training
            if self.flag_words is not None:
                value = self.flag_words[0] if training else self.flag_words[1]
            if self.flag_position is not None:
                args.insert(self.flag_position, value)
            else:
                kwargs[self.flag or "training"] = value
        return args, kwargs


def plan_call(
    fn: Callable[..., Any], roles: Sequence[str], *, optional: Sequence[str] = (),
    training: bool = False, what: str = "", available: Sequence[str] = (),
) -> CallPlan:
    """Fit ``roles`` (and a training flag, when ``training``) to ``fn``'s signature.
    ``available``: values the oracle also has (the forward's inputs, for a backward) and
    passes to a required parameter named for one of them (``backward(dvalues, inputs)``);
    their indices follow the roles'."""
    what = what or f"{getattr(fn, '__qualname__', getattr(fn, '__name__', 'the method'))}()"
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or C function: the book's call as it is
        return CallPlan(positional=tuple(range(len(roles))), flag="training" if training
                        else None)
    params = list(sig.parameters.values())
    P = inspect.Parameter
    positional = [p for p in params if p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)]
    var_pos = any(p.kind is P.VAR_POSITIONAL for p in params)
    kw_only = [p for p in params if p.kind is P.KEYWORD_ONLY]
    var_kw = any(p.kind is P.VAR_KEYWORD for p in params)
    notes: list[str] = []

    # 1. the training flag
    flag: inspect.Parameter | None = None
    inverted = False
    # (only where a flag is wanted, and after the data: a loss's true_values is data)
    for p in (positional[len(roles) - len(optional):] + kw_only) if training else []:
        sense = _is_flag_name(p.name)
        if sense is not None and not _names_a_role(p.name, roles):
            flag, inverted = p, not sense
            break
    if flag is None and training:
        rest = positional[len(roles) - len(optional):] + kw_only
        # a bool default, else a parameter compared with 'train' (mode == 'train')
        flag = next((p for p in rest if isinstance(p.default, bool)), None) or next(
            (p for p in rest if (w := _flag_words(fn, p.name, p.default)) is not None
             and "train" in str(w[0]).lower() and _is_flag_name(p.name) is None
             and (isinstance(p.default, str) or p.default is P.empty)), None)
    data_pos = [p for p in positional if p is not flag]
    data_kw = [p for p in kw_only if p is not flag]

    # 2. the data roles
    pos_idx: list[int] = []
    kw: list[tuple[str, int]] = []
    dropped: list[int] = []
    slots = list(data_pos)
    pending: list[int] = []
    for i, _role in enumerate(roles):
        if slots:
            slots.pop(0)
            pos_idx.append(i)
        elif var_pos:
            pos_idx.append(i)
        else:
            pending.append(i)
    free_kw = [p for p in data_kw if p.default is P.empty]
    for i in list(pending):
        names = _ROLE_NAMES.get(roles[i], (_norm(roles[i]),))
        hit = next((p for p in free_kw if _norm(p.name) in names), None)
        if hit is None:
            hit = next((p for p in data_kw if _norm(p.name) in names
                        and all(p.name != k for k, _ in kw)), None)
        if hit is not None:
            kw.append((hit.name, i))
            free_kw = [p for p in free_kw if p is not hit]
            pending.remove(i)
    for i in list(pending):
        if roles[i] in optional:
            continue
        if free_kw:
            p = free_kw.pop(0)
            kw.append((p.name, i))
            pending.remove(i)
        elif var_kw:
            kw.append((roles[i], i))
            pending.remove(i)
    for i in pending:
        if roles[i] in optional:
            dropped.append(i)
            notes.append(f"{what} takes no {roles[i]}: called without it")
        else:
            raise CallError(
                f"cannot call {what} with the book's arguments ({', '.join(roles)}): it "
                f"takes {_describe(sig)}"
            )
    if kw:
        notes.append(f"{what}: " + ", ".join(f"{roles[i]} passed as {p}=" for p, i in kw))

    # 3. what is left must have defaults (or be the flag)
    filled = {slot.name for slot in data_pos[: len(pos_idx)]} | {p for p, _ in kw}
    unfilled = [p for p in data_pos + data_kw if p.name not in filled and p.default is P.empty]
    if flag is None and training and len(unfilled) == 1 and unfilled[0] in data_pos \
            and data_pos.index(unfilled[0]) == len(pos_idx):
        # one required parameter after the data, named for nothing we know: the flag,
        # given by position as the book's forward(inputs, training) gives it
        flag = unfilled.pop()
    for j, extra in enumerate(available):
        names = _AVAILABLE_NAMES.get(extra, (_norm(extra),))
        asks = next((q for q in unfilled if _norm(q.name) in names), None)
        if asks is None:
            continue
        unfilled.remove(asks)
        if asks in data_pos and data_pos.index(asks) == len(pos_idx):
            pos_idx.append(len(roles) + j)
        else:
            kw.append((asks.name, len(roles) + j))
        notes.append(f"{what} takes {asks.name}: given the "
                     + ("forward pass's inputs" if extra == "inputs" else
                        "number of steps done (the book's iterations)"))
    if unfilled:
        raise CallError(
            f"cannot call {what}: parameter(s) {', '.join(p.name for p in unfilled)} get no "
            f"value from the book's call ({', '.join(roles)}{', training' if training else ''})"
        )
    flag_name: str | None = None
    flag_position: int | None = None
    via_kwargs = False
    words: tuple[Any, Any] | None = None
    if training and flag is None and var_kw:
        # **kwargs: the key the method reads (kwargs.get('train')), else the book's training
        key = _kwargs_flag(fn, next(p.name for p in params if p.kind is P.VAR_KEYWORD))
        if key is not None:
            inverted = _is_flag_name(key) is False
            flag_name = key
            notes.append(f"training flag passed as {key}= (read from **kwargs)")
    if training and flag is not None:
        words = _flag_words(fn, flag.name, flag.default)
        if words is not None:
            notes.append(f"training flag {flag.name} takes {words[0]!r} / {words[1]!r}")
    if training and flag is not None:
        flag_name = flag.name
        if flag.kind is P.POSITIONAL_ONLY:
            flag_position = len(pos_idx)
        if flag.name != "training" or inverted:
            notes.append(f"training flag passed as {flag.name}="
                         + (" (inverted: True means evaluation)" if inverted else ""))
    elif training and flag_name is None:
        if var_kw:
            via_kwargs = True
        else:
            notes.append(f"{what} takes no training argument")
    elif not training and flag is not None and flag.default is P.empty:
        raise CallError(f"cannot call {what}: its parameter {flag.name} has no default")
    plan = CallPlan(tuple(pos_idx), tuple(kw), flag_name, flag_position, inverted, via_kwargs,
                    words, tuple(dropped), tuple(notes))
    args, kwargs = plan.arguments([*roles, *available], True if training else None)
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        raise CallError(f"cannot call {what} with the book's arguments ({', '.join(roles)}): "
                        f"{e}; it takes {_describe(sig)}") from None
    return plan


_TREES: dict[Any, ast.AST | None] = {}


def _source_tree(fn: Callable[..., Any]) -> ast.AST | None:
    """The parsed source of a function (read-only: the tree is shared by every caller, one
    parse per code object, since reading source again is most of a small check's time)."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is not None and code in _TREES:
        return _TREES[code]
    try:
        tree: ast.AST | None = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        tree = None
    if code is not None:
        _TREES[code] = tree
    return tree


def _flag_words(fn: Callable[..., Any], name: str, default: Any) -> tuple[Any, Any] | None:
    """A flag compared with strings (``mode == 'train'``): the strings that mean training
    and evaluation.  None for a boolean flag."""
    tree = _source_tree(fn)
    words: list[str] = []
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                if any(isinstance(x, ast.Name) and x.id == name for x in sides):
                    for x in sides:
                        if isinstance(x, ast.Constant) and isinstance(x.value, str):
                            words.append(x.value)
                        elif isinstance(x, (ast.Tuple, ast.List, ast.Set)):
                            words += [e.value for e in x.elts if isinstance(e, ast.Constant)
                                      and isinstance(e.value, str)]
    if isinstance(default, str):
        words.append(default)
    if not words:
        return None
    train = next((w for w in words if "train" in w.lower()), None)
    evaluation = next((w for w in words if "train" not in w.lower()), None)
    if train is None and evaluation is None:
        return None
    return (train or "train", evaluation or "eval")


def _kwargs_flag(fn: Callable[..., Any], kwname: str) -> str | None:
    """The key a method reads from its ``**kwargs`` for a training flag
    (``kwargs.get('train')``, ``kwargs['is_training']``, ``'train' in kwargs``)."""
    tree = _source_tree(fn)
    if tree is None:
        return None
    keys: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == kwname \
                and node.func.attr in ("get", "pop") and node.args \
                and isinstance(node.args[0], ast.Constant):
            keys.append(str(node.args[0].value))
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id == kwname and isinstance(node.slice, ast.Constant):
            keys.append(str(node.slice.value))
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) \
                and any(isinstance(c, ast.Name) and c.id == kwname for c in node.comparators):
            keys.append(str(node.left.value))
    return next((k for k in keys if _is_flag_name(k) is not None), None)


def _names_a_role(name: str, roles: Sequence[str]) -> bool:
    n = _norm(name)
    return any(n in _ROLE_NAMES.get(r, (_norm(r),)) for r in roles)


def _describe(sig: inspect.Signature) -> str:
    return f"({', '.join(str(p) for p in sig.parameters.values())})" if sig.parameters else "()"


_PLANS: dict[tuple[Any, ...], CallPlan] = {}


def plan_for(
    fn: Callable[..., Any], roles: Sequence[str], *, optional: Sequence[str] = (),
    training: bool = False, what: str = "", available: Sequence[str] = (),
) -> CallPlan:
    """:func:`plan_call`, computed once per (function, roles)."""
    key = (getattr(fn, "__func__", fn), tuple(roles), tuple(optional), training,
           tuple(available))
    try:
        plan = _PLANS.get(key)
    except TypeError:  # an unhashable callable
        return plan_call(fn, roles, optional=optional, training=training, what=what,
                         available=available)
    if plan is None:
        plan = _PLANS[key] = plan_call(fn, roles, optional=optional, training=training,
                                       what=what, available=available)
    return plan


def call(
    fn: Callable[..., Any], values: Sequence[Any], roles: Sequence[str], *,
    optional: Sequence[str] = (), training: bool | None = None,
    notes: list[str] | None = None, what: str = "", available: dict[str, Any] | None = None,
) -> Any:
    """Call ``fn`` with ``values`` (one per role, then one per ``available`` value) fitted
    to its signature; the plan's notes go to ``notes`` once."""
    extra = dict(available or {})
    plan = plan_for(fn, roles, optional=optional, training=training is not None, what=what,
                    available=tuple(extra))
    values = [*values, *extra.values()]
    if notes is not None:
        notes.extend(n for n in plan.notes if n not in notes)
    args, kwargs = plan.arguments(values, training)
    return fn(*args, **kwargs)


def takes_training(fn: Callable[..., Any], roles: Sequence[str] = ("inputs",)) -> bool:
    """Can a training flag reach ``fn`` (a parameter for it, or ``**kwargs``)?"""
    try:
        plan = plan_for(fn, roles, training=True)
    except CallError:
        return False
    return bool(plan.flag or plan.flag_via_kwargs)


# --------------------------------------------------------------------------- method names

# Book method -> the target's own method, for classes whose methods are named as nothing
# the oracle knows (``--map Layer_Dense.forward=predict``), per class.
_METHODS: dict[type, dict[str, str]] = {}


def name_methods(cls: type, methods: dict[str, str]) -> None:
    """Record that ``cls`` calls the book's method ``k`` by the name ``methods[k]``."""
    if methods:
        _METHODS.setdefault(cls, {}).update(methods)


def method_names(obj: Any, names: Sequence[str]) -> tuple[str, ...]:
    """``names`` (the book's spelling first) with the name mapped for ``obj``'s class first."""
    for klass in type(obj).__mro__ if not isinstance(obj, type) else obj.__mro__:
        mapped = _METHODS.get(klass, {}).get(names[0])
        if mapped:
            return (mapped, *names)
    return tuple(names)


# --------------------------------------------------------------------------- methods by signature


_BY_CLASS: weakref.WeakKeyDictionary[type, dict[str, Any]] = weakref.WeakKeyDictionary()


def class_cached(obj: Any, key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per class for instances whose own attributes hold nothing callable
    (what they find is then the class's alone)."""
    if isinstance(obj, type) or any(callable(v) for v in getattr(obj, "__dict__", {}).values()):
        return compute()
    try:
        per = _BY_CLASS.setdefault(type(obj), {})
    except TypeError:  # a class that cannot be weakly referenced
        return compute()
    if key not in per:
        per[key] = compute()
    return per[key]


_SIGNATURES: weakref.WeakKeyDictionary[type, inspect.Signature] = weakref.WeakKeyDictionary()


def class_signature(cls: type) -> inspect.Signature:
    """``inspect.signature(cls)``, once per class (constructors are read thousands of times
    in one check); raises as it does."""
    try:
        return _SIGNATURES[cls]
    except (KeyError, TypeError):
        pass
    sig = inspect.signature(cls)
    try:
        _SIGNATURES[cls] = sig
    except TypeError:
        pass
    return sig


def _public_methods(obj: Any) -> dict[str, inspect.Signature]:
    return dict(class_cached(obj, "methods", lambda: _find_public_methods(obj)))


def _find_public_methods(obj: Any) -> dict[str, inspect.Signature]:
    out: dict[str, inspect.Signature] = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            m = getattr(obj, name)
        except Exception:
            continue
        if callable(m) and not isinstance(m, type):
            try:
                sig = inspect.signature(m)
            except (TypeError, ValueError):
                continue
            if isinstance(obj, type) and inspect.isfunction(m) and sig.parameters and \
                    not isinstance(inspect.getattr_static(obj, name, None), staticmethod):
                # a function of a class: its first parameter is self
                sig = sig.replace(parameters=list(sig.parameters.values())[1:])
            out[name] = sig
    return out


def _required(sig: inspect.Signature) -> int:
    P = inspect.Parameter
    return sum(1 for p in sig.parameters.values() if p.default is P.empty
               and p.kind in (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD, P.KEYWORD_ONLY))


def hook_by_name(obj: Any, which: str) -> str | None:
    """An optimizer's pre- or post-update hook named otherwise: the one method taking no
    argument whose name starts with pre/before (post/after), or, for pre, says decay."""
    hits = []
    for name, sig in _public_methods(obj).items():
        if _required(sig):
            continue
        n = _norm(name)
        post = n.startswith(("post", "after")) or "poststep" in n
        pre = n.startswith(("pre", "before")) or ("decay" in n and not post)
        if (which == "pre" and pre) or (which == "post" and post):
            hits.append(name)
    return hits[0] if len(hits) == 1 else None


def update_by_signature(obj: Any, exclude: Sequence[str] = ()) -> str | None:
    """An optimizer's update method named otherwise: its one public method that takes one
    argument (the layer)."""
    hits = [name for name, sig in _public_methods(obj).items()
            if name not in exclude and _required(sig) == 1
            and not _norm(name).startswith(("pre", "post", "get", "set", "load", "save"))]
    return hits[0] if len(hits) == 1 else None


def _self_attributes(fn: Any, node_type: type) -> set[str]:
    """The ``self.<name>`` targets of ``node_type`` statements (Assign, AugAssign) in
    ``fn``'s source."""
    tree = _source_tree(fn)
    out: set[str] = set()
    if tree is None:
        return out
    for node in ast.walk(tree):
        if isinstance(node, node_type):
            targets = node.targets if isinstance(node, ast.Assign) else [
                getattr(node, "target", None)]
            for t in targets:
                for sub in ast.walk(t) if t is not None else ():
                    if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) \
                            and sub.value.id == "self":
                        out.add(sub.attr)
    return out


def reads_of_self(fn: Any) -> set[str]:
    tree = _source_tree(fn)
    if tree is None:
        return set()
    return {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "self"
            and isinstance(n.ctx, ast.Load)}


def accumulator_methods(obj: Any) -> dict[str, str]:
    """A loss's or an accuracy's chapter-19 methods under the names it gives them: the book
    method -> theirs, for ``new_pass``, ``calculate_accumulated``, ``init`` (an accuracy)
    and ``remember_trainable_layers`` (a loss).  Found by name first (``new_pass``, ``reset``;
    ``accumulated``, ``cumulat``; ``trainable``, ``remember``), then by what the method does
    with the sums ``calculate`` adds to (``self.total += ...``): the method taking no argument
    that sets them (to zero) starts a pass, the one that reads them without setting them
    reports it."""
    return dict(class_cached(obj, "accumulators", lambda: _find_accumulator_methods(obj)))


def _find_accumulator_methods(obj: Any) -> dict[str, str]:
    methods = _public_methods(obj)
    out: dict[str, str] = {}
    for book in ("new_pass", "calculate_accumulated", "remember_trainable_layers"):
        if book in methods:
            out[book] = book
    calculate = getattr(obj, "calculate", None)
    sums = _self_attributes(calculate, ast.AugAssign) if callable(calculate) else set()
    free = {n: s for n, s in methods.items() if n not in out.values() and n != "calculate"}
    if "new_pass" not in out:
        hits = [n for n, s in free.items() if not _required(s) and (
            any(w in _norm(n) for w in ("newpass", "reset", "clear", "clean", "newepoch"))
            or (sums and sums <= _self_attributes(getattr(obj, n), ast.Assign)))]
        if len(hits) == 1:
            out["new_pass"] = hits[0]
    if "calculate_accumulated" not in out:
        hits = [n for n, s in free.items() if n != out.get("new_pass") and not _required(s)
                and (any(w in _norm(n) for w in ("accumulated", "cumulat", "epoch"))
                     or (sums and sums <= reads_of_self(getattr(obj, n))
                         and not sums & _self_attributes(getattr(obj, n), ast.Assign)))]
        if len(hits) == 1:
            out["calculate_accumulated"] = hits[0]
    if "init" in methods:
        out["init"] = "init"
    else:  # an accuracy's init(y) as initialize(y), init_precision(y) ...
        hits = [n for n, s in free.items() if _norm(n).startswith("init") and _required(s) == 1]
        if len(hits) == 1:
            out["init"] = hits[0]
    if "remember_trainable_layers" not in out:
        hits = [n for n, s in free.items() if _required(s) == 1
                and any(w in _norm(n + " ".join(s.parameters)) for w in ("trainable",
                                                                          "remember"))]
        if len(hits) == 1:
            out["remember_trainable_layers"] = hits[0]
    return out
