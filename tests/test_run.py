"""oracle.run / oracle.worker: misbehaving targets are contained, reported, and never hang us.

The worker runs a tiny engine (tests/fixtures/load/engine_stub.py: build the class, call
forward) through the NNFS_ORACLE_ENGINE hook, so these tests exercise the process handling
and not the real checks.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import oracle.checks
from oracle import run
from oracle.adapt import COMPONENTS
from oracle.results import CheckResult, ComponentResult
from oracle.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "load"
HOSTILE = str(FIXTURES / "hostile.py")


def line_of(text: str, path: str = HOSTILE) -> int:
    return next(i for i, line in enumerate(open(path), 1) if text in line)


@pytest.fixture(autouse=True)
def _stub_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNFS_ORACLE_ENGINE", f"{FIXTURES / 'engine_stub.py'}:check_component")


def settings(**kw: Any) -> Settings:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("memory_mb", 512)
    return Settings(**kw)


def message(result: ComponentResult) -> str:
    return "\n".join(c.message for c in result.checks)


def test_misbehaving_components_are_contained() -> None:
    wanted = [
        "Layer_Dense",  # behaves
        "Layer_Dropout",  # raises ValueError: an ordinary failing check
        "Activation_ReLU",  # endless loop
        "Activation_Softmax",  # sys.exit(3)
        "Activation_Sigmoid",  # os._exit(7)
        "Activation_Linear",  # segmentation fault
        "Loss",  # allocates without bound
        "Loss_MeanSquaredError",  # input()
        "Loss_MeanAbsoluteError",  # KeyboardInterrupt
        "Optimizer_Adam",  # not defined by the target
    ]
    t0 = time.monotonic()
    report = run.run_target(HOSTILE, settings(components=wanted))
    elapsed = time.monotonic() - t0
    assert report.error is None
    assert [c.name for c in report.components] == [c for c in COMPONENTS if c in wanted]
    got = {c.name: c for c in report.components}

    assert got["Layer_Dense"].status == "pass"
    assert got["Layer_Dropout"].status == "fail" and "bad dropout" in message(got["Layer_Dropout"])

    relu = got["Activation_ReLU"]
    assert relu.status == "error" and relu.cls == "Activation_ReLU"
    assert "timed out after 2 s: its checks did not finish (an endless loop" in message(relu)
    assert relu.seconds >= 2.0

    softmax = message(got["Activation_Softmax"])
    assert got["Activation_Softmax"].status == "error"
    assert (
        "called sys.exit(3) during the checks" in softmax
        and f"hostile.py, line {line_of('sys.exit(3)')}" in softmax
    )

    sigmoid = message(got["Activation_Sigmoid"])
    assert got["Activation_Sigmoid"].status == "error"
    assert "exited with status 7" in sigmoid and "while checking Activation_Sigmoid" in sigmoid
    assert "about to leave" in sigmoid  # the target's last output

    linear = message(got["Activation_Linear"])
    assert got["Activation_Linear"].status == "error"
    assert "crashed with SIGSEGV (segmentation fault)" in linear
    assert f"hostile.py, line {line_of('string_at(0)')} in forward" in linear
    assert "about to crash" in linear

    # The memory limit turns the hoarding into a MemoryError the check reports.
    assert got["Loss"].status in ("fail", "error")
    assert "MemoryError" in message(got["Loss"]) or "memory" in message(got["Loss"])

    assert got["Loss_MeanSquaredError"].status == "fail"
    assert "called input()" in message(got["Loss_MeanSquaredError"])
    mae = got["Loss_MeanAbsoluteError"]
    assert mae.status == "error" and "raised KeyboardInterrupt" in message(mae)
    assert got["Optimizer_Adam"].status == "missing" and got["Optimizer_Adam"].cls is None

    assert report.exit_code == 1
    assert report.notes and report.notes[0].startswith("defs-only:")
    # One 2 s timeout, three restarts (~1-2 s each to import NumPy and the engine).
    assert elapsed < 40, elapsed


def test_load_error_is_the_report_error(tmp_path: Path) -> None:
    target = tmp_path / "broken.py"
    target.write_text("class Layer_Dense:\n    def forward(self inputs):\n        pass\n")
    report = run.run_target(str(target), settings())
    assert report.error is not None and "broken.py, line 2" in report.error
    assert report.components == [] and report.exit_code == 2


def test_load_timeout_in_import_mode(tmp_path: Path) -> None:
    target = tmp_path / "trains_forever.py"
    target.write_text("class Layer_Dense:\n    pass\nprint('epoch 1')\nwhile True:\n    pass\n")
    t0 = time.monotonic()
    report = run.run_target(str(target), settings(import_mode=True))
    assert report.error is not None
    assert report.error.startswith("loading timed out after 2 s: its top-level code did not finish")
    assert "epoch 1" in report.error
    assert time.monotonic() - t0 < 20


def test_death_while_loading(tmp_path: Path) -> None:
    target = tmp_path / "quits.py"
    target.write_text("import os\nclass Layer_Dense:\n    pass\nos._exit(5)\n")
    report = run.run_target(str(target), settings(import_mode=True))
    assert report.error is not None
    assert "exited with status 5" in report.error and "while loading the target" in report.error


def test_defs_only_is_the_default_and_import_mode_runs_top_level(tmp_path: Path) -> None:
    target = tmp_path / "model.py"
    target.write_text(
        "import numpy as np\n"
        "class Layer_Dense:\n"
        "    def __init__(self, i, o):\n        self.w = np.ones((i, o))\n"
        "    def forward(self, x):\n        self.output = x @ self.w\n"
        "raise RuntimeError('top-level training code')\n"
    )
    report = run.run_target(str(target), settings(components=["Layer_Dense"]))
    assert report.load_mode == "defs-only" and report.component("Layer_Dense").status == "pass"
    report = run.run_target(str(target), settings(components=["Layer_Dense"], import_mode=True))
    assert report.error is not None and "RuntimeError: top-level training code" in report.error


def test_unknown_component_name() -> None:
    report = run.run_target(HOSTILE, settings(components=["Layer_Dens"]))
    assert report.error is not None and report.error.startswith(
        "unknown component name(s): Layer_Dens"
    )


def test_run_targets_in_parallel_keeps_order(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n")
    targets = [str(FIXTURES / "flat"), str(broken), str(FIXTURES / "mynet")]
    reports = run.run_targets(targets, settings(components=["Layer_Dense"]), jobs=3)
    assert [r.target for r in reports] == targets
    assert reports[0].component("Layer_Dense").status == "pass"
    assert reports[1].error is not None and "syntax error" in reports[1].error
    assert reports[2].component("Layer_Dense").status == "pass"


# --------------------------------------------------------------------------- without processes


def test_repeated_deaths_before_any_component(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that loads and then dies before starting a component is not restarted forever."""
    runs: list[list[str]] = []

    def fake_run(self: Any) -> Any:
        runs.append(list(self.components))
        return run._Outcome(
            ready=True,
            loaded={"mode": "defs-only", "notes": [], "found": {"Layer_Dense": "Dense"}},
            failure="the worker process crashed with SIGKILL (killed) while loading the target",
            phase="components",
        )

    monkeypatch.setattr(run._Child, "run", fake_run)
    report = run.run_target("x.py", settings(components=["Layer_Dense", "Loss"]))
    assert len(runs) == run.MAX_FRUITLESS_RESTARTS
    dense = report.component("Layer_Dense")
    assert dense.status == "error" and dense.cls == "Dense"
    assert message(dense).startswith("never started: the worker process died repeatedly")


