"""The context of one check: the component's spec, the class under test, what the run
knows of the target (its other classes, nnfs.init()), and the two outcomes a check can end
in besides a pass: :class:`Mismatch` (the values are wrong) and :class:`NotApplicable`
(the class lacks what the check needs: an earlier chapter's form)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracle import numerics as nm
from oracle.adapt import NotSupported as NotApplicable
from oracle.spec import Spec

__all__ = ["Context", "Mismatch", "NotApplicable", "numpy_patched", "numpy_restored"]


_ORIGINALS = {"dot": np.dot, "zeros": np.zeros, "eye": np.eye, "randn": np.random.randn}


def numpy_patched() -> bool:
    """Has ``nnfs.init()`` (or anything else) replaced NumPy's dot/zeros/eye/randn?"""
    funcs = (np.dot, np.zeros, np.eye, np.random.randn)
    # nnfs's wrappers are Python functions defined in nnfs.core; NumPy's own have a
    # __module__ of "numpy" (or None for some builtins on older releases).
    return any((getattr(f, "__module__", None) or "numpy").startswith("nnfs") for f in funcs)


@contextlib.contextmanager
def numpy_restored() -> Iterator[None]:
    """NumPy's own dot/zeros/eye/random.randn while inside (kept before a target's
    ``nnfs.init()`` could patch them); the target's patched ones again after."""
    now = {"dot": np.dot, "zeros": np.zeros, "eye": np.eye}
    randn = np.random.randn
    for name, fn in _ORIGINALS.items():
        setattr(np.random if name == "randn" else np, name, fn)
    try:
        yield
    finally:
        for name, fn in now.items():
            setattr(np, name, fn)
        np.random.randn = randn  # type: ignore[assignment]


class Mismatch(AssertionError):
    """The class under test disagrees with what is expected."""

    def __init__(self, message: str, *, hint: str = "", details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details or {}


@dataclass
class Context:
    spec: Spec
    cls: type  # the class under test
    namespace: dict[str, Any] = field(default_factory=dict)
    patched: bool = False  # nnfs.init() active: float32 results are expected
    peers: dict[str, type] = field(default_factory=dict)  # book name -> the module's class
    adaptations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # notes raised during a check

    @property
    def eps_floor(self) -> float:
        return nm.EPS32 if self.patched else nm.EPS64

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
