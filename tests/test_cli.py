"""The command line and the renderers behind it.

Two halves: the renderers on hand-built reports (no target is run), and
``nnfs-oracle`` itself on the tiny targets in tests/fixtures/ui/ (a correct
ReLU, a ReLU whose backward masks on dvalues, a file with a syntax error).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from oracle.adapt import COMPONENTS
from oracle.cli import main
from oracle.report import (
    render_html,
    render_json,
    render_junit_xml,
    render_table,
    render_text,
    use_color,
)
from oracle.results import CheckResult, ComponentResult, TargetReport

UI = Path(__file__).parent / "fixtures" / "ui"
RELU_OK = str(UI / "relu_ok.py")
RELU_BUGGY = str(UI / "relu_buggy.py")
FAST = ["--max-examples", "5", "--component", "Activation_ReLU"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def syntax_error(tmp_path: Path) -> str:
    # written at run time: a file with a syntax error cannot live in the tree (linters)
    path = tmp_path / "syntax_error.py"
    path.write_text("class Activation_ReLU:\n    def forward(self, inputs:\n        pass\n")
    return str(path)


# ---------------------------------------------------------------------------------------------
# renderers on hand-built reports


def _report() -> TargetReport:
    passing = [CheckResult("forward.output", "pass")] * 3
    relu_checks = [
        CheckResult("forward.output", "pass"),
        CheckResult(
            "backward.dinputs",
            "fail",
            "dinputs = [[0. 2.]], but should be [[0. 0.]]\nthe mask looks at dvalues <b>",
            {"max_abs_diff": float("nan")},
        ),
        CheckResult("backward.kink", "note", "a different valid subgradient at 0"),
        CheckResult("backward.other", "xfail", "expected failure (known): off by one"),
    ]
    return TargetReport(
        "students/alice.py",
        "defs-only",
        [
            ComponentResult(
                "Layer_Dense", "DenseLayer", "pass", passing, ["attribute d_inputs"], 0.21
            ),
            ComponentResult("Activation_ReLU", "Activation_ReLU", "fail", relu_checks, [], 0.05),
            ComponentResult("Layer_Dropout", None, "missing"),
            ComponentResult(
                "Optimizer_Adam", "Adam", "error", [CheckResult("run", "error", "timed out")], [], 1
            ),
        ],
        None,
        ["nnfs.init() was called: float32"],
        1.5,
    )


def test_text_report_lines() -> None:
    text = render_text(_report())
    lines = text.splitlines()
    assert lines[0].startswith("students/alice.py") and "defs-only" in lines[0]
    assert "nnfs.init() was called: float32" in text
    assert any(line.split()[:3] == ["PASS", "Layer_Dense", "(DenseLayer)"] for line in lines)
    assert "3 checks" in text and "adapted: attribute d_inputs" in text
    assert any(line.split()[:2] == ["FAIL", "Activation_ReLU"] for line in lines)
    # the failing check and every line of its message, indented under the component
    i = next(i for i, line in enumerate(lines) if "backward.dinputs" in line)
    assert lines[i + 1].strip() == "dinputs = [[0. 2.]], but should be [[0. 0.]]"
    assert lines[i + 2].strip() == "the mask looks at dvalues <b>"
    assert lines[i + 1].startswith(" " * 12)
    assert any("note" in line and "backward.kink" in line for line in lines)
    assert any(line.split()[:2] == ["MISSING", "Layer_Dropout"] for line in lines)
    assert any(line.split()[:2] == ["ERROR", "Optimizer_Adam"] for line in lines)
    assert "timed out" in text
    assert "1 passed, 1 failed, 1 errors, 1 missing" in text
    assert lines[-1].startswith("exit 1")
    assert "\x1b[" not in text  # no colour unless asked


def test_text_colour_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "\x1b[" in render_text(_report(), color=True)

    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty())  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())  # type: ignore[arg-type]


def test_text_unusable_target() -> None:
    r = TargetReport("bob.py", error="SyntaxError: invalid syntax (line 2)\n    def f(:")
    text = render_text(r)
    assert "SyntaxError" in text and "def f(:" in text
    assert text.splitlines()[-1].startswith("exit 2")


def test_text_nothing_found_says_so() -> None:
    r = TargetReport(
        "empty.py", components=[ComponentResult(n, None, "missing") for n in COMPONENTS]
    )
    text = render_text(r)
    assert "nothing was checked" in text and "--map" in text
    assert r.exit_code == 2 and text.splitlines()[-1].startswith("exit 2")
    assert r.error is None and "--map" in r.to_dict()["error"]  # JSON: error set iff exit 2


def test_table_of_several_targets() -> None:
    ok = TargetReport(
        "carol.py",
        components=[
            ComponentResult("Layer_Dense", "Layer_Dense", "pass"),
            ComponentResult("Activation_ReLU", "Activation_ReLU", "pass"),
        ],
    )
    bad = TargetReport("bob.py", error="SyntaxError: invalid syntax")
    table = render_table([_report(), ok, bad])
    lines = table.splitlines()
    head = lines[0].split()
    assert head[0] == "target" and "Dense" in head and "ReLU" in head and "Adam" in head
    alice = next(line for line in lines if line.startswith("students/alice.py")).split()
    assert alice[head.index("Dense")] == "ok"
    assert alice[head.index("ReLU")] == "FAIL"
    assert alice[head.index("Adam")] == "err"
    carol = next(line for line in lines if line.startswith("carol.py")).split()
    assert carol[head.index("Adam")] == "-"
    assert any(line.startswith("bob.py") and "unusable" in line for line in lines)
    assert "not found in any target: Layer_Dropout" in table
    assert "3 targets: 1 passing, 1 failing, 1 unusable" in table


def test_json_structure_of_hand_built_report() -> None:
    data = json.loads(render_json(_report()))
    assert data["target"] == "students/alice.py"
    comp = {c["name"]: c for c in data["components"]}
    assert comp["Layer_Dense"]["class"] == "DenseLayer"
    assert comp["Layer_Dropout"]["class"] is None
    assert comp["Layer_Dropout"]["status"] == "missing"
    assert comp["Activation_ReLU"]["status"] == "fail"
    check = comp["Activation_ReLU"]["checks"][1]
    assert {"name", "status", "message"} <= set(check)
    assert check["details"]["max_abs_diff"] == "nan"  # still strict JSON
    assert data["summary"]["fail"] == 1 and data["summary"]["exit_code"] == 1
    several = json.loads(render_json([_report(), _report()]))
    assert isinstance(several, list) and len(several) == 2


def test_junit_xml_is_valid_and_counts() -> None:
    bad = TargetReport("bob.py", error="SyntaxError \x00 in <here> & there")
    root = ET.fromstring(render_junit_xml([_report(), bad]))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["students/alice.py", "bob.py"]
    cases = suites[0].findall("testcase")
    relu = [c for c in cases if c.get("classname") == "students/alice.py::Activation_ReLU"]
    assert [c.get("name") for c in relu] == [
        "forward.output",
        "backward.dinputs",
        "backward.kink",
        "backward.other",
    ]
    failure = relu[1].find("failure")
    assert failure is not None and "should be" in (failure.text or "")
    assert relu[3].find("skipped") is not None  # xfail
    dropout = [c for c in cases if c.get("classname") == "students/alice.py::Layer_Dropout"]
    assert dropout and all(c.find("skipped") is not None for c in dropout)
    assert suites[0].get("failures") == "1" and suites[0].get("errors") == "1"
    assert suites[1].find("testcase/error") is not None


class _Tags(HTMLParser):
    """Checks that every tag opened is closed, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, (self.stack, tag)
        self.stack.pop()


