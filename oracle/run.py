"""Running a target's checks in a worker process, with a time and a memory limit.

:func:`run_target` starts ``python -m oracle.worker`` (see :mod:`oracle.worker` for the
protocol) with stdin closed, its output captured, a memory limit, a new session (so the whole
process group can be killed) and a fixed hash seed.  It reads the worker's events with a
deadline at every step:

- start-up (importing the engine): :data:`STARTUP_TIMEOUT` seconds;
- loading the target: ``settings.timeout`` seconds;
- each component: ``settings.timeout`` seconds from its ``start`` event.

When a component times out, or the worker dies (``os._exit``, a segmentation fault, the
memory limit), that component is recorded as ``error`` with the reason and the last lines
of the target's output, and a new worker checks the components that remain.  Nothing here
waits without a deadline.

:func:`run_targets` runs several targets in parallel; :func:`run_namespace` checks objects
that are already loaded, in this process.

POSIX only (process groups, ``resource`` limits).
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import ModuleType, SimpleNamespace
from typing import Any

from oracle import frames
from oracle.results import CheckResult, ComponentResult, TargetReport
from oracle.settings import Settings

__all__ = ["STARTUP_TIMEOUT", "run_namespace", "run_target", "run_targets"]

#: Seconds a fresh worker may take to import NumPy and the engine before it counts as hung.
STARTUP_TIMEOUT = 60.0
#: Deaths in a row without a component finishing after which the rest are given up.
MAX_FRUITLESS_RESTARTS = 2
#: Bytes of the target's output kept for error messages.
OUTPUT_TAIL_BYTES = 16384
#: Lines of the target's output quoted in an error message.
OUTPUT_TAIL_LINES = 8

_POLL = 0.1  # seconds between checks of the child's state while waiting for an event
_ORACLE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SIGNAL_MEANING = {
    "SIGSEGV": "segmentation fault",
    "SIGBUS": "bus error",
    "SIGABRT": "aborted",
    "SIGFPE": "floating-point exception",
    "SIGILL": "illegal instruction",
    "SIGKILL": "killed",
    "SIGTERM": "terminated",
}
_MEMORY_HINTS = re.compile(
    r"MemoryError|Cannot allocate memory|out of memory|bad_alloc|Unable to allocate", re.I
)


def _components_of(settings: Settings) -> list[str]:
    """The book's components to check, and then the custom ones named (by class name)."""
    from oracle.adapt import COMPONENTS

    if settings.components is None:
        return list(COMPONENTS)
    wanted = set(settings.components)
    return [c for c in COMPONENTS if c in wanted] + [
        c for c in settings.components if c not in COMPONENTS]


def _customs(settings: Settings) -> bool:
    """Whether every custom component of the target is checked too (nothing restricts the
    run to named components)."""
    return settings.custom and settings.components is None


def _unknown_components(settings: Settings) -> list[str]:
    """Names that can be neither a book component nor a class of the target."""
    from oracle.adapt import COMPONENTS
    from oracle.custom import could_be_custom

    return [c for c in settings.components or [] if c not in COMPONENTS
            and not could_be_custom(str(c))]


def _error(name: str, cls: str | None, message: str, seconds: float = 0.0) -> ComponentResult:
    return ComponentResult(
        name, cls, "error", [CheckResult("run", "error", message)], seconds=seconds
    )


# --------------------------------------------------------------------------- one child


@dataclass
class _Outcome:
    """What one worker process did before it finished, died or was stopped."""

    ready: bool = False
    loaded: dict[str, Any] | None = None
    load_error: str | None = None
    fatal: str | None = None
    results: list[ComponentResult] = field(default_factory=list)
    done: bool = False
    failure: str | None = None  # why the child stopped early: timeout, death
    failed_component: str | None = None  # the component running when it stopped
    failed_seconds: float = 0.0
    phase: str = "startup"  # startup | load | components


