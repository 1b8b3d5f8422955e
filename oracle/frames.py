"""Which traceback frames are the target's: one answer for every message that points at a
line of the user's code (a check's exception, a crash dump, a class that cannot be defined).

A frame is *ours* when it lies in this package or the reference; it is *library* code when
it is ours, the standard library's or an installed package's (or synthetic, ``<string>``);
everything else is the target's.  A caller that knows the target's own files (the loader's
roots) narrows that with ``is_target``.
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from collections.abc import Callable

__all__ = ["OUR_DIRS", "innermost", "is_library", "is_ours"]

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: This package and the reference: frames here are never the target's.
OUR_DIRS: tuple[str, ...] = tuple(
    os.path.join(_ROOT, d) + os.sep for d in ("oracle", "reference")
)


def _library_dirs() -> tuple[str, ...]:
    dirs = set(OUR_DIRS)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            path = sysconfig.get_path(key)
        except KeyError:  # pragma: no cover
            continue
        if path:
            dirs.add(path.rstrip(os.sep) + os.sep)
    return tuple(sorted(dirs))


_LIBRARY_DIRS = _library_dirs()


def is_ours(filename: str) -> bool:
    """A frame of nnfs-oracle itself (the checks, the reference)."""
    return os.path.abspath(filename).startswith(OUR_DIRS)


def is_library(filename: str) -> bool:
    """A frame of ours, of the standard library or of an installed package."""
    return (
        is_ours(filename)
        or os.path.abspath(filename).startswith(_LIBRARY_DIRS)
        or "site-packages" in filename
        or "dist-packages" in filename
        or filename.startswith("<")
    )


def innermost(
    exc: BaseException, is_target: Callable[[str], bool] | None = None
) -> traceback.FrameSummary | None:
    """The innermost frame of ``exc``'s traceback in the target's code (by default: any
    frame that is not library code)."""
    test = is_target or (lambda f: not is_library(f))
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if test(frame.filename):
            return frame
    return None
