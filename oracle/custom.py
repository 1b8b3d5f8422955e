"""Custom components: any class of a target with ``forward`` and ``backward`` that is not
one of the book's, found, built and probed, and described by a spec record made at run time.

A custom component has no reference: its gradients are judged against finite differences
of its *own* forward, with the same property functions as the book's components
(:mod:`oracle.properties`).  What the registry states for a book component is discovered
here for a custom one:

- **what it is**: a loss (``forward(y_pred, y_true)``, ``backward(dvalues, y_true)``) or a
  layer (``forward(inputs[, training])``, ``backward(dvalues)``);
- **how to build it** (:func:`constructor_plan`): size-like constructor parameters
  (``n_inputs``, ``in_channels``, ``kernel_size``, ``vocab_size`` ...) get small sizes,
  the others their defaults; what cannot be inferred comes from the user
  (:class:`LayerConfig`: ``--layer`` or ``[tool.nnfs-oracle.layers.NAME]``);
- **what it takes** (:func:`probe`): inputs by trial -- ``(N, F)`` with ``F`` read from the
  constructor's sizes and the parameters' shapes, then ``(N, T, F)``, ``(N, C, H, W)``,
  ``(N, H, W, C)``, then integer ids for embeddings (no ``dinputs`` then); a layout where
  the layer is the identity shows nothing and the next one is tried;
- **its parameters**: every array ``X`` whose ``dX`` (``d_X``, ``grad_X``) backward set
  with the same shape, in the layer and in the sub-layers it holds (``inputs``/``dinputs``
  excluded), and dicts of parameters paired with dicts of gradients;
- **its randomness**: a forward that draws from ``np.random`` (dropout-like) is run with
  the global generator seeded before every call, so finite differences see one mask; one
  that stays random even so cannot be differentiated, and the check says why.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from oracle.adapt import BACKWARD_NAMES, FORWARD_NAMES, Adapter, discover
from oracle.binding import accumulator_methods, normalise, takes_training
from oracle.spec import (
    SPECS,
    Case,
    Spec,
    _away,  # Gaussian draws kept 0.1 away from 0
)

__all__ = [
    "CustomError",
    "CustomPlan",
    "LayerConfig",
    "custom_classes",
    "custom_spec",
    "parse_layer_option",
    "plan_for_class",
    "plan_for_object",
]

#: Samples in the probe's batch (the drawn cases use 2..5: a batch of one makes a batch
#: normalization's variance 0, and hides a missing '/ samples').  No size the probe gives
#: a feature, channel or step axis equals it, so the samples' axis is never ambiguous.
PROBE_BATCH = 5
#: Spatial size and sequence length tried for 3-D and 4-D inputs (even, so a 2x2 pooling
#: tiles it; 3x3 and 5x5 kernels fit).
SPATIAL = 6
STEPS = 4
#: Seed of np.random before every construction and forward of a custom component.
SEED = 1234


class CustomError(Exception):
    """A custom component that cannot be built or driven without something from the user."""


# --------------------------------------------------------------------------- user's config


@dataclass
class LayerConfig:
    """What the user says about one custom class, in one place (``--layer`` on the command
    line, ``[tool.nnfs-oracle.layers.NAME]`` in pyproject.toml, ``oracle.certify``)."""

    args: tuple[Any, ...] = ()  # positional constructor arguments
    kwargs: dict[str, Any] = field(default_factory=dict)  # keyword constructor arguments
    input_shape: tuple[int, ...] | None = None  # with the batch dimension first
    input: str | None = None  # "float" | "int"
    params: tuple[str, ...] | None = None  # attribute names of the parameters
    kind: str | None = None  # "layer" | "loss"
    skip: bool = False  # not a component (a helper class): do not check it

    KEYS = ("args", "kwargs", "input_shape", "input", "params", "kind", "skip")

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, what: str = "") -> LayerConfig:
        unknown = [k for k in d if k not in cls.KEYS]
        if unknown:
            raise ValueError(f"{what}unknown key(s) {', '.join(map(repr, unknown))}; the keys "
                             f"are: {', '.join(cls.KEYS)}")
        out = cls()
        if "args" in d:
            a = d["args"]
            out.args = tuple(a) if isinstance(a, (list, tuple)) else (a,)
        if "kwargs" in d:
            if not isinstance(d["kwargs"], dict):
                raise ValueError(f"{what}kwargs must be a table of name = value")
            out.kwargs = dict(d["kwargs"])
        if d.get("input_shape") is not None:
            shape = d["input_shape"]
            if isinstance(shape, str):
                shape = [int(p) for p in shape.lower().replace("x", ",").split(",") if p.strip()]
            if not isinstance(shape, (list, tuple)) or not shape or not all(
                    isinstance(n, int) and n > 0 for n in shape):
                raise ValueError(f"{what}input_shape must be positive integers, batch first "
                                 f"(e.g. [2, 3, 8, 8]), got {d['input_shape']!r}")
            out.input_shape = tuple(shape)
        if d.get("input") is not None:
            if d["input"] not in ("float", "int"):
                raise ValueError(f"{what}input must be 'float' or 'int', got {d['input']!r}")
            out.input = d["input"]
        if d.get("params") is not None:
            p = d["params"]
            out.params = (p,) if isinstance(p, str) else tuple(str(x) for x in p)
        if d.get("kind") is not None:
            if d["kind"] not in ("layer", "loss"):
                raise ValueError(f"{what}kind must be 'layer' or 'loss', got {d['kind']!r}")
            out.kind = d["kind"]
        out.skip = bool(d.get("skip", False))
        return out

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.args:
            d["args"] = list(self.args)
        if self.kwargs:
            d["kwargs"] = dict(self.kwargs)
        for k in ("input_shape", "params"):
            if getattr(self, k) is not None:
                d[k] = list(getattr(self, k))
        for k in ("input", "kind"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.skip:
            d["skip"] = True
        return d


def parse_layer_option(text: str) -> tuple[str, dict[str, Any]]:
    """``'Conv2D: args=(3, 4, 3), input_shape=(2, 3, 8, 8), params=(K, b)'`` -> the class name
    and its config as a dict (bare words are strings).  Also ``Conv2D(3, 4, kernel_size=3)``:
    a constructor call."""
    text = text.strip()
    name, sep, rest = text.partition(":")
    if not sep and "(" in text:  # Conv2D(3, 4, kernel_size=3): the call itself
        head = text[: text.index("(")].strip()
        call = _parse_call(text, text)
        return head, {"args": call[0], "kwargs": call[1]} if call[1] else {"args": call[0]}
    name = name.strip()
    if not name.isidentifier():
        raise ValueError(f"--layer {text!r}: start with the class name, then ':' and "
                         "key=value items (e.g. 'Conv2D: args=(3, 4, 3), "
                         "input_shape=(2, 3, 8, 8)')")
    if "(" in name:
        raise ValueError(f"--layer {text!r}: the class name comes before ':'")
    args, kwargs = _parse_call(f"f({rest})", text) if rest.strip() else ((), {})
    if args:
        raise ValueError(f"--layer {text!r}: after ':' give key=value items")
    return name, kwargs


def _parse_call(src: str, text: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    try:
        node = ast.parse(src.strip(), mode="eval").body
    except SyntaxError as e:
        raise ValueError(f"--layer {text!r}: not readable ({e.msg})") from None
    if not isinstance(node, ast.Call):
        raise ValueError(f"--layer {text!r}: expected Name: key=value, ...")

    def value(n: ast.AST) -> Any:
        if isinstance(n, ast.Name):  # a bare word: a string
            return n.id
        if isinstance(n, (ast.Tuple, ast.List)):
            return tuple(value(e) for e in n.elts)
        if isinstance(n, ast.Dict):
            return {value(k): value(v) for k, v in zip(n.keys, n.values, strict=True)
                    if k is not None}
        try:
            return ast.literal_eval(n)
        except ValueError:
            raise ValueError(f"--layer {text!r}: {ast.unparse(n)!r} is not a plain "
                             "value") from None

    args = tuple(value(a) for a in node.args)
    kwargs = {k.arg: value(k.value) for k in node.keywords if k.arg is not None}
    return args, kwargs


# --------------------------------------------------------------------------- discovery


def could_be_custom(name: str) -> bool:
    """Can ``name`` (not a book name) name a class of the target's own?  Not when it is so
    close to a book name (a case, a letter, a tail: 'Layer_Dens', 'relu') that it is
    likely a slip for it."""
    import difflib

    books = list(SPECS)
    return (name.isidentifier() and name not in books
            and not difflib.get_close_matches(name, books, n=1, cutoff=0.9)
            and name.lower() not in {b.lower() for b in books}
            and not any(b.lower().endswith("_" + name.lower()) for b in books))



def _has(cls: type, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if callable(getattr(cls, n, None))), None)


def _is_placeholder(fn: Any) -> bool:
    """A method whose body does nothing but pass, ``...``, return or raise
    NotImplementedError: an abstract base's."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not defs:
        return False
    body = [s for s in defs[0].body if not (isinstance(s, ast.Expr)
                                            and isinstance(s.value, ast.Constant))]
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Return) and s.value is None)
               or (isinstance(s, ast.Raise)) for s in body)