class _Child:
    def __init__(
        self,
        target: str,
        settings: Settings,
        components: list[str],
        cancel: threading.Event | None = None,
        customs: bool = False,
        book: CaseBookFile | None = None,
        record: str | None = None,
    ) -> None:
        self.target = target
        self.settings = settings
        self.components = components
        self.customs = customs
        self.book = book  # replay these cases (a class's, drawn once)
        self.record = record  # write the cases drawn here to this file
        self.cancel = cancel
        self.tail = bytearray()
        self.peak_kb = 0

    # -- process ---------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        path = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = _ORACLE_ROOT + (os.pathsep + path if path else "")
        env.update(
            PYTHONHASHSEED="0",
            PYTHONUNBUFFERED="1",
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONFAULTHANDLER="1",
            OMP_NUM_THREADS="1",
            OPENBLAS_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            NUMEXPR_NUM_THREADS="1",
            MPLBACKEND="Agg",  # plt.show() in the target must not open a window and wait
        )
        # Hypothesis's cache directory would otherwise appear in the learner's folder.
        env.setdefault(
            "HYPOTHESIS_STORAGE_DIRECTORY",
            os.path.join(tempfile.gettempdir(), "nnfs-oracle-hypothesis"),
        )
        return env

    def run(self) -> _Outcome:
        job = {
            "target": self.target,
            "settings": self.settings.to_dict(),
            "components": self.components,
            "customs": self.customs,
            "case_book": self.book.path if self.book is not None else None,
            "record": self.record,
        }
        fd, jobfile = tempfile.mkstemp(prefix="nnfs-oracle-job-", suffix=".json")
        ev_r, ev_w = os.pipe()
        out_r, out_w = os.pipe()
        proc: subprocess.Popen[bytes] | None = None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(job, f)
            proc = subprocess.Popen(
                [sys.executable, "-m", "oracle.worker", jobfile, str(ev_w),
                 *([self.book.sha256] if self.book is not None else [])],
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w,
                pass_fds=(ev_w,),
                start_new_session=True,
                env=self._env(),
                cwd=os.getcwd(),
            )
            os.close(ev_w)
            os.close(out_w)
            ev_w = out_w = -1
            return self._read(proc, ev_r, out_r)
        finally:
            if proc is not None:
                self._kill(proc)
            for fdx in (ev_r, out_r, ev_w, out_w):
                if fdx >= 0:
                    try:
                        os.close(fdx)
                    except OSError:
                        pass
            try:
                os.unlink(jobfile)
            except OSError:
                pass

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        """Kill the worker's whole process group (the target may have started others)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL cannot be ignored
            pass

    def _sample_memory(self, pid: int) -> None:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
                for line in f:
                    if line.startswith("VmPeak:"):
                        self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                        break
        except (OSError, ValueError, IndexError):
            pass

    def _exited(self, proc: subprocess.Popen[bytes]) -> bool:
        """Whether the child has exited, without reaping it (its group id stays valid)."""
        waitid = getattr(os, "waitid", None)
        if waitid is None:  # pragma: no cover - macOS
            return proc.poll() is not None
        try:
            info = waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    # -- events ----------------------------------------------------------------------------

    def _read(self, proc: subprocess.Popen[bytes], ev_r: int, out_r: int) -> _Outcome:
        outcome = _Outcome()
        timeout = float(self.settings.timeout)
        buf = bytearray()
        sel = selectors.DefaultSelector()  # not select.select: fds may be above FD_SETSIZE
        sel.register(ev_r, selectors.EVENT_READ)
        sel.register(out_r, selectors.EVENT_READ)
        try:
            return self._loop(proc, ev_r, sel, buf, outcome, timeout)
        finally:
            sel.close()

    def _loop(
        self,
        proc: subprocess.Popen[bytes],
        ev_r: int,
        sel: selectors.BaseSelector,
        buf: bytearray,
        outcome: _Outcome,
        timeout: float,
    ) -> _Outcome:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        current: str | None = None
        started = 0.0
        last_sample = 0.0

        def handle(event: dict[str, Any]) -> bool:
            """Process one event; True when the child is finished."""
            nonlocal deadline, current, started
            kind = event.get("event")
            now = time.monotonic()
            if kind == "ready":
                outcome.ready = True
                outcome.phase = "load"
                deadline = now + timeout
            elif kind == "loaded":
                outcome.loaded = event
                outcome.phase = "components"
                deadline = now + timeout
            elif kind == "load_error":
                outcome.load_error = str(event.get("message", "the target could not be loaded"))
                return True
            elif kind == "fatal":
                outcome.fatal = str(event.get("message", "the worker failed"))
                return True
            elif kind == "start":
                current = str(event.get("component"))
                started = now
                deadline = now + timeout
            elif kind == "result":
                try:
                    result = ComponentResult.from_dict(event["result"])
                except (KeyError, TypeError, ValueError) as exc:
                    result = _error(str(event.get("component")), None, f"unreadable result: {exc}")
                outcome.results.append(result)
                current = None
                deadline = now + timeout
            elif kind == "done":
                outcome.done = True
                return True
            return False

        def drain_events() -> bool:
            while b"\n" in buf:
                line, _, rest = bytes(buf).partition(b"\n")
                buf[:] = rest
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and handle(event):
                    return True
            return False

        def read_ready(wait: float) -> None:
            if not sel.get_map():
                time.sleep(wait)
                return
            for key, _ in sel.select(wait):
                fdx = key.fd
                try:
                    data = os.read(fdx, 65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(fdx)
                elif fdx == ev_r:
                    buf.extend(data)
                else:
                    self.tail.extend(data)
                    if len(self.tail) > OUTPUT_TAIL_BYTES:
                        del self.tail[: len(self.tail) - OUTPUT_TAIL_BYTES]

        while True:
            read_ready(min(_POLL, max(0.0, deadline - time.monotonic())))
            if drain_events():
                return outcome
            now = time.monotonic()
            if now - last_sample >= 0.25:
                self._sample_memory(proc.pid)
                last_sample = now
            if self._exited(proc):
                # Collect what it wrote before dying (a result may be in the pipe).
                end = time.monotonic() + 1.0
                while sel.get_map() and time.monotonic() < end:
                    read_ready(0.05)
                if drain_events():
                    return outcome
                self._kill(proc)  # also reaps it, so returncode is set
                outcome.failure = self._death_message(proc.returncode, current)
                outcome.failed_component = current
                outcome.failed_seconds = time.monotonic() - started if current else 0.0
                return outcome
            if self.cancel is not None and self.cancel.is_set():
                self._kill(proc)
                outcome.failure = "not finished: the run was interrupted"
                outcome.failed_component = current
                return outcome
            if now >= deadline:
                self._kill(proc)
                outcome.failure = self._timeout_message(outcome, timeout, current)
                outcome.failed_component = current
                outcome.failed_seconds = now - started if current else 0.0
                return outcome

    # -- messages --------------------------------------------------------------------------

    def _timeout_message(self, outcome: _Outcome, timeout: float, current: str | None) -> str:
        if current is not None:
            return (
                f"timed out after {timeout:g} s: its checks did not finish (an endless loop, "
                "a wait for something that never comes, or work far too slow for small "
                f"arrays){self._output_text()}"
            )
        if outcome.phase == "startup":
            return (
                f"the worker process did not start within {STARTUP_TIMEOUT:g} s "
                f"(importing NumPy and the checks){self._output_text()}"
            )
        if outcome.phase == "load":
            hint = (
                "its top-level code did not finish (an endless loop, a long training run or "
                "a wait for input?)"
                if self.settings.import_mode
                else "its definitions did not finish running (an endless loop in a class body?)"
            )
            return f"loading timed out after {timeout:g} s: {hint}{self._output_text()}"
        return f"the worker stopped responding for {timeout:g} s{self._output_text()}"

    def _death_message(self, returncode: int | None, current: str | None) -> str:
        what = f"while checking {current}" if current else "while loading the target"
        if returncode is not None and returncode < 0:
            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            meaning = _SIGNAL_MEANING.get(name)
            how = f"crashed with {name}" + (f" ({meaning})" if meaning else "")
        else:
            how = f"exited with status {returncode} (os._exit() or a fatal error)"
        msg = f"the worker process {how} {what}"
        crash_site = self._crash_site()
        if crash_site:
            msg += f", at {crash_site}"
        if self._memory_likely(returncode):
            msg += f"; it probably exceeded the memory limit of {self.settings.memory_mb} MB"
        return msg + self._output_text()

    def _memory_likely(self, returncode: int | None) -> bool:
        limit_kb = self.settings.memory_mb * 1024
        near_limit = limit_kb > 0 and self.peak_kb >= 0.9 * limit_kb
        mentioned = bool(_MEMORY_HINTS.search(self._tail_text()))
        return (near_limit or mentioned) and returncode != 0

    def _tail_text(self) -> str:
        return bytes(self.tail).decode("utf-8", errors="replace")

    def _crash_site(self) -> str | None:
        """The innermost frame of the target's code in a faulthandler dump, if any."""
        text = self._tail_text()
        start = text.rfind("Fatal Python error")
        if start < 0:
            return None
        from oracle.load import location

        dump = text[start:]
        # The crashing thread's block first ("Current thread ..."); our watchdog thread's
        # frames come in other blocks, and in any order across Python versions.
        current = re.search(r"Current thread[^\n]*\n(.*?)(?:\n\s*\n|\nThread |\Z)", dump, re.S)
        blocks = ([current.group(1)] if current else []) + [dump]
        for block in blocks:
            for m in re.finditer(r'File "([^"]+)", line (\d+) in (\S+)', block):
                filename, lineno, func = m.group(1), int(m.group(2)), m.group(3)
                if frames.is_library(filename):
                    continue
                return f"{location(filename, lineno)} in {func}"
        return None

    def _output_text(self) -> str:
        text = self._tail_text()
        start = text.rfind("Fatal Python error")
        if start >= 0:  # the crash dump is summarised by _crash_site
            text = text[:start]
        lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()][-OUTPUT_TAIL_LINES:]
        if not lines:
            return ""
        shown = "\n".join("    " + (ln if len(ln) <= 200 else ln[:197] + "...") for ln in lines)
        return f"\nlast output of the target:\n{shown}"


