"""pytest plugin: one test per component x check of an nnfs implementation.

Inert unless a target is named::

    pytest --oracle-target=my_network.py [--oracle-map Layer_Dense=DenseLayer]
           [--oracle-max-examples N] [--oracle-xfails-file oracle-xfails.txt]
           [-k "Activation_ReLU"] [-n auto]

The target can also come from the environment (``NNFS_ORACLE_TARGET``) or the ini
file (``oracle_target = my_network.py``). The report header echoes the target and
every oracle setting, to catch typos.

Tests are named ``nnfs-oracle::Component::check`` (e.g.
``nnfs-oracle::Layer_Dense::backward.dweights``), so ``-k`` selects them. Collection
only lists names (it never runs the target). The first test to run checks, in a
child process, every component that has a selected test; the verdicts are cached
in this process and each test reads its own. A missing component skips its tests.

The xfails file holds one entry per line, with a reason after ``#``::

    # the book's published MAE backward has the opposite sign
    Loss_MeanAbsoluteError::backward.dinputs   # book erratum, kept on purpose
    Optimizer_Adam                              # not finished yet

Entries that pass are stale: a warning at the end of the session says so.

Under pytest-xdist (``-n auto``) every worker collects the same tests, and a worker
runs a component (alone) the first time it meets one of its tests. ``--dist
loadscope`` sends all the tests of a component to one worker, so each runs once.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

from oracle.results import CheckResult, ComponentResult, TargetReport
from oracle.settings import Settings

TARGET_ENV = "NNFS_ORACLE_TARGET"
ROOT_NAME = "nnfs-oracle"
_PROP = "nnfs_oracle_xfail"  # user_properties key: "passed:KEY" / "failed:KEY"


class OracleStaleXfailWarning(pytest.PytestWarning):
    """An entry of the xfails file whose checks passed."""


@dataclasses.dataclass
class _State:
    target: str
    source: str  # where the target came from
    settings: Settings
    xfails: dict[str, str]
    xfails_file: str | None
    xfail_lines: dict[str, int]  # entry -> its line in the xfails file
    # per-process cache: component -> its result, or the reason the target is unusable
    cache: dict[str, ComponentResult | str] = dataclasses.field(default_factory=dict)
    unusable_shown: bool = False  # whether a test already showed why the target is unusable
    # components with at least one selected test, in book order
    selected: list[str] = dataclasses.field(default_factory=list)
    # controller side: xfail entry -> {"passed": n, "failed": n}
    xfail_outcomes: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)


_STATE = pytest.StashKey[_State]()


# ---------------------------------------------------------------------------------------------
# options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nnfs-oracle", "nnfs-oracle: check an nnfs implementation")
    group.addoption(
        "--oracle-target",
        dest="oracle_target",
        default=None,
        metavar="TARGET",
        help=f"file, notebook, package dir or module to check (or env {TARGET_ENV}, "
        "or ini oracle_target); without it the plugin does nothing",
    )
    group.addoption(
        "--oracle-map",
        dest="oracle_map",
        action="append",
        default=[],
        metavar="BOOK=YOURS",
        help="name your class for a book class, e.g. Layer_Dense=DenseLayer "
        "(repeatable, or comma-separated)",
    )
    group.addoption(
        "--oracle-max-examples",
        dest="oracle_max_examples",
        type=int,
        default=None,
        metavar="N",
        help="examples per property (overrides the profile)",
    )
    group.addoption(
        "--oracle-xfails-file",
        dest="oracle_xfails_file",
        default=None,
        metavar="FILE",
        help="expected failures, one 'Component::check  # reason' per line",
    )
    group.addoption(
        "--oracle-seed",
        dest="oracle_seed",
        type=int,
        default=None,
        metavar="N",
        help="input seed (default 0)",
    )
    group.addoption(
        "--oracle-profile",
        dest="oracle_profile",
        default=None,
        metavar="NAME",
        help="dev | default | ci | thorough (default: default)",
    )
    group.addoption(
        "--oracle-timeout",
        dest="oracle_timeout",
        type=float,
        default=None,
        metavar="S",
        help="seconds per component before it is stopped (default 60)",
    )
    group.addoption(
        "--oracle-import",
        dest="oracle_import",
        action="store_true",
        default=False,
        help="import the target normally (runs its top-level code)",
    )
    parser.addini("oracle_target", "nnfs-oracle: the target to check", default=None)
    parser.addini("oracle_map", "nnfs-oracle: Book=Yours mappings", type="args", default=[])
    parser.addini("oracle_xfails_file", "nnfs-oracle: expected failures file", default=None)


def parse_xfails_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read an xfails file: ``Component[::check]  # reason`` per line; ``ValueError`` if bad."""
    return _parse_xfails(path)[0]