def test_html_is_escaped() -> None:
    page = render_html(_report())
    tags = _Tags()
    tags.feed(page)
    assert tags.stack == []
    assert "<table>" in page and "DenseLayer" in page
    assert "dvalues &lt;b&gt;" in page and "dvalues <b>" not in page
    assert "<pre>" in render_html(TargetReport("x<y>.py", error="boom <script>"))
    assert "<script>" not in render_html(TargetReport("x<y>.py", error="boom <script>"))


# ---------------------------------------------------------------------------------------------
# command line: arguments (no target is run)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "nnfs-oracle" in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--map", "Activation_RELU=MyReLU"], "did you mean 'Activation_ReLU'"),
        (["--map", "Layer_Dense=Dense,Activaton_ReLU=R"], "did you mean 'Activation_ReLU'"),
        (["--map", "MyReLU=Activation_ReLU"], "did you mean Activation_ReLU=MyReLU"),
        (["--map", "Layer_Dense"], "BookName=YourName"),
        (["--map", "Layer_Dense="], "no class name"),
        (["--component", "relu"], "did you mean 'Activation_ReLU'"),
        (["--component", "Optimiser_Adam"], "did you mean 'Optimizer_Adam'"),
        (["--max-examples", "0"], "positive integer"),
        (["--timeout", "-1"], "positive number"),
        (["--profile", "fast"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", RELU_OK, *args]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_list_components_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in COMPONENTS:
        assert name in out
    assert main(["list", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert list(table) == list(COMPONENTS)
    assert all(isinstance(v, list) and v for v in table.values())


# ---------------------------------------------------------------------------------------------
# command line on real targets (these run the engine)


def test_correct_relu_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", RELU_OK, *FAST]) == 0
    out = capsys.readouterr().out
    assert any(line.split()[:2] == ["PASS", "Activation_ReLU"] for line in out.splitlines())
    assert out.splitlines()[-1].startswith("exit 0")


def test_relu_masking_on_dvalues_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    # also shows that only definitions are loaded: the file ends in `raise SystemExit`
    assert main(["check", RELU_BUGGY, *FAST]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.split()[:2] == ["FAIL", "Activation_ReLU"] for line in lines)
    assert any(line.split()[:2] == ["FAIL", "backward.dinputs"] for line in lines), out


def test_syntax_error_exits_2(syntax_error: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", syntax_error, *FAST]) == 2
    out = capsys.readouterr().out
    assert "syntax" in out.lower()
    assert out.splitlines()[-1].startswith("exit 2")


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "nope.py"), *FAST]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_import_mode_runs_top_level_code(capsys: pytest.CaptureFixture[str]) -> None:
    # relu_buggy.py raises SystemExit at import: imported, it is not usable
    assert main(["check", RELU_BUGGY, "--import", *FAST]) == 2


def test_json_stdout_is_only_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "oracle.cli", "check", RELU_OK, "--json", *FAST],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    documents = json.loads(proc.stdout)  # the whole of stdout
    assert isinstance(documents, list) and len(documents) == 1  # a list, even of one target
    data = documents[0]
    assert data["target"] == RELU_OK
    comp = {c["name"]: c for c in data["components"]}
    relu = comp["Activation_ReLU"]
    assert relu["class"] == "Activation_ReLU" and relu["status"] == "pass"
    assert relu["checks"] and all({"name", "status", "message"} <= set(c) for c in relu["checks"])
    assert all(c["status"] in ("pass", "note", "skip") for c in relu["checks"])
    assert data["summary"]["pass"] == 1 and data["summary"]["exit_code"] == 0


def test_several_targets_table_json_and_junit(
    syntax_error: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # short relative names, as a teacher would type them in the folder of submissions
    for f in ("relu_ok.py", "relu_buggy.py"):
        shutil.copy(UI / f, tmp_path / f)
    monkeypatch.chdir(tmp_path)
    targets = ["relu_ok.py", "relu_buggy.py", "syntax_error.py"]
    xml_path = tmp_path / "junit.xml"
    code = main(["check", *targets, *FAST, "--jobs", "2", "--junit-xml", str(xml_path)])
    assert code == 2  # the worst of 0, 1 and 2
    out = capsys.readouterr().out
    assert "3 targets: 1 passing, 1 failing, 1 unusable" in out
    lines = out.splitlines()
    head = next(line for line in lines if line.startswith("target")).split()
    rows = {
        line.split()[0]: line.split()
        for line in lines
        if line.split()[:1] in [[t] for t in targets]
    }
    assert rows["relu_ok.py"][head.index("ReLU")] == "ok"
    assert rows["relu_buggy.py"][head.index("ReLU")] == "FAIL"
    assert rows["syntax_error.py"][1] == "unusable:"

    root = ET.parse(xml_path).getroot()
    assert [s.get("name") for s in root.findall("testsuite")] == targets
    assert int(root.findall("testsuite")[1].get("failures") or 0) >= 1
    assert root.findall("testsuite")[2].find("testcase/error") is not None

    assert main(["check", "relu_ok.py", "relu_buggy.py", *FAST, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert [d["target"] for d in data] == ["relu_ok.py", "relu_buggy.py"]


def test_unwritable_junit_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("")
    bad = tmp_path / "a-file" / "junit.xml"  # a folder cannot be made where a file is
    assert main(["check", RELU_OK, *FAST, "--junit-xml", str(bad)]) == 2
    assert "cannot write JUnit XML" in capsys.readouterr().err
