"""Discovery: which of the book's components a loaded target has, under which names.

CONTRACT:
    COMPONENTS: the book names, in report order.
    discover(namespace, mapping=None) -> dict[str, Found]
        For every book name: Found(cls or None, target_name or None, adaptations).

STUB: replaced by the real discovery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPONENTS = [
    "Layer_Dense",
    "Layer_Dropout",
    "Layer_Input",
    "Activation_ReLU",
    "Activation_Softmax",
    "Activation_Sigmoid",
    "Activation_Linear",
    "Loss",
    "Loss_CategoricalCrossentropy",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Loss_BinaryCrossentropy",
    "Loss_MeanSquaredError",
    "Loss_MeanAbsoluteError",
    "Optimizer_SGD",
    "Optimizer_Adagrad",
    "Optimizer_RMSprop",
    "Optimizer_Adam",
]


@dataclass
class Found:
    cls: type | None
    target_name: str | None
    adaptations: list[str] = field(default_factory=list)


def discover(namespace: dict[str, Any], mapping: dict[str, str] | None = None) -> dict[str, Found]:
    mapping = mapping or {}
    out = {}
    for name in COMPONENTS:
        tname = mapping.get(name, name)
        obj = namespace.get(tname)
        out[name] = Found(obj, tname, []) if isinstance(obj, type) else Found(None, None, [])
    return out