def _parse_xfails(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, int]]:
    """The entries of an xfails file and the line number of each."""
    from oracle.api import validate_expected_failures

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the xfails file {os.fspath(path)!r}: {exc}") from None
    out: dict[str, str] = {}
    lines: dict[str, int] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        entry, _, reason = line.partition("#")
        entry, reason = entry.strip(), reason.strip()
        where = f"{os.fspath(path)}:{lineno}"
        if not reason:
            raise ValueError(
                f"{where}: entry {entry!r} has no reason; write it as "
                f"'{entry}  # why it is expected to fail'"
            )
        if " " in entry or "\t" in entry:
            raise ValueError(f"{where}: {entry!r} is not one 'Component' or 'Component::check'")
        try:
            checked = validate_expected_failures({entry: reason})
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        for key, why in checked.items():
            if key in out:
                raise ValueError(f"{where}: {key!r} is listed twice")
            out[key] = why
            lines[key] = lineno
    return out, lines


def _resolve_target(config: pytest.Config) -> tuple[str, str] | None:
    opt = config.getoption("oracle_target")
    if opt:
        return str(opt), "--oracle-target"
    env = os.environ.get(TARGET_ENV, "").strip()
    if env:
        return env, f"${TARGET_ENV}"
    ini = config.getini("oracle_target")
    if ini:
        value = str(ini).strip()
        if config.inipath is not None:
            candidate = Path(config.inipath).parent / value
            if candidate.exists():
                value = str(candidate)
        return value, f"ini oracle_target ({config.inipath})"
    return None


def pytest_configure(config: pytest.Config) -> None:
    found = _resolve_target(config)
    if found is None:
        return  # inert
    target, source = found
    from oracle.api import make_settings

    maps = list(config.getini("oracle_map") or []) + list(config.getoption("oracle_map") or [])
    seed = config.getoption("oracle_seed")
    profile = config.getoption("oracle_profile")
    timeout = config.getoption("oracle_timeout")
    try:
        settings = make_settings(
            mapping=maps,
            max_examples=config.getoption("oracle_max_examples"),
            seed=0 if seed is None else seed,
            profile="default" if profile is None else profile,
            timeout=60.0 if timeout is None else timeout,
            import_mode=bool(config.getoption("oracle_import")),
        )
    except ValueError as exc:
        raise pytest.UsageError(f"nnfs-oracle: {exc}") from None

    xfails_file = config.getoption("oracle_xfails_file")
    if not xfails_file:
        ini_file = config.getini("oracle_xfails_file")
        if ini_file and config.inipath is not None:
            xfails_file = str(Path(config.inipath).parent / str(ini_file).strip())
    xfails: dict[str, str] = {}
    xfail_lines: dict[str, int] = {}
    if xfails_file:
        try:
            xfails, xfail_lines = _parse_xfails(xfails_file)
        except ValueError as exc:
            raise pytest.UsageError(f"nnfs-oracle: {exc}") from None

    state = _State(target, source, settings, xfails, xfails_file, xfail_lines)
    config.stash[_STATE] = state
    config.pluginmanager.register(_ActivePlugin(config, state), "nnfs_oracle_active")