# --------------------------------------------------------------------------- targets


def _lanes(wanted: list[str], lanes: int) -> list[list[str]]:
    """Split components into ``lanes`` groups of similar total cost (greedy, longest first)."""
    from oracle.spec import SPECS

    def cost(name: str) -> float:
        spec = SPECS.get(name)
        return spec.cost if spec is not None else 0.7

    groups: list[list[str]] = [[] for _ in range(lanes)]
    load = [0.0] * lanes
    for name in sorted(wanted, key=lambda n: -cost(n)):
        i = load.index(min(load))
        groups[i].append(name)
        load[i] += cost(name)
    return [g for g in groups if g]


@dataclass(frozen=True)
class CaseBookFile:
    """The cases a class's checks draw, drawn once from the reference (see
    :mod:`oracle.checks`), and the hash a worker verifies before it replays them."""

    path: str
    sha256: str


#: Targets from which a class draws its cases once rather than once per submission.
CASE_BOOK_MIN_TARGETS = 3
#: Set to 0 to draw every submission's cases anew (the verdicts are the same; slower).
CASE_BOOK_ENV = "NNFS_ORACLE_CASE_BOOK"


def draw_case_book(settings: Settings, folder: str) -> CaseBookFile | None:
    """Check the reference itself, recording the cases drawn, into ``folder``; None when
    that did not work (every submission then draws its own, as for a single target)."""
    import hashlib

    from oracle.adapt import COMPONENTS

    book = [c for c in (settings.components or COMPONENTS) if c in COMPONENTS]
    if not book:
        return None
    path = os.path.join(folder, "case-book.pickle")
    ref = Settings.from_dict({**settings.to_dict(), "components": book, "named": False,
                              "mapping": {}, "custom": False, "import_mode": False,
                              "timeout": max(settings.timeout, 120.0)})
    out = _Child(os.path.join(_ORACLE_ROOT, "reference"), ref, book, record=path).run()
    if not out.done:
        return None
    try:
        with open(path, "rb") as f:
            return CaseBookFile(path, hashlib.sha256(f.read()).hexdigest())
    except OSError:
        return None


