"""``oracle.check``: live objects as targets, expected failures, and the argument checks."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import oracle
from oracle.api import apply_expected_failures, parse_mapping, validate_expected_failures
from oracle.checks import check_names
from oracle.results import CheckResult, ComponentResult, TargetReport

UI = Path(__file__).parent / "fixtures" / "ui"


def _check(target: Any, **kwargs: Any) -> TargetReport:
    """oracle.check on the ReLU only, with few examples: fast."""
    return oracle.check(target, max_examples=5, components=["Activation_ReLU"], **kwargs)


class GoodReLU:
    def forward(self, inputs):  # type: ignore[no-untyped-def]
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):  # type: ignore[no-untyped-def]
        self.dinputs = dvalues.copy()
        self.dinputs[self.inputs <= 0] = 0


class MaskOnDvaluesReLU:
    def forward(self, inputs):  # type: ignore[no-untyped-def]
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):  # type: ignore[no-untyped-def]
        self.dinputs = dvalues.copy()
        self.dinputs[dvalues <= 0] = 0


def _relu(report: TargetReport) -> ComponentResult:
    return report.component("Activation_ReLU")


# ---------------------------------------------------------------------------------------------
# helpers, on hand-built reports (no target is run)


def test_parse_mapping_forms() -> None:
    assert parse_mapping(["Layer_Dense=DenseLayer,Activation_ReLU=ReLU", "Loss=LossBase"]) == {
        "Layer_Dense": "DenseLayer",
        "Activation_ReLU": "ReLU",
        "Loss": "LossBase",
    }
    assert parse_mapping("Layer_Dense = DenseLayer") == {"Layer_Dense": "DenseLayer"}
    assert parse_mapping({"Layer_Dense": "DenseLayer"}) == {"Layer_Dense": "DenseLayer"}
    assert parse_mapping(None) == {}
    with pytest.raises(ValueError, match="did you mean 'Layer_Dense'"):
        parse_mapping(["Layer_dense=X"])
    with pytest.raises(ValueError, match="mapped twice"):
        parse_mapping(["Layer_Dense=A", "Layer_Dense=B"])
    with pytest.raises(ValueError, match="not a Python class name"):
        parse_mapping(["Layer_Dense=my class"])


def _hand_report() -> TargetReport:
    checks = [
        CheckResult("forward.output", "pass"),
        CheckResult("backward.dinputs", "fail", "dinputs wrong"),
        CheckResult("backward.chain", "error", "raised IndexError"),
    ]
    return TargetReport(
        "t.py",
        components=[
            ComponentResult("Activation_ReLU", "ReLU", "fail", checks),
            ComponentResult("Layer_Dense", "Layer_Dense", "pass", [CheckResult("x", "pass")]),
            ComponentResult("Optimizer_Adam", None, "missing"),
        ],
    )


def test_apply_expected_failures_by_check_and_component() -> None:
    r = _hand_report()
    stale = apply_expected_failures(r, {"Activation_ReLU::backward.dinputs": "known bug"})
    assert stale == []
    relu = _relu(r)
    assert [c.status for c in relu.checks] == ["pass", "xfail", "error"]
    assert "known bug" in relu.checks[1].message and "dinputs wrong" in relu.checks[1].message
    assert relu.status == "error"  # the other check still errors

    r = _hand_report()
    apply_expected_failures(r, {"Activation_ReLU::backward": "whole backward"})  # dotted group
    assert _relu(r).status == "pass" and r.exit_code == 0

    r = _hand_report()
    apply_expected_failures(r, {"Activation_ReLU": "not finished"})
    assert [c.status for c in _relu(r).checks] == ["pass", "xfail", "xfail"]
    assert r.exit_code == 0


def test_apply_expected_failures_reports_stale_entries() -> None:
    r = _hand_report()
    stale = apply_expected_failures(
        r,
        {
            "Layer_Dense": "thought it was broken",
            "Optimizer_Adam": "not written yet",
            "Activation_ReLU::forward.output": "was broken",
        },
    )
    assert len(stale) == 3
    assert any("'Layer_Dense'" in s and "did not fail" in s for s in stale)
    assert any("'Optimizer_Adam'" in s and "not found" in s for s in stale)
    assert r.component("Layer_Dense").status == "pass"


def test_validate_expected_failures_rejects_typos() -> None:
    with pytest.raises(ValueError, match="did you mean 'Activation_ReLU'"):
        validate_expected_failures({"Activation_Relu": "x"})
    with pytest.raises(ValueError, match="needs a reason"):
        validate_expected_failures({"Activation_ReLU": ""})
    name = check_names("Activation_ReLU")[0]
    assert validate_expected_failures({f"Activation_ReLU::{name}": " r "}) == {
        f"Activation_ReLU::{name}": "r"
    }
    with pytest.raises(ValueError, match="has no check"):
        validate_expected_failures({"Activation_ReLU::no.such.check": "x"})


def test_bad_arguments_raise_clearly() -> None:
    with pytest.raises(TypeError, match="target must be"):
        oracle.check(42)
    with pytest.raises(ValueError, match="did you mean 'Activation_ReLU'"):
        oracle.check({"ReLU": GoodReLU}, components=["Activation_RelU"])
    with pytest.raises(ValueError, match="max_examples"):
        oracle.check({"ReLU": GoodReLU}, max_examples=0)
    with pytest.raises(ValueError, match="profile"):
        oracle.check({"ReLU": GoodReLU}, profile="quick")


# ---------------------------------------------------------------------------------------------
# live objects and files as targets (these run the engine)


def test_module_object_target() -> None:
    mod = types.ModuleType("student_net")
    mod.Activation_ReLU = GoodReLU  # type: ignore[attr-defined]
    report = _check(mod)
    assert report.error is None
    assert report.load_mode == "object"
    assert _relu(report).status == "pass", report
    assert report.exit_code == 0 and report.ok


def test_dict_target_with_mapping_and_a_bug() -> None:
    report = _check({"MyReLU": MaskOnDvaluesReLU}, mapping={"Activation_ReLU": "MyReLU"})
    relu = _relu(report)
    assert relu.cls in ("MyReLU", "MaskOnDvaluesReLU")
    assert relu.status == "fail", report
    failing = [c for c in relu.checks if c.status == "fail"]
    assert any(c.name.startswith("backward") for c in failing), report
    assert all(c.message for c in failing)
    assert report.exit_code == 1


def test_simplenamespace_target() -> None:
    ns = types.SimpleNamespace(Activation_ReLU=GoodReLU)
    assert _relu(_check(ns)).status == "pass"


def test_expected_failures_turn_fail_into_xfail() -> None:
    target = {"Activation_ReLU": MaskOnDvaluesReLU}
    first = _check(target)
    failing = [c.name for c in _relu(first).checks if c.status == "fail"]
    assert failing, first
    expected = {f"Activation_ReLU::{name}": "masks on dvalues, on purpose" for name in failing}
    report = _check(target, expected_failures=expected)
    relu = _relu(report)
    assert relu.status == "pass"
    assert sorted(c.name for c in relu.checks if c.status == "xfail") == sorted(failing)
    assert report.exit_code == 0
    assert not any("stale" in n for n in report.notes)


def test_expected_failure_that_passes_is_stale() -> None:
    report = _check(
        {"Activation_ReLU": GoodReLU},
        expected_failures={"Activation_ReLU": "I thought it was broken"},
    )
    assert _relu(report).status == "pass"
    assert any("stale" in n and "Activation_ReLU" in n for n in report.notes), report.notes


def test_file_targets_never_raise(tmp_path: Path) -> None:
    ok = _check(UI / "relu_ok.py")
    assert _relu(ok).status == "pass"
    bad = tmp_path / "broken.py"
    bad.write_text("class Activation_ReLU(:\n    pass\n")
    report = _check(str(bad))
    assert report.error is not None and report.exit_code == 2