# ---------------------------------------------------------------------------------------------
# collection and running


class OracleFailure(Exception):
    """A check's verdict was fail or error; its text is the whole failure report."""


class OracleItem(pytest.Item):
    """One check of one component; its name is ``Component::check``."""

    def __init__(self, *, component: str, check: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.component = component
        self.check_name = check
        self.extra_keyword_matches.update({component, check, f"{component}::{check}"})

    def _state(self) -> _State:
        return self.config.stash[_STATE]

    def _result(self) -> ComponentResult | str:
        state = self._state()
        if self.component not in state.cache:
            if hasattr(self.config, "workerinput"):
                # an xdist worker: the other components' tests may run elsewhere
                batch = [self.component]
            else:
                # one process runs every selected test: one child for all their components
                batch = [c for c in state.selected if c not in state.cache]
                if self.component not in batch:
                    batch.append(self.component)
            state.cache.update(_run_components(state, batch))
        return state.cache[self.component]

    def _xfail_entry(self) -> tuple[str, str] | None:
        from oracle.api import _matches, _split_key

        for key, reason in self._state().xfails.items():
            comp, pattern = _split_key(key)
            if comp == self.component and _matches(self.check_name, pattern):
                return key, reason
        return None

    def runtest(self) -> None:
        state = self._state()
        result = self._result()
        if isinstance(result, str):
            if state.unusable_shown:  # the reason was shown in full once already
                raise OracleFailure(
                    f"the target {state.target!r} could not be checked "
                    "(the reason is in the first failure)"
                )
            state.unusable_shown = True
            raise OracleFailure(f"the target {state.target!r} could not be checked:\n{result}")
        if result.status == "missing":
            pytest.skip(
                f"{self.component} was not found in {state.target} "
                f"(if yours has another name: --oracle-map {self.component}=YourName)"
            )
        check = _find_check(result, self.check_name)
        entry = self._xfail_entry()
        whole = [c for c in result.checks if c.status in ("fail", "error")
                 and c.name not in _static_names(self.component)]
        if check is not None and check.status == "skip" and whole:
            check = whole[0]  # no check could run: the component's own verdict says why
        if check is None:
            failing = [c for c in result.checks if c.status in ("fail", "error")]
            if result.status in ("fail", "error") and not any(
                c.name in _static_names(self.component) for c in failing
            ):
                # the component as a whole could not be checked (crash, timeout)
                check = (
                    failing[0]
                    if failing
                    else CheckResult("component", "error", f"{self.component} could not be checked")
                )
            else:
                pytest.skip(f"{self.component}::{self.check_name} was not run")
        assert check is not None
        if check.status in ("fail", "error"):
            if entry is not None:
                self.user_properties.append((_PROP, f"failed:{entry[0]}"))
                pytest.xfail(f"{entry[1]} [{entry[0]}]")
            raise OracleFailure(self._failure_text(check))
        if entry is not None and check.status in ("pass", "note"):
            self.user_properties.append((_PROP, f"passed:{entry[0]}"))
        if check.status == "skip":
            pytest.skip(check.message or "skipped by the oracle")
        if check.status == "xfail":
            pytest.xfail(check.message or "expected failure")
        if check.status == "note" and check.message:
            self.add_report_section("call", "nnfs-oracle note", check.message)

    def _failure_text(self, check: CheckResult) -> str:
        state = self._state()
        message = check.message.strip("\n") or f"{self.component}::{check.name} failed"
        if check.status == "error":
            message = f"could not be checked: {message}"
        repro = "reproduce: " + state.settings.replay(self.component, str(state.target))
        return f"{message}\n\n{repro}"

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, OracleFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # the domain heads a failure's section; it is not a suffix of the nodeid, so that
        # the verbose line shows the nodeid as it is (pytest would turn "." into "::")
        return self.path, None, f"nnfs-oracle: {self.component}::{self.check_name}"


class OracleCollector(pytest.Collector):
    """The root of the oracle's tests: one item per component x check name."""

    def collect(self) -> list[pytest.Item]:
        from oracle.adapt import COMPONENTS

        items: list[pytest.Item] = []
        for component in COMPONENTS:
            for check in _static_names(component):
                items.append(
                    OracleItem.from_parent(
                        self, name=f"{component}::{check}", component=component, check=check
                    )
                )
        return items


def _static_names(component: str) -> list[str]:
    from oracle.checks import check_names

    return list(check_names(component))


def _find_check(result: ComponentResult, name: str) -> CheckResult | None:
    for c in result.checks:
        if c.name == name:
            return c
    return None


def _run_components(state: _State, components: list[str]) -> dict[str, ComponentResult | str]:
    """Run some components of the target (in a child process).

    Each gets its result, or (a str) the reason the target could not be checked.
    """
    from oracle.api import restrict, run_settings

    try:
        report: TargetReport = run_settings(state.target, restrict(state.settings, components))
    except Exception as exc:  # reported as the failure of each of their tests
        return dict.fromkeys(components, f"{type(exc).__name__}: {exc}")
    if report.error is not None:
        return dict.fromkeys(components, report.error)
    out: dict[str, ComponentResult | str] = {c.name: c for c in report.components}
    for name in components:
        out.setdefault(name, ComponentResult(name, None, "missing"))
    return out


class _ActivePlugin:
    """Hooks that exist only when a target is named."""

    def __init__(self, config: pytest.Config, state: _State) -> None:
        self.config = config
        self.state = state

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        s = self.state.settings
        mapping = ", ".join(f"{k}={v}" for k, v in s.mapping.items()) or "(none)"
        if self.state.xfails_file:
            n = len(self.state.xfails)
            xf = f"{self.state.xfails_file} ({n} {'entry' if n == 1 else 'entries'})"
        else:
            xf = "(none)"
        return [
            f"nnfs-oracle: target={self.state.target} (from {self.state.source})",
            f"nnfs-oracle: map={mapping}; max_examples={s.examples} (profile {s.profile}); "
            f"seed={s.seed}; timeout={s.timeout:g}s; import_mode={s.import_mode}; "
            f"xfails_file={xf}",
        ]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        # tryfirst: our items exist before -k / -m deselection runs
        root = OracleCollector.from_parent(session, name=ROOT_NAME, nodeid=ROOT_NAME)
        new = root.collect()
        # tell the terminal (and any other listener) what was collected, as for a file
        config.hook.pytest_collectreport(
            report=pytest.CollectReport(root.nodeid, "passed", None, list(new))
        )
        items.extend(new)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        names = {item.component for item in session.items if isinstance(item, OracleItem)}
        from oracle.adapt import COMPONENTS

        self.state.selected = [c for c in COMPONENTS if c in names]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name != _PROP:
                continue
            outcome, _, key = str(value).partition(":")
            counts = self.state.xfail_outcomes.setdefault(key, {"passed": 0, "failed": 0})
            counts[outcome] = counts.get(outcome, 0) + 1

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):
            return  # an xdist worker: the controller gathers every worker's outcomes
        for key, counts in sorted(self.state.xfail_outcomes.items()):
            if counts.get("passed", 0) and not counts.get("failed", 0):
                reason = self.state.xfails.get(key, "")
                warning = OracleStaleXfailWarning(
                    f"stale entry {key!r} ({reason}): it passed; remove it from the xfails file"
                )
                try:  # pointed at the entry's line, so editors and CI logs can jump there
                    warnings.warn_explicit(
                        warning,
                        category=OracleStaleXfailWarning,
                        filename=str(self.state.xfails_file),
                        lineno=self.state.xfail_lines.get(key, 0),
                    )
                except Warning:  # -W error turned it into an exception: still tell the user
                    self.config.get_terminal_writer().line(f"\nnnfs-oracle: {warning}")