def run_target(
    target: str,
    settings: Settings,
    *,
    cancel: threading.Event | None = None,
    lanes: int | None = None,
    book: CaseBookFile | None = None,
) -> TargetReport:
    """Check one target (file, notebook, directory or module name) in worker processes.

    Never raises for a bad or misbehaving target: an unusable target has ``report.error``
    set; a component that hangs, exits or crashes the worker is an ``error`` component.
    ``cancel``: when set (from another thread), the worker is killed and the components not
    yet checked are ``error`` ("interrupted").
    ``lanes``: how many workers share this target's components (default: up to 2, one per
    core); each loads the target itself, so a crash in one lane never touches the other.
    """
    if lanes is None:
        lanes = min(2, os.cpu_count() or 1)
    wanted = _components_of(settings) if not _unknown_components(settings) else []
    if lanes <= 1 or len(wanted) < 4:
        return _run_lane(target, settings, cancel=cancel, customs=_customs(settings),
                         book=book)
    t0 = time.monotonic()
    groups = _lanes(wanted, lanes)
    with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="nnfs-lane") as pool:
        # the first lane also checks the target's custom components (found once loaded)
        futures = [
            pool.submit(
                _run_lane, target, Settings.from_dict({**settings.to_dict(), "components": g}),
                cancel=cancel, customs=_customs(settings) and i == 0, book=book,
            )
            for i, g in enumerate(groups)
        ]
        parts = [f.result() for f in futures]
    report = parts[0]
    errors = [p.error for p in parts if p.error is not None]
    if errors:
        report.error = errors[0]
        report.components = []
    else:
        by_name = {c.name: c for p in parts for c in p.components}
        report.components = [by_name[n] for n in wanted if n in by_name] + [
            c for p in parts for c in p.components if c.name not in wanted]
    report.seconds = time.monotonic() - t0
    return report


