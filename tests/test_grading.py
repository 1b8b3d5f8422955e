"""Grading a class: a folder of submissions, a rubric, the formats graders read, shards.

The class is built at run time (a file with a syntax error cannot live in the tree) from the
example's correct classes: 13 submissions, among them correct files, one-bug files, a class
body that never ends, a syntax error, a class body that calls ``sys.exit``, renamed classes,
a notebook, a subfolder of two files that import each other, and a partial submission.  The
class is checked once per module; each test reads that run.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from oracle.cli import main
from oracle.rubric import read_rubric, rubric_from_dict
from oracle.targets import expand, shard

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "load"
FAST = ["--max-examples", "5", "--timeout", "6"]

RUBRIC = """\
split = "groups"

[components.Layer_Dense]
points = 10
groups = { forward = 2, gradients = 6, numerics = 1, conventions = 1 }

[components.Activation_ReLU]
points = 4
split = "all"

[components.Activation_Softmax]
points = 4

[components.Loss_CategoricalCrossentropy]
points = 6
[components.Loss_CategoricalCrossentropy.groups]
forward = 2
gradients = { points = 4, visibility = "hidden" }
"""

# By hand, from the rubric above and the one bug each submission has:
# Dense 10 (forward 2, gradients 6, numerics 1, conventions 1), ReLU 4 all or nothing,
# Softmax 4 in 4 equal groups, cross-entropy 6 (forward 2, gradients 4 hidden): 24 in all.
EXPECTED = {
    "alice.py": 24,  # correct
    "bob.py": 18,  # dweights halved: Dense loses its gradients (6)
    "carol.py": 20,  # cross-entropy gradient without '/ samples': its gradients (4)
    "dave.py": 0,  # a class body that never ends: not usable
    "erin.py": 0,  # a syntax error: not usable
    "frank.py": 20,  # Softmax's class body calls sys.exit: Softmax (4)
    "grace.py": 24,  # correct, every class renamed
    "heidi.py": 20,  # ReLU masks on dvalues: ReLU, all or nothing (4)
    "ivan.ipynb": 24,  # correct, a notebook
    "judy": 24,  # correct, a folder of two files that import each other
    "mallory.py": 14,  # only Dense and ReLU written (10 + 4)
    "oscar.py": 24,  # correct, with nnfs.init()
    "peggy.py": 22,  # one-hot loss summed over the whole batch: cross-entropy forward (2)
}


def _classes() -> str:
    src = (ROOT / "examples" / "seed_classes.py").read_text()
    body = src[src.index("class Layer_Dense"):]
    return body[:body.index("if __name__")] if "if __name__" in body else body


def _build(folder: Path) -> None:
    body = _classes()
    head = "import numpy as np\n\n"

    def write(name: str, text: str, old: str = "", new: str = "") -> None:
        if old:
            assert old in text, old
            text = text.replace(old, new, 1)
        (folder / name).write_text(text)

    write("alice.py", head + body)
    write("bob.py", head + body, "np.dot(self.inputs.T, dvalues)",
          "np.dot(self.inputs.T, dvalues) * 0.5")
    write("carol.py", head + body, "        self.dinputs = self.dinputs / samples\n", "")
    write("dave.py", head + body, "class Activation_ReLU:\n",
          "class Activation_ReLU:\n    while True:\n        pass\n")
    write("erin.py", head + body, "    def forward(self, inputs):\n        self.inputs = inputs\n"
          "        self.output = np.maximum", "    def forward(self, inputs)\n"
          "        self.inputs = inputs\n        self.output = np.maximum")
    write("frank.py", "import sys\n" + head + body, "class Activation_Softmax:\n",
          "class Activation_Softmax:\n    sys.exit('bye')\n")
    renamed = (body.replace("Layer_Dense", "DenseLayer").replace("Activation_ReLU", "ReLU")
               .replace("Activation_Softmax_Loss_CategoricalCrossentropy", "SoftmaxCrossEntropy")
               .replace("Activation_Softmax", "Softmax"))
    write("grace.py", head + renamed)
    write("heidi.py", head + body, "self.dinputs[self.inputs <= 0] = 0",
          "self.dinputs[dvalues <= 0] = 0")
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": text} for text in (head, body)]
    (folder / "ivan.ipynb").write_text(json.dumps({
        "cells": cells, "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    (folder / "judy").mkdir()
    cut = body.index("class Activation_Softmax:")
    write("judy/layers.py", head + body[:cut])
    write("judy/network.py", head + "from layers import Activation_ReLU, Layer_Dense\n\n"
          + body[cut:])
    write("mallory.py", head + body[:cut])
    write("oscar.py", "import nnfs\n" + head + "nnfs.init()\n\n" + body)
    write("peggy.py", head + body, "np.sum(y_pred_clipped * y_true, axis=1)",
          "np.sum(y_pred_clipped * y_true)")


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The class checked once, graded, written as JSON; and as three shards."""
    base = tmp_path_factory.mktemp("classroom")
    folder = base / "submissions"
    folder.mkdir()
    _build(folder)
    rubric = base / "rubric.toml"
    rubric.write_text(RUBRIC)
    out = base / "all.json"
    code = main(["check", str(folder), "--rubric", str(rubric), "--format", "json",
                 "-o", str(out), *FAST])
    shards = []
    for i in (1, 2, 3):
        path = base / f"shard{i}.json"
        assert main(["check", str(folder), "--rubric", str(rubric), "--format", "json",
                     "-o", str(path), "--shard", f"{i}/3", *FAST]) in (0, 1, 2)
        shards.append(path)
    return {"base": base, "folder": folder, "rubric": rubric, "code": code,
            "documents": json.loads(out.read_text()), "json": out, "shards": shards}


