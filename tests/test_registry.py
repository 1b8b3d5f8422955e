"""One registry: the reference, the spec table, discovery, the CLI's list and the pytest
plugin's items all describe the same components with the same checks, and every check
name is a registered property."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

import reference
from oracle import properties as P
from oracle.adapt import COMPONENTS, discover
from oracle.checks import check_names, run_check
from oracle.cli import main as cli_main
from oracle.settings import Settings
from oracle.spec import SPECS, Spec, typical

pytest_plugins = ["pytester"]

UI = Path(__file__).parent / "fixtures" / "ui"


def test_every_reference_class_is_one_record_and_every_record_a_reference_class() -> None:
    classes = {n for n in reference.__all__ if isinstance(getattr(reference, n), type)}
    assert classes == set(SPECS)
    for name, spec in SPECS.items():
        assert spec.reference is getattr(reference, name), name


def test_discovery_lists_the_records_in_their_order() -> None:
    assert COMPONENTS == list(SPECS)
    found = discover({name: getattr(reference, name) for name in SPECS})
    assert {k for k, f in found.items() if f.cls is not None} == set(SPECS)


@pytest.mark.parametrize("name", list(SPECS))
def test_each_alias_finds_its_component_alone(name: str) -> None:
    for alias in SPECS[name].aliases:
        found = discover({alias: type(alias, (), {})})
        hits = [k for k, f in found.items() if f.cls is not None]
        assert hits == [name], (alias, hits)


@pytest.mark.parametrize("name", list(SPECS))
def test_each_component_has_checks_and_each_check_one_property(name: str) -> None:
    spec = SPECS[name]
    names = check_names(name)
    assert names, name
    for check in names:
        props = [p for p in P.properties_for(spec) if p.name == check]
        assert len(props) == 1, (name, check, props)
        assert props[0].test.__doc__, f"{check}: a property states what it checks"
    typical(spec)  # every record can make its typical case


class _Strided:
    """A custom layer with an option (its records carry a variant built with stride 2)."""

    def __init__(self, n_features, stride=1):
        self.scale = np.random.randn(1, n_features)

    def forward(self, inputs):
        self.inputs = inputs
        self.output = inputs * self.scale

    def backward(self, dvalues):
        self.dscale = np.sum(dvalues * self.inputs, axis=0, keepdims=True)
        self.dinputs = dvalues * self.scale


class _Loss:
    def forward(self, y_pred, y_true):
        return np.mean((y_pred - y_true) ** 2, axis=-1)

    def backward(self, dvalues, y_true):
        self.dinputs = 2 * (dvalues - y_true) / dvalues.shape[1] / len(dvalues)


def test_every_property_applies_to_some_component() -> None:
    from oracle.custom import custom_spec, plan_for_class

    made_at_run_time = [custom_spec(plan_for_class(c.__name__, c)) for c in (_Strided, _Loss)]
    assert made_at_run_time[0].plan.variants  # stride=2
    for prop in P.PROPERTIES:
        assert any(prop.applies(s) for s in [*SPECS.values(), *made_at_run_time]), prop.name


def test_an_unknown_check_name_is_an_error_not_a_skip() -> None:
    spec = SPECS["Activation_ReLU"]
    r = run_check(spec, "no_such_check", spec.reference, namespace={}, settings=Settings())
    assert r.status == "error" and "no_such_check" in r.message


def test_a_record_that_lacks_what_it_needs_is_refused() -> None:
    spec = SPECS["Optimizer_Adam"]
    with pytest.raises(ValueError, match="update rule"):
        dataclasses.replace(spec, optimizer=None)
    with pytest.raises(ValueError, match="typical"):
        Spec("X", "activation", spec.reference, spec.cases)


def test_the_cli_list_is_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["list"]) == 0
    out = capsys.readouterr().out
    listed = {line.strip() for line in out.splitlines() if "::" in line}
    assert listed == {f"{c}::{k}" for c in SPECS for k in check_names(c)}


def test_the_plugin_collects_the_registry(pytester: pytest.Pytester) -> None:
    shutil.copy(UI / "relu_ok.py", pytester.path / "relu_ok.py")
    result = pytester.runpytest("-p", "no:nnfs_oracle", "-p", "oracle.pytest_plugin",
                                "-p", "no:cacheprovider", "--oracle-target=relu_ok.py",
                                "--collect-only", "-q")
    items = {line for line in result.stdout.lines if line.startswith("nnfs-oracle::")}
    assert items == {f"nnfs-oracle::{c}::{k}" for c in SPECS for k in check_names(c)}