def custom_classes(namespace: dict[str, Any], mapping: dict[str, str] | None = None,
                   found: dict[str, Any] | None = None,
                   configs: dict[str, LayerConfig] | None = None) -> dict[str, type]:
    """Every class of the target with forward and backward (any of their spellings) that
    plays no book component: the custom components, by their own names, in definition order.

    Left out: classes defined in an installed library (imported, not written), abstract
    bases (abstract methods, or a forward or backward that only passes or raises), bases of
    the book's classes, and classes the user's config says to skip."""
    from oracle import frames

    if found is None:
        found = discover(namespace, mapping or {})
    book_classes = {f.cls for f in found.values() if getattr(f, "cls", None) is not None}
    configs = configs or {}
    out: dict[str, type] = {}
    for name, cls in namespace.items():
        if not isinstance(cls, type) or name.startswith("__") or cls in book_classes:
            continue
        if name in SPECS or name != cls.__name__ and cls.__name__ in out:
            continue  # a book name held by another class, or an alias of one already taken
        cfg = configs.get(name)
        if cfg is not None and cfg.skip:
            continue
        fwd, bwd = _has(cls, FORWARD_NAMES), _has(cls, BACKWARD_NAMES)
        if fwd is None or bwd is None:
            continue
        try:
            source_file = inspect.getsourcefile(cls) or ""
        except (TypeError, OSError):
            source_file = ""
        if source_file and not source_file.startswith("<") and frames.is_library(source_file):
            continue
        if inspect.isabstract(cls) or _is_placeholder(getattr(cls, fwd)) \
                or _is_placeholder(getattr(cls, bwd)):
            continue
        if any(issubclass(b, cls) for b in book_classes if isinstance(b, type)) and cfg is None:
            continue  # a base a book class derives from (its own checks cover it)
        out[name] = cls
    return out


# --------------------------------------------------------------------------- construction

