"""The worker process: loads one target and checks its components.

Run by :mod:`oracle.run` as ``python -m oracle.worker JOBFILE FD``.  ``JOBFILE`` is JSON::

    {"target": "model.py", "settings": Settings.to_dict(), "components": ["Layer_Dense", ...]}

Events go to the inherited file descriptor ``FD``, one JSON object per line, never to
stdout (the target prints there; the parent keeps the tail of it for error messages):

    {"event": "ready"}                                   engine imported, limits applied
    {"event": "loaded", "mode": ..., "description": ..., "notes": [...],
     "found": {book_name: target_class_name or null}}
    {"event": "load_error", "message": ...}              then the worker exits
    {"event": "start", "component": name}
    {"event": "result", "component": name, "result": ComponentResult.to_dict()}
    {"event": "done"}
    {"event": "fatal", "message": ...}                   a failure of the worker itself

Order matters: NumPy, :mod:`reference`, :mod:`oracle.checks` and :mod:`oracle.adapt` are
imported *before* the target is loaded, so the engine can keep NumPy's original functions
before a target's ``nnfs.init()`` patches them; the memory limit is applied after those
imports and before the target's code runs.

Whatever a component does during its checks -- ``sys.exit()``, ``KeyboardInterrupt``,
``MemoryError``, ``input()`` -- becomes an ``error`` result for that component and the next
component is checked.  Hangs and hard crashes are the parent's business.

Testing hook: ``NNFS_ORACLE_ENGINE=module:function`` (or ``path/to/file.py:function``)
replaces :func:`oracle.checks.check_component` with another function of the same signature,
so the process handling can be tested with a tiny engine.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

ENGINE_ENV = "NNFS_ORACLE_ENGINE"

_ORACLE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Events:
    """JSON lines on a file descriptor of their own."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def emit(self, **event: Any) -> None:
        data = (json.dumps(event, default=_json_default) + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]


def _json_default(obj: Any) -> Any:
    """NumPy scalars and arrays a result may carry in its details; anything else as text."""
    for attr in ("tolist", "item"):
        if hasattr(obj, attr):
            try:
                return getattr(obj, attr)()
            except Exception:
                pass
    return str(obj)


def _fix_sys_path() -> None:
    """``-m`` puts the working directory first on sys.path: move it last.

    A learner's ``numpy.py`` or ``nnfs.py`` next to their notebook must not replace the real
    packages for the checker, yet their own modules stay importable.  The target's directory
    is put in front by the loader.
    """
    cwd = os.getcwd()
    if sys.path and sys.path[0] in ("", cwd):
        sys.path.pop(0)
        if os.path.abspath(cwd) != _ORACLE_ROOT and cwd not in sys.path:
            sys.path.append(cwd)


def _import_engine() -> Callable[..., Any]:
    import numpy  # noqa: F401  -- before the target: the engine keeps NumPy's originals

    try:
        import reference  # noqa: F401
    except ImportError:
        pass
    import oracle.adapt  # noqa: F401
    import oracle.checks

    hook = os.environ.get(ENGINE_ENV, "").strip()
    if not hook:
        return oracle.checks.check_component
    module_name, _, func_name = hook.rpartition(":")
    if not module_name or not func_name:
        raise RuntimeError(f"{ENGINE_ENV} must be 'module:function' or 'file.py:function'")
    if module_name.endswith(".py"):
        import importlib.util

        spec = importlib.util.spec_from_file_location("_nnfs_oracle_engine_hook", module_name)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"{ENGINE_ENV}: cannot load {module_name}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    else:
        import importlib

        module = importlib.import_module(module_name)
    func = getattr(module, func_name)
    if not callable(func):
        raise RuntimeError(f"{ENGINE_ENV}: {hook} is not callable")
    return func  # type: ignore[no-any-return]


def _watch_parent(parent: int) -> None:
    """Leave when the parent is gone, so an orphaned worker stuck in a loop cannot run forever.

    A thread gets the GIL even from a pure-Python endless loop; the parent's own timeout
    handles everything else.
    """
    import threading

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, name="nnfs-oracle-watchdog", daemon=True).start()


def _no_input(prompt: object = "") -> str:
    raise EOFError(
        "called input(): the checks run without a keyboard (stdin is closed); "
        "move interactive code out of the class"
    )


