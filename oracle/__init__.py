"""nnfs-oracle: property-based verification of nnfs-style neural-network components.

``oracle.check(target)`` judges someone's implementation against the float64
reference in :mod:`reference`; :mod:`oracle.strategies` holds the public
Hypothesis strategies and :mod:`oracle.numerics` the finite differences.
"""

from __future__ import annotations

from typing import Any

__all__ = ["assert_certified", "certify", "check", "feedback", "grade", "__version__"]
__version__ = "0.1.0"


def check(target: Any, **kwargs: Any) -> Any:
    """Check an nnfs implementation; see :func:`oracle.api.check`."""
    from oracle.api import check as _check

    return _check(target, **kwargs)


def certify(layer: Any, inputs: Any, **kwargs: Any) -> Any:
    """Certify one layer object against its own forward; see :func:`oracle.api.certify`."""
    from oracle.api import certify as _certify

    return _certify(layer, inputs, **kwargs)


def assert_certified(layer: Any, inputs: Any, **kwargs: Any) -> Any:
    """Raise AssertionError with the report unless the layer is certified; see
    :func:`oracle.api.assert_certified`."""
    from oracle.api import assert_certified as _assert

    return _assert(layer, inputs, **kwargs)


def grade(report: Any, rubric: Any) -> Any:
    """A report's grade under a rubric; see :func:`oracle.api.grade`."""
    from oracle.api import grade as _grade

    return _grade(report, rubric)


def feedback(report: Any, rubric: Any = None) -> str:
    """A report as a student's feedback text; see :func:`oracle.api.feedback`."""
    from oracle.api import feedback as _feedback

    return _feedback(report, rubric)