def _by_name(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["submission"]: d for d in documents}


def test_a_folder_of_submissions_is_one_target_per_submission(classroom: dict[str, Any]) -> None:
    docs = _by_name(classroom["documents"])
    assert sorted(docs) == sorted(EXPECTED)  # one verdict per file (and per subfolder)
    assert classroom["code"] == 2  # the worst: two submissions could not be used
    assert "timed out" in docs["dave.py"]["error"]
    assert "syntax error" in docs["erin.py"]["error"] and "line" in docs["erin.py"]["error"]
    # one student's classes never stand in for another's
    relu = {c["name"]: c for c in docs["heidi.py"]["components"]}["Activation_ReLU"]
    assert relu["status"] == "fail"
    assert all({c["name"]: c for c in docs[n]["components"]}["Activation_ReLU"]["status"]
               == "pass" for n in ("alice.py", "bob.py", "grace.py", "judy"))
    frank = {c["name"]: c for c in docs["frank.py"]["components"]}
    assert frank["Activation_Softmax"]["status"] == "error"
    assert frank["Layer_Dense"]["status"] == "pass"


def test_grades_equal_the_rubric_computed_by_hand(classroom: dict[str, Any]) -> None:
    docs = _by_name(classroom["documents"])
    assert {n: d["grade"]["score"] for n, d in docs.items()} == EXPECTED
    assert all(d["grade"]["max_score"] == 24 for d in docs.values())
    bob = {t["name"]: t for t in docs["bob.py"]["grade"]["tests"]}
    assert bob["Layer_Dense: gradients"]["score"] == 0
    assert bob["Layer_Dense: gradients"]["failed"]  # which checks it was
    assert bob["Layer_Dense: forward"]["score"] == 2