def _apply_limits(memory_mb: int) -> str | None:
    """Memory (address space) limit and no core files; a note when it cannot be applied."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return "memory limit not applied: the resource module is not available here"
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    if memory_mb <= 0:
        return None
    limit = int(memory_mb) * 1024 * 1024
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY and hard < limit:
            limit = hard
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError) as exc:
        return f"memory limit of {memory_mb} MB not applied: {exc}"
    return None


def _use_case_book(path: str, sha256: str) -> None:
    """Replay the class's case book (see :mod:`oracle.checks`) if the file is the one the
    parent hashed: a file another process changed since is not used (the checks then draw
    their own cases, as without a book).  Read before the target is loaded."""
    import hashlib
    import pickle

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    if hashlib.sha256(data).hexdigest() != sha256:
        return
    import oracle.checks

    oracle.checks.use_case_book(pickle.loads(data))  # noqa: S301 - our own file, verified


def _write_case_book(path: str, book: dict[Any, Any]) -> None:
    import pickle

    try:
        with open(path, "wb") as f:
            pickle.dump(book, f, protocol=pickle.HIGHEST_PROTOCOL)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # no book: the class draws its cases per submission


def _exit(code: int) -> NoReturn:
    """Leave without running the target's atexit handlers or waiting for its threads."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3) or not args[1].isdigit():
        print("usage: python -m oracle.worker JOBFILE FD [CASE_BOOK_SHA256]", file=sys.stderr)
        return 2
    events = _Events(int(args[1]))
    try:
        with open(args[0], encoding="utf-8") as jobfile:
            job = json.load(jobfile)
        from oracle.settings import Settings

        settings = Settings.from_dict(job["settings"])
        target = str(job["target"])
        components = [str(c) for c in job["components"]]
        customs = job.get("customs", False)  # True: also every custom component found
        settings.target = settings.target or target  # for the replay lines
    except Exception as exc:
        events.emit(event="fatal", message=f"bad job file {args[0]}: {exc}")
        return 2

    try:
        import faulthandler

        faulthandler.enable(file=sys.stderr)  # a crash leaves the target's frames in the output
        _fix_sys_path()
        sys.dont_write_bytecode = True  # no __pycache__ in the learner's folder
        check = _import_engine()
        from oracle.adapt import discover
        from oracle.execute import check_found, describe, error_result
        from oracle.load import TargetLoadError, load_target
    except BaseException as exc:
        events.emit(event="fatal",
                    message=f"the checker failed to start: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        _exit(3)
    if job.get("case_book") and len(args) == 3:
        _use_case_book(str(job["case_book"]), args[2])
    recording = None
    if job.get("record"):
        import oracle.checks

        recording = oracle.checks.record_case_book()
    builtins.input = _no_input
    _watch_parent(os.getppid())
    limit_note = _apply_limits(settings.memory_mb)
    events.emit(event="ready")

    try:
        loaded = load_target(target, import_mode=settings.import_mode,
                             merge=settings.reading == "one")
    except TargetLoadError as exc:
        message = str(exc)
        if "MemoryError" in message:
            message += f"\n(the worker's memory limit is {settings.memory_mb} MB)"
        events.emit(event="load_error", message=message)
        _exit(0)
    except BaseException as exc:  # SystemExit, MemoryError ... from the target's code
        events.emit(
            event="load_error", message=f"loading {target}: {describe(exc, settings.memory_mb)}"
        )
        _exit(0)
    namespace = loaded.namespace
    try:
        found = discover(namespace, settings.mapping)
    except BaseException as exc:
        events.emit(
            event="load_error",
            message=f"finding the components of {target} failed: "
            f"{describe(exc, settings.memory_mb)}",
        )
        _exit(0)
    notes = list(loaded.notes) + ([limit_note] if limit_note else [])
    from oracle.custom import custom_classes

    try:  # the classes that are not the book's: checked against their own forward
        custom = custom_classes(namespace, settings.mapping, found) if (
            settings.custom or customs) else {}
    except Exception as exc:  # a bug of ours must not cost the book's components
        custom = {}
        notes.append(f"custom components not looked for: {type(exc).__name__}: {exc}")
    from oracle.adapt import names_that_name_nothing

    named = settings.components or [] if settings.named else []
    wrong = names_that_name_nothing(namespace, found, settings.mapping, named, custom)
    if wrong is not None:
        events.emit(event="load_error", message=wrong)
        _exit(0)
    if customs is True:
        components += [n for n in custom if n not in components]
    events.emit(
        event="loaded",
        mode=loaded.mode,
        description=loaded.description,
        notes=notes,
        found={name: (f.target_name if f.cls is not None else None) for name, f in found.items()},
        custom=[n for n in custom if customs is True or n in components],
    )

    from oracle.adapt import Found

    for name in components:
        events.emit(event="start", component=name)
        if name not in found and name in custom:
            found[name] = Found(custom[name], name, [])
        result = check_found(name, found.get(name), namespace, settings, check,
                             contain_interrupts=True)
        f = found.get(name)
        cls_name = f.target_name if f is not None and f.cls is not None else None
        try:
            payload = result.to_dict()
            json.dumps(payload, default=_json_default)
        except BaseException as exc:
            payload = error_result(
                name, cls_name, f"the result could not be sent: {exc}"
            ).to_dict()
        events.emit(event="result", component=name, result=payload)
    if recording is not None:
        _write_case_book(str(job["record"]), recording)
    events.emit(event="done")
    _exit(0)


if __name__ == "__main__":
    sys.exit(main())
