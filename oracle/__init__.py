"""nnfs-oracle: property-based verification of nnfs-style neural-network components.

``oracle.check(target)`` judges someone's implementation against the float64
reference in :mod:`reference`; :mod:`oracle.strategies` holds the public
Hypothesis strategies and :mod:`oracle.numerics` the finite differences.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "__version__"]
__version__ = "0.1.0"


def check(target: Any, **kwargs: Any) -> Any:
    """Check an nnfs implementation; see :func:`oracle.api.check`."""
    from oracle.api import check as _check

    return _check(target, **kwargs)