# Words of size-like constructor parameters and the small size each gets.  The first
# rule whose words all appear in the parameter's normalised name wins.
_SIZE_RULES: tuple[tuple[tuple[str, ...], int], ...] = (
    (("kernel",), 3), (("filtersize",), 3), (("filtershape",), 3), (("ksize",), 3),
    (("pool",), 2), (("window",), 2), (("stride",), 1), (("pad",), 0), (("dilation",), 1),
    (("vocab",), 7), (("numembeddings",), 7), (("nembeddings",), 7), (("ntokens",), 7),
    (("numclasses",), 3), (("nclasses",), 3), (("classes",), 3),
    (("seq",), STEPS), (("timestep",), STEPS), (("steps",), STEPS),
    (("inchannel",), 3), (("inputchannel",), 3), (("nchannel",), 3), (("channelsin",), 3),
    (("outchannel",), 4), (("outputchannel",), 4), (("channelsout",), 4),
    (("filters",), 4), (("nfilter",), 4), (("numfilter",), 4), (("kernels",), 4),
    (("hidden",), 4), (("units",), 4), (("neuron",), 4), (("embed",), 4), (("dim",), 4),
    (("out",), 4), (("in",), 3), (("feature",), 3), (("size",), 3), (("num",), 3),
    (("channel",), 3), (("heads",), 1), (("depth",), 3), (("width",), SPATIAL),
    (("height",), SPATIAL), (("len",), STEPS),
)
_SIZE_EXCLUDES = ("rate", "lr", "eps", "epsilon", "momentum", "alpha", "beta", "gamma",
                  "lambda", "decay", "delta", "scale", "prob", "slope", "smoothing", "std",
                  "init", "seed", "train", "reg", "weight", "bias", "activation", "mode",
                  "shape", "dropout", "temperature", "clip", "threshold", "margin", "name")


def size_for(name: str) -> int | None:
    """A small size for a size-like parameter name, or None (``d_model``, ``d_k``: the
    dimensions of the notation of the field)."""
    n = normalise(name)
    if name.lower().startswith("d_") and n[1:].isalpha() and n not in ("dropout",):
        return 4
    if any(w in n for w in _SIZE_EXCLUDES) and not any(
            w in n for w in ("kernel", "filter", "channel", "neuron", "unit", "hidden")):
        return None
    for words, size in _SIZE_RULES:
        if all(w in n for w in words):
            return size
    return None


@dataclass
class Construction:
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    sizes: dict[str, int]  # what the sizes went to, by parameter name
    said: str  # how it was built, for the report


def _shape_like(name: str) -> bool:
    n = normalise(name)
    return "shape" in n and not any(w in n for w in ("input", "output"))


_PAIRED = ("kernel", "pool", "filter", "window", "stride")


def constructor_plan(cls: type, config: LayerConfig | None = None, *,
                     rank: int = 2, pairs: bool = False, even: bool = False) -> Construction:
    """How to build ``cls``: the user's arguments, then small sizes for size-like required
    parameters (a ``kernel_shape`` gets a tuple of ``rank`` sizes: ``(3, 3)``, then
    ``(3, 3, 3)``); other required parameters need the user (:class:`CustomError`)."""
    config = config or LayerConfig()
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return Construction(config.args, dict(config.kwargs), {}, f"{cls.__name__}()")
    P = inspect.Parameter
    params = [p for p in sig.parameters.values() if p.kind not in (P.VAR_POSITIONAL,
                                                                    P.VAR_KEYWORD)]
    args = list(config.args)
    kwargs = dict(config.kwargs)
    sizes: dict[str, int] = {}
    given = {p.name for p in params[: len(args)]} | set(kwargs)
    missing: list[str] = []
    for p in params[len(args):]:
        if p.name in given:
            continue
        size = size_for(p.name)
        if p.default is P.empty and _shape_like(p.name):
            k = size_for(normalise(p.name).replace("shape", "size")) or 3
            value: Any = (k, k) if rank == 2 else (3, k, k)
            sizes[p.name] = k
            if p.kind is P.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[p.name] = value
            continue
        if p.default is not P.empty:
            if size is not None and isinstance(p.default, (int, np.integer)) \
                    and not isinstance(p.default, bool):
                sizes[p.name] = int(p.default)
            continue
        if size is None:
            missing.append(p.name)
            continue
        if even and size == 3 and not any(w in normalise(p.name) for w in _PAIRED):
            size = 4  # channels a group count divides, heads a model size divides
        sizes[p.name] = size
        if pairs and any(w in normalise(p.name) for w in _PAIRED):
            value = (size, size)  # a size used as a pair: pool_height, pool_width = pool_size
            if p.kind is P.POSITIONAL_ONLY:
                args.append(value)
            else:
                kwargs[p.name] = value
            continue
        if p.kind is P.POSITIONAL_ONLY:
            args.append(size)
        else:
            kwargs[p.name] = size
    if missing:
        example = ", ".join(f"{m}=..." for m in missing)
        raise CustomError(
            f"{cls.__name__}({', '.join(p.name for p in params)}): no value can be inferred for "
            f"{', '.join(missing)}; give them with --layer '{cls.__name__}: kwargs={{"
            + ", ".join(f'"{m}": ...' for m in missing) + "}' or in pyproject.toml "
            f"[tool.nnfs-oracle.layers.{cls.__name__}] kwargs = {{{example}}}")
    shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return Construction(tuple(args), kwargs, sizes, f"{cls.__name__}({', '.join(shown)})")


# --------------------------------------------------------------------------- the plan


Path = tuple[Any, ...]  # attribute names (and dict keys) from the object to a value


def get_path(obj: Any, path: Path) -> Any:
    for p in path:
        obj = obj[p] if isinstance(obj, dict) else getattr(obj, p)
    return obj


def set_path(obj: Any, path: Path, value: Any) -> None:
    holder = get_path(obj, path[:-1])
    if isinstance(holder, dict):
        holder[path[-1]] = value
    else:
        setattr(holder, path[-1], value)


def show_path(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p!r}]" if not isinstance(p, str) or not p.isidentifier() else (
            f".{p}" if out else p)
    return out