def test_death_message_names_the_memory_limit() -> None:
    child = run._Child("x.py", settings(memory_mb=512), ["Loss"])
    child.tail.extend(b"numpy.core._exceptions.MemoryError: Unable to allocate\n")
    text = child._death_message(-6, "Loss")
    assert text.startswith("the worker process crashed with SIGABRT (aborted) while checking Loss")
    assert "it probably exceeded the memory limit of 512 MB" in text
    child = run._Child("x.py", settings(memory_mb=512), ["Loss"])
    child.peak_kb = 500 * 1024  # close to the limit
    assert "memory limit of 512 MB" in child._death_message(-9, "Loss")
    assert "memory" not in run._Child("x.py", settings(), [])._death_message(-11, "Loss")


def test_run_namespace_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def engine(book_name: str, cls: type, **kw: Any) -> ComponentResult:
        cls()  # type: ignore[call-arg]
        return ComponentResult(book_name, cls.__name__, "pass", [CheckResult("x", "pass")])

    monkeypatch.setattr(oracle.checks, "check_component", engine)

    class Layer_Dense:
        pass

    class Activation_ReLU:
        def __init__(self) -> None:
            raise SystemExit(4)

    class Activation_Softmax:
        def __init__(self) -> None:
            raise ValueError("engine blew up")

    ns = SimpleNamespace(
        Layer_Dense=Layer_Dense,
        Activation_ReLU=Activation_ReLU,
        Activation_Softmax=Activation_Softmax,
    )
    report = run.run_namespace(
        ns,
        "my classes",
        settings(components=["Layer_Dense", "Activation_ReLU", "Activation_Softmax", "Loss"]),
    )
    assert report.load_mode == "object" and report.target == "my classes"
    assert "no time or memory limit" in report.notes[0]
    got = {c.name: c for c in report.components}
    assert got["Layer_Dense"].status == "pass"
    assert got["Activation_ReLU"].status == "error"
    assert "called sys.exit(4) during the checks" in message(got["Activation_ReLU"])
    assert "ValueError: engine blew up" in message(got["Activation_Softmax"])
    assert got["Loss"].status == "missing"


def test_cancel_stops_a_running_target_promptly() -> None:
    import threading

    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    t0 = time.monotonic()
    report = run.run_target(
        HOSTILE, settings(timeout=60, components=["Activation_ReLU", "Loss"]), cancel=cancel
    )
    assert time.monotonic() - t0 < 15
    if report.error is not None:  # interrupted while the worker was still starting
        assert "interrupted" in report.error
    else:
        assert all(c.status == "error" for c in report.components)
        assert "interrupted" in message(report.component("Activation_ReLU"))