def _run_lane(
    target: str, settings: Settings, *, cancel: threading.Event | None = None,
    customs: bool = False, book: CaseBookFile | None = None,
) -> TargetReport:
    """One worker (restarted after a crash or a timeout) for ``settings.components``, and,
    with ``customs``, the target's custom components (named by the first worker to load
    it; a restarted worker is given the ones left by name)."""
    t0 = time.monotonic()
    report = TargetReport(target, load_mode="import" if settings.import_mode else "defs-only")
    unknown = _unknown_components(settings)
    if unknown:
        from oracle.adapt import COMPONENTS

        report.error = (
            f"unknown component name(s): {', '.join(unknown)} (known: {', '.join(COMPONENTS)})"
        )
        return report
    wanted = _components_of(settings)
    results: dict[str, ComponentResult] = {}
    found: dict[str, str | None] = {}
    pending = list(wanted)
    fruitless = 0
    first = True
    last_failure = ""
    try:
        while first or pending:
            first = False
            if cancel is not None and cancel.is_set():
                if not found and not results:
                    report.error = "not checked: the run was interrupted"
                for name in pending:
                    results[name] = _error(name, found.get(name), "not checked: interrupted")
                break
            child = _Child(target, settings, pending, cancel, customs=customs, book=book)
            out = child.run()
            if out.loaded is not None and not found:
                found = dict(out.loaded.get("found") or {})
                report.load_mode = str(out.loaded.get("mode", report.load_mode))
                report.notes = [str(n) for n in out.loaded.get("notes") or []]
            if out.loaded is not None and customs:
                customs = False
                for name in out.loaded.get("custom") or []:
                    if name not in wanted:
                        wanted.append(name)
                        pending.append(name)
                        found.setdefault(name, name)
            for r in out.results:
                results[r.name] = r
                if r.name in pending:
                    pending.remove(r.name)
            if out.fatal is not None:
                report.error = f"the checker could not run: {out.fatal}{child._output_text()}"
                break
            if out.loaded is None:
                if out.load_error is not None:
                    message = out.load_error
                else:
                    message = out.failure or "the worker process stopped before loading"
                if not results and not found:
                    report.error = message
                else:  # loaded before but not this time: give up on what is left
                    for name in pending:
                        results[name] = _error(name, found.get(name), message)
                    pending = []
                break
            if out.done:
                for name in pending:
                    results[name] = _error(name, found.get(name), "the worker did not check it")
                break
            progress = bool(out.results)
            if out.failed_component is not None and out.failed_component in pending:
                name = out.failed_component
                results[name] = _error(
                    name, found.get(name), out.failure or "failed", out.failed_seconds
                )
                pending.remove(name)
                progress = True
            last_failure = out.failure or "the worker process stopped"
            fruitless = 0 if progress else fruitless + 1
            if fruitless >= MAX_FRUITLESS_RESTARTS:
                for name in pending:
                    results[name] = _error(
                        name,
                        found.get(name),
                        f"never started: the worker process died repeatedly ({last_failure})",
                    )
                break
    finally:
        report.seconds = time.monotonic() - t0
    if report.error is None:
        report.components = [results[n] for n in wanted if n in results]
    report.seconds = time.monotonic() - t0
    return report