@dataclass
class CustomPlan:
    """What probing learnt about one custom class: how to build it, what it takes and gives,
    where its parameters and their gradients are."""

    name: str
    cls: type
    kind: str  # "layer" | "loss"
    construction: Construction
    input_shape: tuple[int, ...]  # the probe's, batch first
    output_shape: tuple[int, ...]
    integer: bool = False  # integer ids (an embedding): no dinputs
    vocab: int = 0  # ids are drawn from [0, vocab)
    params: dict[str, tuple[Path, Path]] = field(default_factory=dict)  # name -> (X, dX)
    param_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    random: bool = False  # forward draws from np.random: seeded before every call
    uncontrolled: str = ""  # why finite differences cannot hold its randomness fixed
    labels: str = ""  # a loss's y_true: "sparse" | "one_hot" | "real"
    real_predictions: bool = True  # a loss differentiated at real values (else probabilities)
    training: bool = False  # forward takes a training flag (given True)
    layout: str = ""  # how the inputs are laid out, in words
    output_batch_last: bool = False  # and gives them back there (dvalues go there too)
    batch_last: bool = False  # the layer takes the samples on its last axis: the driver
    #              moves them there (the cases keep them first, as everywhere else)
    factory: Callable[[], Any] | None = None  # a live object's copy (oracle.certify)
    backward_from_output: bool = False  # an activation and a loss in one class: backward
    #              takes the activation's outputs (the book's softmax/cross-entropy form)
    given: Case | None = None  # the inputs (and parameters) the user gave: the typical case
    variants: list[CustomPlan] = field(default_factory=list)  # built with other options
    notes: list[str] = field(default_factory=list)

    @property
    def per_sample(self) -> tuple[int, ...]:
        return self.input_shape[1:]

    @property
    def grads(self) -> dict[str, str]:
        """Gradient attribute (as shown) -> the case field it differentiates."""
        out = {} if self.integer else {"dinputs": "inputs"}
        out.update({show_path(g): f"params.{name}" for name, (_, g) in self.params.items()})
        return out

    def describe(self) -> str:
        """One line: how the component is driven."""
        what = "loss" if self.kind == "loss" else "layer"
        shape = "x".join(map(str, self.input_shape))
        inp = f"integer ids {shape} in [0, {self.vocab})" if self.integer else \
            f"inputs {shape}" + (f" ({self.layout})" if self.layout else "")
        if self.kind == "loss":
            values = "real values" if self.real_predictions else "probabilities"
            inp = f"predictions {shape} ({values}), {self.labels.replace('_', '-')} labels"
        params = ", ".join(f"{show_path(x)}/{show_path(d)}" for x, d in self.params.values())
        extra = [f"built as {self.construction.said}", inp]
        if self.kind != "loss":
            extra.append("output " + "x".join(map(str, self.output_shape)))
        extra.append(f"parameters {params}" if params else "no parameters")
        if self.training:
            extra.append("forward(training=True)")
        if self.random:
            extra.append("random: np.random seeded before every call")
        if self.variants:
            extra.append("also built as " + ", ".join(v.construction.said
                                                       for v in self.variants))
        return f"custom {what}: " + "; ".join(extra)


def make(cls: type, construction: Construction, factory: Callable[[], Any] | None) -> Any:
    """A fresh object, np.random seeded first (the constructor's draws are the same each
    time), made ready as the book's Model makes a loss: its accumulators (and those of the
    losses it holds) started, no trainable layers remembered."""
    np.random.seed(SEED)
    obj = factory() if factory is not None else cls(*construction.args, **construction.kwargs)
    for part in [obj, *getattr(obj, "__dict__", {}).values()]:
        if callable(getattr(part, "calculate", None)):
            _ready(part)
    return obj


def _ready(loss: Any) -> None:
    try:
        names = accumulator_methods(loss)
    except Exception:
        return
    for book, args in (("remember_trainable_layers", ([],)), ("new_pass", ())):
        if book in names:
            try:
                getattr(loss, names[book])(*args)
            except Exception:  # the checks that need it will say so
                pass


def seed_forward() -> None:
    """np.random seeded before a forward: a dropout-like layer draws the same mask."""
    np.random.seed(SEED + 1)



class _Probe:
    """One attempt: build, forward on ``x`` (training where there is a flag), backward."""

    def __init__(self, cls: type, construction: Construction,
                 factory: Callable[[], Any] | None) -> None:
        self.cls, self.construction, self.factory = cls, construction, factory

    def layer(self, x: np.ndarray) -> tuple[Adapter, np.ndarray]:
        obj = make(self.cls, self.construction, self.factory)
        ad = Adapter(obj, [])
        np.random.seed(SEED + 1)
        ad.forward(x.copy(), training=True)
        out = np.asarray(ad.read("output"))
        if out.dtype.kind not in "fc" or out.ndim == 0:
            raise CustomError(f"output of shape {out.shape} and dtype {out.dtype}")
        ad.backward(_normal(out.shape, 7))
        return ad, out