def test_csv_has_a_row_per_submission_and_a_column_per_component(
        classroom: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "grades.csv"
    assert main(["merge", str(classroom["json"]), "--format", "csv", "-o", str(out)]) == 2
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == ["submission", "target", "status", "Layer_Dense", "Activation_ReLU",
                             "Activation_Softmax", "Loss_CategoricalCrossentropy", "score",
                             "max_score"]
    assert {r["submission"]: float(r["score"]) for r in rows} == EXPECTED
    carol = next(r for r in rows if r["submission"] == "carol.py")
    assert carol["Loss_CategoricalCrossentropy"] == "2" and carol["status"] == "fail"
    assert next(r for r in rows if r["submission"] == "erin.py")["status"] == "unusable"


def test_gradescope_results_json(classroom: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "gs"
    main(["merge", str(classroom["json"]), "--format", "gradescope", "-o", str(out)])
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED)
    for name, score in EXPECTED.items():
        res = json.loads((out / name / "results.json").read_text())
        assert {"score", "execution_time", "stdout_visibility", "tests"} <= set(res)
        assert res["score"] == score
        assert sum(t["score"] for t in res["tests"]) == pytest.approx(score)
        for t in res["tests"]:
            assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(t)
            assert t["status"] == ("passed" if t["score"] == t["max_score"] else "failed")
    carol = json.loads((out / "carol.py" / "results.json").read_text())
    hidden = {t["name"]: t for t in carol["tests"]}["Loss_CategoricalCrossentropy: gradients"]
    assert hidden["visibility"] == "hidden" and hidden["status"] == "failed"
    erin = json.loads((out / "erin.py" / "results.json").read_text())
    assert "syntax error" in erin["output"]  # the student learns why everything is 0
    together = tmp_path / "all.json"  # a file name: every submission's results in one list
    main(["merge", str(classroom["json"]), "--format", "gradescope", "-o", str(together)])
    assert [r["score"] for r in json.loads(together.read_text())] == list(EXPECTED.values())


def test_feedback_says_what_failed_without_a_hidden_tests_inputs(
        classroom: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "feedback"
    main(["merge", str(classroom["json"]), "--format", "feedback", "-o", str(out)])
    carol = (out / "carol.py.txt").read_text()
    assert carol.startswith("carol.py: 20 / 24 points")
    assert "backward.dinputs" in carol and "likely cause" in carol  # what, and why
    assert "minimal failing input" not in carol and "np.array" not in carol  # hidden: no inputs
    heidi = (out / "heidi.py.txt").read_text()  # a visible test: the whole finding
    assert "minimal failing input" in heidi and "the mask is taken from dvalues" in heidi


def test_json_is_always_a_list(capsys: pytest.CaptureFixture[str],
                               classroom: dict[str, Any]) -> None:
    code = main(["check", str(classroom["folder"] / "alice.py"), "--json",
                 "--component", "Activation_ReLU", *FAST])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and isinstance(data, list) and len(data) == 1


def test_shards_merged_equal_the_unsharded_run(classroom: dict[str, Any], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    parts = [json.loads(p.read_text()) for p in classroom["shards"]]
    assert sorted(len(p) for p in parts) == [4, 4, 5]
    assert not {d["submission"] for d in parts[0]} & {d["submission"] for d in parts[1]}
    whole = tmp_path / "whole.csv"
    merged = tmp_path / "merged.csv"
    main(["merge", str(classroom["json"]), "--format", "csv", "-o", str(whole)])
    main(["merge", *map(str, reversed(classroom["shards"])), "--format", "csv", "-o",
          str(merged)])
    assert merged.read_text() == whole.read_text()
    capsys.readouterr()
    main(["merge", *map(str, classroom["shards"][:2]), "--format", "csv"])
    assert "shard missing" in capsys.readouterr().err  # a lost shard is said


def test_junit_has_only_the_assignment(classroom: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "junit.xml"
    main(["merge", str(classroom["json"]), "--format", "junit", "-o", str(out)])
    root = ET.parse(out).getroot()
    names = {c.get("classname", "").split("::")[-1] for c in root.iter("testcase")}
    assert names <= {"Layer_Dense", "Activation_ReLU", "Activation_Softmax",
                     "Loss_CategoricalCrossentropy", "load"}
    mallory = next(s for s in root.findall("testsuite") if s.get("name", "").endswith("mallory.py"))
    assert mallory.find("testcase[@name='present']/failure") is not None  # asked for, not there


def test_a_map_or_component_naming_nothing_is_a_usage_error(
        classroom: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    grace = str(classroom["folder"] / "grace.py")
    assert main(["check", grace, "--map", "Layer_Dense=DenseLayr", *FAST]) == 2
    assert "did you mean 'DenseLayer'?" in capsys.readouterr().out
    mallory = str(classroom["folder"] / "mallory.py")
    assert main(["check", mallory, "--component", "Activation_Softmax", *FAST]) == 2
    assert "--component Activation_Softmax: the target has no class" in capsys.readouterr().out


def test_a_project_folder_stays_one_target_and_a_tangled_one_asks(tmp_path: Path) -> None:
    # files that import each other and define no class twice: one project
    assert [s.path for s in expand([str(FIXTURES / "flat")]).submissions] == [
        str(FIXTURES / "flat")]
    tangled = tmp_path / "tangled"
    tangled.mkdir()
    (tangled / "a.py").write_text("class Layer_Dense:\n    def forward(self, x): pass\n")
    (tangled / "b.py").write_text("from a import *\n\nclass Layer_Dense:\n"
                                  "    def forward(self, x): pass\n")
    e = expand([str(tangled)])
    assert "--each" in e.errors[str(tangled)] and "--one" in e.errors[str(tangled)]
    assert len(expand([str(tangled)], "each").submissions) == 1  # b.py; a.py is imported
    assert len(expand([str(tangled)], "one").submissions) == 1


def test_a_class_defined_twice_in_one_target_is_an_error_unless_chosen(tmp_path: Path) -> None:
    from oracle.load import TargetLoadError, load_target

    pkg = tmp_path / "twice"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name in ("a", "b"):
        (pkg / f"{name}.py").write_text(
            "class Activation_ReLU:\n    def forward(self, x):\n        self.output = x\n")
    with pytest.raises(TargetLoadError, match="--each.*--one"):
        load_target(str(pkg))
    loaded = load_target(str(pkg), merge=True)
    assert any("defined in both" in n for n in loaded.notes)


def test_shards_are_disjoint_and_cover_the_class(tmp_path: Path) -> None:
    for i in range(7):
        (tmp_path / f"s{i}.py").write_text("class Layer_Dense:\n    def forward(self, x): pass\n")
    subs = expand([str(tmp_path)]).submissions
    assert [s.name for s in subs][:3] == ["s0.py", "s1.py", "s2.py"]
    parts = [shard(subs, i, 3) for i in (1, 2, 3)]
    assert sorted(s.position for p in parts for s in p) == list(range(7))


@pytest.mark.parametrize(("text", "message"), [
    ("[components.Layer_Dens]\npoints = 1\n", "did you mean 'Layer_Dense'"),
    ("[components.Layer_Dense]\npoints = 1\ngroups = { updates = 1 }\n",
     "Layer_Dense has no updates checks"),
    ("[components.Layer_Dense]\npoints = 1\ngroups = { gradient = 1 }\n",
     "did you mean 'gradients'"),
    ("[components.Layer_Dense]\npoints = -1\n", "0 or more"),
    ("[components.Layer_Dense]\npoints = 1\nvisibility = 'secret'\n", "visible, hidden"),
    ("[components.Layer_Dense\n", "not valid TOML"),
    ("split = 'groups'\n", "names the assignment's components"),
])
def test_a_bad_rubric_is_a_usage_error(tmp_path: Path, text: str, message: str,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rubric.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_rubric(path)
    shutil.copy(ROOT / "tests" / "fixtures" / "ui" / "relu_ok.py", tmp_path / "relu.py")
    assert main(["check", str(tmp_path / "relu.py"), "--rubric", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_rubric_from_pyproject_and_group_points_as_weights(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.nnfs-oracle.rubric.components.Activation_ReLU]\npoints = 3\n"
        "groups = { forward = 1, gradients = 2 }\n")
    rubric = read_rubric(tmp_path / "pyproject.toml")
    (rule,) = rubric.components
    assert rule.split == "groups" and rubric.max_score == 3
    weighted = rubric_from_dict({"components": {"Activation_ReLU": {
        "points": 10, "groups": {"forward": 1, "gradients": 4}}}})
    assert weighted.max_score == 10  # 1:4 of 10 points: 2 and 8


def test_grade_and_feedback_from_python_on_a_hand_built_report() -> None:
    import oracle
    from oracle.results import CheckResult, ComponentResult, TargetReport

    relu = ComponentResult("Activation_ReLU", "Activation_ReLU", "fail", [
        CheckResult("forward", "pass"),
        CheckResult("backward.dinputs", "fail", "dinputs differ\nminimal failing input: x=1",
                    {"hint": "the mask is taken from dvalues"}),
        CheckResult("no_mutation", "pass"),
    ])
    report = TargetReport("notebook", components=[relu])
    g = oracle.grade(report, {"components": {"Activation_ReLU": {
        "points": 10, "groups": {"forward": 1, "gradients": 3,
                                 "conventions": {"points": 1, "visibility": "hidden"}}}}})
    assert g.max_score == 10 and g.score == pytest.approx(4.0)  # forward 2 + conventions 2
    text = oracle.feedback(report, {"components": {"Activation_ReLU": {
        "points": 1, "visibility": "hidden"}}})
    assert "0 / 1 points" in text and "the mask is taken from dvalues" in text
    assert "x=1" not in text  # a hidden test's input stays hidden


# ---------------------------------------------------------------------------------------------
# the case book: a class draws its cases once


def test_the_class_graded_with_and_without_the_case_book_is_the_same(
        classroom: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NNFS_ORACLE_CASE_BOOK", "0")
    out = tmp_path / "no-book.json"
    main(["check", str(classroom["folder"]), "--rubric", str(classroom["rubric"]),
          "--format", "json", "-o", str(out), *FAST])

    def verdicts(docs: list[dict[str, Any]]) -> dict[str, Any]:
        return {d["submission"]: (d["error"], d["grade"]["score"], [
            (c["name"], c["status"], [(k["name"], k["status"], k["message"])
                                      for k in c["checks"]]) for c in d["components"]])
                for d in docs}

    with_book = verdicts(classroom["documents"])
    without = verdicts(json.loads(out.read_text()))
    for name in EXPECTED:
        if name == "dave.py":  # timed out: its message says after how long
            assert without[name][1] == with_book[name][1] == 0
            continue
        assert without[name] == with_book[name], name


@pytest.mark.parametrize("module", ["b10_dropout_no_rescale", "b14_relu_mask_on_dvalues",
                                    "b55_sgd_momentum_not_stored"])
def test_a_replayed_check_gives_the_engines_verdict(module: str) -> None:
    import pickle

    from oracle import checks
    from oracle.load import load_target
    from oracle.run import run_namespace
    from oracle.settings import Settings

    settings = Settings(max_examples=6)
    book = checks.record_case_book()
    try:
        run_namespace(load_target(str(ROOT / "reference")).namespace, "reference", settings)
    finally:
        checks._RECORDING = None
    assert book and all(book.values())
    target = str(ROOT / "tests" / "corpus" / "buggy" / f"{module}.py")

    def verdicts() -> list[Any]:
        report = run_namespace(load_target(target).namespace, module, settings)
        return [(c.name, c.status, [(k.name, k.status, k.message) for k in c.checks])
                for c in report.components]

    checks.use_case_book({})
    engine = verdicts()
    checks.use_case_book(pickle.loads(pickle.dumps(book)))
    try:
        replayed = verdicts()
    finally:
        checks.use_case_book({})
    assert replayed == engine
    assert any(status == "fail" for _, status, _ in engine)  # the bug is found either way


def test_a_changed_case_book_file_is_not_used(tmp_path: Path) -> None:
    import hashlib
    import pickle

    from oracle import checks, worker

    path = tmp_path / "book.pickle"
    path.write_bytes(pickle.dumps({("Layer_Dense", "forward", 1, 0): []}))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(pickle.dumps({("Layer_Dense", "forward", 1, 0): ["forged"]}))
    worker._use_case_book(str(path), digest)
    assert checks._BOOK == {}  # another process changed it: the checks draw their own


def test_check_class_from_python(classroom: dict[str, Any]) -> None:
    import oracle.api

    reports = oracle.api.check_class(classroom["folder"], components=["Activation_ReLU"],
                                     max_examples=3, timeout=6)
    by = {r.submission: r for r in reports}
    assert sorted(by) == sorted(EXPECTED)
    assert by["heidi.py"].component("Activation_ReLU").status == "fail"
    assert by["alice.py"].ok and by["erin.py"].exit_code == 2


def test_github_classroom_runner_json(classroom: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "classroom"
    main(["merge", str(classroom["json"]), "--format", "classroom", "-o", str(out)])
    for name, score in EXPECTED.items():
        res = json.loads((out / name / "results.json").read_text())
        assert res["version"] == 1 and res["max_score"] == 24
        assert res["status"] == ("pass" if score == 24 else "error" if name in (
            "dave.py", "erin.py") else "fail")
        assert sum(t["score"] for t in res["tests"]) == pytest.approx(score)
        assert all({"name", "status", "score", "message"} <= set(t) for t in res["tests"])


def test_a_folder_whose_only_source_is_a_notebook_is_that_notebook(tmp_path: Path) -> None:
    # Gradescope's /autograder/submission with one notebook; students' subfolders of notebooks
    notebook = ROOT / "tests" / "corpus" / "correct" / "c12_seed_notebook.ipynb"
    for sub, name in (("one", "hw.ipynb"), ("class/a", "hw.ipynb"), ("class/b", "mine.ipynb")):
        (tmp_path / sub).mkdir(parents=True)
        shutil.copy(notebook, tmp_path / sub / name)
    assert [s.path for s in expand([str(tmp_path / "one")]).submissions] == [
        str(tmp_path / "one" / "hw.ipynb")]
    subs = expand([str(tmp_path / "class")]).submissions
    assert [(s.name, Path(s.path).name) for s in subs] == [("a", "hw.ipynb"), ("b", "mine.ipynb")]