def run_targets(
    targets: list[str], settings: Settings, jobs: int | None = None
) -> list[TargetReport]:
    """Check several targets in parallel, ``jobs`` workers at a time (default: CPU count).

    Reports come back in the order of ``targets``.
    """
    if not targets:
        return []
    requested = jobs or os.cpu_count() or 1
    jobs = max(1, min(requested, len(targets)))
    cancel = threading.Event()
    folder = tempfile.mkdtemp(prefix="nnfs-oracle-class-")
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="nnfs-oracle")
    try:
        # A class draws its cases once (the same seed for every submission).
        book = draw_case_book(settings, folder) if len(targets) >= CASE_BOOK_MIN_TARGETS \
            and os.environ.get(CASE_BOOK_ENV, "1") != "0" else None
        # Spare cores (fewer targets than jobs) go to lanes within each target.
        lanes = max(1, requested // len(targets)) if len(targets) < requested else 1
        futures = [
            pool.submit(run_target, t, settings, cancel=cancel, lanes=lanes, book=book)
            for t in targets
        ]
        return [f.result() for f in futures]
    except BaseException:  # Ctrl-C: stop every worker now rather than after their targets
        cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- in process


def _namespace_of(obj: Any) -> dict[str, Any]:
    if isinstance(obj, ModuleType):
        return dict(vars(obj))
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, SimpleNamespace):
        return dict(vars(obj))
    if isinstance(obj, type):
        return {obj.__name__: obj}
    if isinstance(obj, (list, tuple)) and all(isinstance(t, type) for t in obj):
        return {t.__name__: t for t in obj}
    if hasattr(obj, "__dict__"):
        return dict(vars(obj))
    raise TypeError(f"cannot check an object of type {type(obj).__name__}")


def run_namespace(namespace: Any, label: str, settings: Settings) -> TargetReport:
    """Check objects that are already loaded, in this process.

    ``namespace``: a dict of name -> class, a module object, a ``SimpleNamespace``, a class
    or a list of classes.  Components are discovered and checked here, each inside
    ``except (Exception, SystemExit)`` so one misbehaving component does not stop the
    others.  There is no child process, so neither the per-component timeout nor the memory
    limit can be enforced: a component that loops forever hangs the caller, one that calls
    ``os._exit`` ends it.  Use :func:`run_target` on a file for those guarantees.
    """
    from oracle.adapt import COMPONENTS, discover
    from oracle.checks import check_component

    t0 = time.monotonic()
    report = TargetReport(label, load_mode="object")
    unknown = _unknown_components(settings)
    if unknown:
        report.error = (
            f"unknown component name(s): {', '.join(unknown)} (known: {', '.join(COMPONENTS)})"
        )
        return report
    try:
        ns = _namespace_of(namespace)
    except TypeError as exc:
        report.error = str(exc)
        return report
    report.notes.append(
        "checked in this process: no time or memory limit, and the target's output is not captured"
    )
    try:
        found = discover(ns, settings.mapping)
    except Exception as exc:
        report.error = f"finding the components failed: {type(exc).__name__}: {exc}"
        return report
    from oracle.adapt import Found
    from oracle.custom import custom_classes
    from oracle.execute import check_found

    names = _components_of(settings)
    try:
        custom = custom_classes(ns, settings.mapping, found) if settings.custom else {}
    except Exception as exc:
        custom = {}
        report.notes.append(f"custom components not looked for: {type(exc).__name__}: {exc}")
    from oracle.adapt import names_that_name_nothing

    named = settings.components or [] if settings.named else []
    wrong = names_that_name_nothing(ns, found, settings.mapping, named, custom)
    if wrong is not None:
        report.error = wrong
        return report
    if _customs(settings):
        names += [n for n in custom if n not in names]
    for name in names:
        if name not in found and name in custom:
            found[name] = Found(custom[name], name, [])
        report.components.append(check_found(name, found.get(name), ns, settings,
                                             check_component))
    report.seconds = time.monotonic() - t0
    return report