def _normal(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Gaussian values away from 0, where activations have kinks."""
    return _away(np.random.default_rng(seed), shape)


def _candidates(construction: Construction, shapes: list[tuple[int, ...]]
                ) -> Iterator[tuple[tuple[int, ...], str, bool]]:
    """Input shapes to try, each with its layout in words and whether the samples are on
    the last axis (a layer written for (height, width, channels, samples))."""
    sizes = [v for k, v in construction.sizes.items()
             if any(w in normalise(k) for w in ("in", "channel", "feature", "size", "dim",
                                                "embed", "hidden"))]
    dims: list[int] = []
    for s in shapes:  # the parameters' dimensions: a Dense-like (F, H) weight ...
        dims.extend(s)
    feats = list(dict.fromkeys([*sizes, *dims, 3, 4]))
    feats = [f for f in feats if 0 < f <= 16 and f not in (PROBE_BATCH, SPATIAL)][:6]
    n = PROBE_BATCH
    for f in feats:
        yield (n, f), "(samples, features)", False
    for f in feats:
        yield (n, STEPS, f), "(samples, steps, features)", False
    for f in feats:
        yield (n, f, 2 * STEPS), "(samples, channels, length)", False
    for f in feats:
        yield (n, f, SPATIAL, SPATIAL), "(samples, channels, height, width)", False
    for f in feats:
        yield (n, SPATIAL, SPATIAL, f), "(samples, height, width, channels)", False
    for f in feats:
        yield (SPATIAL, SPATIAL, f, n), "(height, width, channels, samples)", True
    for f in feats:
        yield (f, n), "(features, samples)", True


def _ndarrays(obj: Any, depth: int = 2, prefix: Path = ()) -> dict[Path, np.ndarray]:
    """Arrays an object holds: its attributes, dicts of arrays, and (``depth`` deep) the
    attributes of objects and lists of objects it holds (sub-layers)."""
    out: dict[Path, np.ndarray] = {}
    d = getattr(obj, "__dict__", None)
    if not isinstance(d, dict):
        return out
    for k, v in d.items():
        if isinstance(v, np.ndarray):
            out[prefix + (k,)] = v
        elif isinstance(v, dict):
            for kk, vv in v.items():
                if isinstance(vv, np.ndarray) and isinstance(kk, (str, int)):
                    out[prefix + (k, kk)] = vv
        elif depth > 0 and isinstance(v, (list, tuple)):
            for i, item in enumerate(v[:8]):
                if hasattr(item, "__dict__") and not isinstance(item, type):
                    out.update(_ndarrays(item, depth - 1, prefix + (k, i)))
        elif depth > 0 and hasattr(v, "__dict__") and not isinstance(v, (type, np.ndarray)) \
                and not callable(v) and type(v).__module__ not in ("builtins",):
            out.update(_ndarrays(v, depth - 1, prefix + (k,)))
    return out


_NOT_PARAMS = {"inputs", "input", "x", "output", "outputs", "out", "values", "dvalues"}


def _grad_names(name: str) -> tuple[str, ...]:
    cap = name[:1].upper() + name[1:]
    return (f"d{name}", f"d_{name}", f"grad_{name}", f"d{cap}", f"{name}_grad", f"grad{cap}",
            f"{name}_gradient", f"d{name.lower()}")


def find_parameters(obj: Any, config: LayerConfig | None = None
                    ) -> dict[str, tuple[Path, Path]]:
    """Pairs ``X``/``dX`` of equal shapes after a backward (in sub-layers too): the
    parameters and where their gradients are.  ``config.params`` names them instead."""
    arrays = _ndarrays(obj)
    out: dict[str, tuple[Path, Path]] = {}
    wanted = set(config.params) if config is not None and config.params else None
    for path, value in arrays.items():
        last = path[-1]
        if not isinstance(last, str) or last in _NOT_PARAMS or last.startswith("d") and \
                any(path[:-1] + (last[1:],) == p or path[:-1] + (last[2:],) == p
                    for p in arrays if p != path):
            continue
        name = show_path(path)
        if wanted is not None and name not in wanted and last not in wanted:
            continue
        for g in _grad_names(last):
            gp = path[:-1] + (g,)
            if gp in arrays and np.shape(arrays[gp]) == np.shape(value) and gp != path:
                out[name] = (path, gp)
                break
    # dicts of parameters beside dicts of gradients: self.params['W'] / self.grads['W']
    by_holder: dict[Path, dict[Any, np.ndarray]] = {}
    for path, value in arrays.items():
        if len(path) >= 2 and isinstance(getattr(obj, str(path[0]), None), dict):
            by_holder.setdefault(path[:-1], {})[path[-1]] = value
    for holder, items in by_holder.items():
        hname = normalise(str(holder[-1]))
        if "grad" in hname or hname.startswith("d"):
            continue
        for other, gitems in by_holder.items():
            oname = normalise(str(other[-1]))
            if other == holder or not ("grad" in oname or oname.startswith("d")):
                continue
            for key, value in items.items():
                for gkey in (key, *(_grad_names(key) if isinstance(key, str) else ())):
                    if gkey in gitems and np.shape(gitems[gkey]) == np.shape(value):
                        name = show_path(holder + (key,))
                        if wanted is None or name in wanted or key in wanted:
                            out.setdefault(name, (holder + (key,), other + (gkey,)))
                        break
    if wanted is not None:
        missing = [w for w in wanted if w not in out and not any(
            p[0][-1] == w for p in out.values())]
        if missing:
            raise CustomError(
                f"parameter(s) {', '.join(missing)} named in the config have no gradient of the "
                f"same shape after backward (looked for d{missing[0]}, d_{missing[0]}, "
                f"grad_{missing[0]} ...)")
    return out


def _kind(cls: type, config: LayerConfig | None) -> str:
    if config is not None and config.kind:
        return config.kind
    fwd = getattr(cls, _has(cls, FORWARD_NAMES) or "forward")
    bwd = getattr(cls, _has(cls, BACKWARD_NAMES) or "backward")

    def required(fn: Any) -> list[str]:
        try:
            ps = list(inspect.signature(fn).parameters.values())
        except (TypeError, ValueError):
            return []
        if ps and ps[0].name in ("self", "cls"):
            ps = ps[1:]
        return [p.name for p in ps if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    f, b = required(fwd), required(bwd)
    said = normalise(cls.__name__)
    if len(f) >= 2 and len(b) >= 2 or (len(f) >= 2 and "loss" in said):
        return "loss"
    return "layer"


def plan_for_class(name: str, cls: type, config: LayerConfig | None = None,
                   factory: Callable[[], Any] | None = None) -> CustomPlan:
    """Probe ``cls`` (see the module's docstring); :class:`CustomError` says what to give
    when it cannot be driven."""
    config = config or LayerConfig()
    construction = constructor_plan(cls, config) if factory is None else Construction(
        (), {}, {}, "a copy of the given object")
    kind = _kind(cls, config)
    state = np.random.get_state()
    try:
        if kind == "loss":
            return _probe_loss(name, cls, config, construction, factory)
        try:
            plan = _probe_layer(name, cls, config, construction, factory)
            if factory is None:
                plan.variants = _option_variants(plan, cls, config)
            return plan
        except CustomError:
            if factory is not None:
                raise
            seen = {construction.said}
            # sizes as pairs (a pool_size unpacked into height and width), then a
            # kernel_shape of (channels, height, width)
            for other in (constructor_plan(cls, config, pairs=True),
                          constructor_plan(cls, config, rank=3),
                          constructor_plan(cls, config, even=True)):
                if other.said in seen:
                    continue
                seen.add(other.said)
                try:
                    return _probe_layer(name, cls, config, other, factory)
                except CustomError:
                    pass
            raise
    finally:
        np.random.set_state(state)


#: Options whose other values open other branches of a layer's code (a convolution's
#: stride and padding, overlapping pooling windows): each is also tried at these values
#: (those its default is not).
OPTION_VALUES = {"stride": (1, 2), "strides": (1, 2), "padding": (1,), "pad": (1,),
                 "dilation": (2,)}


def _option_variants(plan: CustomPlan, cls: type, config: LayerConfig) -> list[CustomPlan]:
    """The layer built again with one option changed (stride 2, padding 1 ...) and probed
    at the plan's own layout: the paths its defaults never take are checked too.  A
    variant that does not run is left out (an option the layer does not really support is
    no finding)."""
    if plan.batch_last:
        return []
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return []
    out: list[CustomPlan] = []
    tries = [(p, v) for p in params.values() for v in OPTION_VALUES.get(normalise(p.name), ())
             if p.name not in plan.construction.kwargs and not isinstance(p.default, bool)
             and (p.default is None or isinstance(p.default, int)) and p.default != v]
    for p, value in tries:
        kwargs = {**plan.construction.kwargs, p.name: value}
        said = plan.construction.said[:-1] + (", " if plan.construction.said[-2] != "(" else "") \
            + f"{p.name}={value})"
        other = Construction(plan.construction.args, kwargs, plan.construction.sizes, said)
        spatial = tuple(8 if i >= 1 and len(plan.input_shape) >= 3 and d == SPATIAL else d
                        for i, d in enumerate(plan.input_shape))  # room for a stride of 2
        try:
            variant = _probe_layer(plan.name, cls, LayerConfig(
                input_shape=spatial, input="int" if plan.integer else "float",
                params=config.params), other, None)
        except CustomError:
            continue
        if variant.params.keys() == plan.params.keys() and not variant.uncontrolled:
            variant.layout = plan.layout
            variant.batch_last, variant.output_batch_last = plan.batch_last, \
                plan.output_batch_last
            out.append(variant)
    return out


def _probe_layer(name: str, cls: type, config: LayerConfig, construction: Construction,
                 factory: Callable[[], Any] | None) -> CustomPlan:
    """Inputs by trial (see the module's docstring).  A layout is *clean* when forward and
    backward run, the output keeps the samples on their axis and dinputs has the inputs'
    shape; the first clean one is taken, else one where only the shapes came back wrong
    (where a shape bug shows), else one where the layer is the identity."""
    probe = _Probe(cls, construction, factory)
    try:
        obj = make(cls, construction, factory)
    except Exception as e:
        raise CustomError(f"{construction.said} raised {type(e).__name__}: {e}; give the "
                          f"constructor's arguments with --layer '{name}: args=(...)' or "
                          f"kwargs={{...}}") from None
    shapes = [np.shape(v) for v in _ndarrays(obj).values()]
    tried: list[str] = []
    errors: list[str] = []
    identity: CustomPlan | None = None  # ran as the identity (a Flatten of 2-D inputs)
    misshapen: CustomPlan | None = None  # ran, but a shape came back wrong
    trials: list[tuple[tuple[int, ...], str, bool, bool]] = []
    if config.input_shape is not None:
        trials.append((config.input_shape, "as configured", config.input == "int", False))
    else:
        if config.input != "int":
            trials.extend((s, lay, False, last)
                          for s, lay, last in _candidates(construction, shapes))
        if config.input != "float":
            vocab = _vocab(construction, shapes)
            trials.extend([((PROBE_BATCH, STEPS), "token ids (samples, steps)", True, False),
                           ((PROBE_BATCH,), "token ids (samples,)", True, False)]
                          if vocab else [])
    vocab = _vocab(construction, shapes) or 5
    for shape, layout, integer, last in trials:
        x = (np.random.default_rng(3).integers(0, vocab, size=shape) if integer
             else _normal(shape, 3))
        tried.append("x".join(map(str, shape)) + (" ids" if integer else ""))
        shape_off = False
        try:
            ad, out = probe.layer(x)
            params = find_parameters(ad.obj, config)
            if not integer:
                d = np.asarray(ad.read("dinputs"))
                shape_off = d.shape != x.shape
            elif not params:
                raise CustomError("no parameter gradient after backward")
        except Exception as e:
            errors.append(f"{'x'.join(map(str, shape))}: {type(e).__name__}: {e}"[:160])
            continue
        n = shape[-1] if last else shape[0]
        # the output's samples: on the inputs' axis, or first (a Flatten of (H, W, C, N)
        # inputs that gives (N, H*W*C))
        out_last = last and out.shape[-1] == n
        shape_off = shape_off or (out.shape[-1] if out_last else out.shape[0]) != n
        first = (n, *shape[:-1]) if last else tuple(shape)
        out_first = (out.shape[-1], *out.shape[:-1]) if out_last else tuple(out.shape)
        plan = CustomPlan(name, cls, "layer", construction, first, out_first,
                          integer=integer, vocab=vocab if integer else 0, params=params,
                          param_shapes={k: tuple(np.shape(get_path(ad.obj, p[0])))
                                        for k, p in params.items()},
                          layout=layout, factory=factory, batch_last=last,
                          output_batch_last=out_last)
        plan.training = _takes_flag(ad.obj)
        if shape_off:  # where the bug shows, if no layout runs cleanly
            misshapen = misshapen or plan
            continue
        if (not integer and out.shape == x.shape and np.array_equal(out, x) and not params
                and config.input_shape is None):
            identity = identity or plan
            continue  # the identity here (a Flatten of 2-D inputs) shows nothing: go on
        _randomness(plan, probe, x)
        return plan
    fallback = misshapen if misshapen is not None else identity
    if fallback is not None:
        x = _normal(fallback.input_shape, 3)
        _randomness(fallback, probe, np.moveaxis(x, 0, -1) if fallback.batch_last else x)
        return fallback
    raise CustomError(
        f"no input worked for {construction.said} (tried {', '.join(tried[:10])}"
        f"{' ...' if len(tried) > 10 else ''}; first error: {errors[0] if errors else '-'}); "
        f"give the input shape with --layer '{name}: input_shape=(N, ...)' (batch first)"
        + (", and input=int for token ids" if not any("ids" in t for t in tried) else ""))


def _vocab(construction: Construction, shapes: list[tuple[int, ...]]) -> int:
    for k, v in construction.sizes.items():
        n = normalise(k)
        if any(w in n for w in ("vocab", "embeddings", "tokens", "numwords", "nwords")):
            return v
    two_d = [s for s in shapes if len(s) == 2]
    return int(two_d[0][0]) if two_d else 0


def _takes_flag(obj: Any) -> bool:
    fwd = _has(type(obj), FORWARD_NAMES)
    return fwd is not None and takes_training(getattr(obj, fwd))


def _randomness(plan: CustomPlan, probe: _Probe, x: np.ndarray) -> None:
    """Does forward draw from np.random (held fixed by seeding), or stay random even so?"""
    def out(seed: int | None) -> np.ndarray:
        obj = make(plan.cls, plan.construction, plan.factory)
        ad = Adapter(obj, [])
        if seed is not None:
            np.random.seed(seed)
        ad.forward(x.copy(), training=True)
        return np.array(ad.read("output"), dtype=np.float64, copy=True)

    try:
        a, b = out(SEED + 1), out(SEED + 1)
        if not np.array_equal(a, b, equal_nan=True):
            plan.uncontrolled = ("forward() gives other values on every call even with "
                                 "np.random seeded: randomness the checks cannot hold fixed "
                                 "(np.random.default_rng() without a seed, random, os.urandom)")
            return
        c = out(SEED + 2)
        plan.random = not np.array_equal(a, c, equal_nan=True)
    except Exception:  # the checks will say what fails
        pass


def _probe_loss(name: str, cls: type, config: LayerConfig, construction: Construction,
                factory: Callable[[], Any] | None) -> CustomPlan:
    n, k = 4, 3  # four samples, three classes
    rng = np.random.default_rng(5)
    sparse = np.array([0, 2, 1, 2][:n])
    one_hot = np.eye(k)[sparse]
    z = rng.normal(size=(n, k))
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    real = rng.normal(size=(n, k)) * 2.0
    errors: list[str] = []
    for labels, y in (("one_hot", one_hot), ("sparse", sparse), ("real", rng.normal(size=(n, k)))):
        for real_pred, p in ((True, real), (False, probs * 0.9 + 0.1 / k)):
            try:
                obj = make(cls, construction, factory)
                ad = Adapter(obj, [])
                ret = ad.forward(p.copy(), y.copy())
                if ret is None:
                    ret = ad.read("output", returned_ok=False)
                ret = np.asarray(ret, dtype=np.float64)
                if not np.all(np.isfinite(ret)) or ret.ndim > 1 or (ret.ndim == 1
                                                                     and ret.shape != (n,)):
                    raise CustomError(f"forward gave {ret.shape} values"
                                      + ("" if np.all(np.isfinite(ret)) else ", not finite"))
                ad.backward(p.copy(), y.copy())
                d = np.asarray(ad.read("dinputs"))
                if d.shape != p.shape:
                    raise CustomError(f"dinputs of shape {d.shape} for predictions {p.shape}")
                if real_pred and _flat_outside(cls, construction, factory, p, y, ret):
                    raise CustomError("the loss clips its predictions to (0, 1)")
            except Exception as e:
                errors.append(f"{labels}: {type(e).__name__}: {e}"[:160])
                continue
            plan = CustomPlan(name, cls, "loss", construction, p.shape, tuple(ret.shape),
                              labels=labels, real_predictions=real_pred, factory=factory,
                              params=find_parameters(ad.obj, config))
            plan.backward_from_output = _takes_activations(cls, construction, factory, p, y)
            plan.param_shapes = {kk: tuple(np.shape(get_path(ad.obj, v[0])))
                                 for kk, v in plan.params.items()}
            return plan
    raise CustomError(
        f"no predictions and labels worked for {construction.said} as a loss "
        f"(forward(y_pred, y_true), backward(dvalues, y_true)); first error: "
        f"{errors[0] if errors else '-'}; say kind=layer with --layer '{name}: kind=layer' if "
        "it is not a loss")


def _takes_activations(cls: type, construction: Construction,
                       factory: Callable[[], Any] | None, p: np.ndarray, y: np.ndarray) -> bool:
    """Is this an activation and a loss in one class whose backward takes the activation's
    outputs (``self.output`` after forward, shaped like the inputs), as the book's
    softmax/cross-entropy does?  Decided by which of the two gives the derivative of the mean
    loss with respect to the inputs, by finite differences at the probe's point."""
    from oracle import numerics as nm

    def run(q: np.ndarray, back: np.ndarray | None = None) -> tuple[float, Any, Any]:
        ad = Adapter(make(cls, construction, factory), [])
        ret = ad.forward(q.copy(), y.copy())
        if ret is None:
            ret = ad.read("output", returned_ok=False)
        act = getattr(ad.obj, "output", None)
        d = None
        if back is not None:
            ad.backward(back.copy(), y.copy())
            d = np.asarray(ad.read("dinputs"), dtype=np.float64)
        return float(np.mean(np.asarray(ret, dtype=np.float64))), act, d

    try:
        _, act, from_inputs = run(p, p)
        if not (isinstance(act, np.ndarray) and act.shape == p.shape) or np.array_equal(act, p):
            return False
        _, _, from_outputs = run(p, np.asarray(act, dtype=np.float64))
        num = nm.numeric_vjp(lambda q: np.asarray(run(q)[0]), p, np.asarray(1.0))
    except Exception:
        return False

    def near(d: Any) -> bool:
        return d is not None and np.shape(d) == num.shape and bool(
            np.allclose(d, num, rtol=1e-4, atol=1e-7 * max(1.0, float(np.abs(num).max()))))

    return near(from_outputs) and not near(from_inputs)


def _flat_outside(cls: type, construction: Construction, factory: Callable[[], Any] | None,
                  p: np.ndarray, y: np.ndarray, losses: np.ndarray) -> bool:
    """Does the loss ignore how far predictions lie outside (0, 1)?  Then it clips them
    (a cross-entropy's np.clip), and it is differentiated at probabilities, where it has a
    derivative; a loss of real values (MSE, Huber) changes there."""
    q = p.copy()
    q[q < 0] -= 0.5
    q[q > 1] += 0.5
    ad = Adapter(make(cls, construction, factory), [])
    ret = ad.forward(q, y.copy())
    if ret is None:
        ret = ad.read("output", returned_ok=False)
    return bool(np.array_equal(np.asarray(ret, dtype=np.float64), losses))


def plan_for_object(obj: Any, inputs: Any, *, params: Any = None, name: str | None = None,
                    y_true: Any = None) -> CustomPlan:
    """The plan for a live object given its inputs (``oracle.certify``): fresh objects are
    deep copies of it."""
    import copy

    cls = type(obj)
    x = np.asarray(inputs)
    config = LayerConfig(input_shape=tuple(x.shape),
                         input="int" if x.dtype.kind in "iu" else "float",
                         params=(tuple(params) if params is not None and not isinstance(
                             params, str) else ((params,) if params else None)),
                         kind="loss" if y_true is not None else None)
    pristine = copy.deepcopy(obj)
    plan = plan_for_class(name or cls.__name__, cls, config,
                          factory=lambda: copy.deepcopy(pristine))
    own = {k: np.array(get_path(pristine, where), dtype=np.float64, copy=True)
           for k, (where, _) in plan.params.items()}
    if plan.kind == "loss":
        plan.given = Case(inputs=np.array(x, dtype=np.float64), y=np.asarray(y_true),
                          extra={"params": own})
    else:
        n = x.shape[-1] if plan.batch_last else x.shape[0]
        first = np.moveaxis(x, -1, 0) if plan.batch_last else x
        out_rest = plan.output_shape[1:]
        plan.given = Case(inputs=np.array(first, copy=True),
                          dvalues=np.random.default_rng(20260101).normal(size=(n, *out_rest)),
                          extra={"params": own})
    return plan


# --------------------------------------------------------------------------- the record




def custom_case(plan: CustomPlan, n: int, seed: int, *, params_from: Any = None) -> Case:
    """A case for a custom component: ``n`` samples, arrays drawn from ``seed``; the
    parameters drawn at the shapes the constructor gave them (or taken from an object)."""
    rng = np.random.default_rng(seed)
    rest = plan.per_sample
    if plan.kind == "loss":
        k = rest[0] if rest else 1
        z = rng.normal(size=(n, *rest))
        if plan.real_predictions:
            p = z * 2.0
        else:
            e = np.exp(z - z.max(axis=-1, keepdims=True))
            p = e / e.sum(axis=-1, keepdims=True) * 0.9 + 0.1 / k
        sparse = rng.integers(0, k, size=n)
        y: Any = {"sparse": sparse, "one_hot": np.eye(k)[sparse],
                  "real": rng.normal(size=(n, *rest))}[plan.labels]
        return Case(inputs=p, y=y, extra={"params": {}})
    if plan.integer:
        x = rng.integers(0, max(plan.vocab, 1), size=(n, *rest))
    else:
        x = _away(rng, (n, *rest))
    out_rest = plan.output_shape[1:]
    params = {name: 0.5 * _away(rng, shape) for name, shape in plan.param_shapes.items()}
    return Case(inputs=x, dvalues=rng.normal(size=(n, *out_rest)), extra={"params": params})


def custom_spec(plan: CustomPlan) -> Spec:
    """The spec record of a custom component, made at run time from its plan: the same
    property functions run on it as on the book's components."""

    @st.composite
    def cases(draw: Any) -> Case:
        n = draw(st.integers(2, 5))
        return custom_case(plan, n, draw(st.integers(0, 2**32 - 1)))

    def typical(spec: Spec, variant: str) -> Case:
        if plan.given is not None:
            return plan.given
        return custom_case(plan, plan.input_shape[0] if plan.kind != "loss" else 4, 20260101)

    wrt = plan.grads
    return Spec(
        plan.name, "custom_loss" if plan.kind == "loss" else "custom", plan.cls,
        lambda: cases(), grads=tuple(wrt), wrt=wrt, typical_case=typical, short=plan.name,
        cost=1.0, plan=plan,
    )
