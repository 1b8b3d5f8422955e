"""Grading a class: 100 submissions of the chapter-22 code, checked end to end.

A script, not a test::

    python -m bench.grading                  # writes bench/grading_results.json
    python -m bench.grading --students 20    # a smaller class

The class is made from ``tests/corpus/book/ch22_final.py`` (the book's code through chapter
22, every component and the Model, its MAE erratum corrected): most submissions are copies,
and every fifth has one bug
of five kinds (a halved dweights, a cross-entropy gradient without ``/ samples``, a ReLU mask
on dvalues, Adam without bias correction, a Dropout mask not scaled).  It is graded with a
rubric of every book component (all or nothing, one point each) and the default profile, as
``nnfs-oracle check CLASS --rubric R --format csv -o grades.csv``.

Measured (wall seconds, one run):

- ``class``: the whole command, all submissions, as many in parallel as there are cores;
- ``per_submission``: ``class`` / students x cores: the cost of one submission on one core;
- ``worker_start``: the median time a worker takes to start and import the engine (NumPy,
  SciPy, Hypothesis, the reference and the checks) before it loads a submission: a part of
  every submission's cost that is the same for the whole class, shown as ``shared_fraction``
  of ``per_submission``.  The other shared part is already shared: the cases every check
  draws are drawn once per class, from the reference, and replayed to each submission (the
  case book, :mod:`oracle.checks`); ``--compare`` checks the class again with every
  submission drawing its own (``without_case_book``) and says whether the grades are the
  same.

The goal: the class of 100 within 120 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "tests" / "corpus" / "book" / "ch22_final.py"
GOAL_SECONDS = 120.0
GOAL_STUDENTS = 100

#: One bug each, as (what the book has, what the student wrote).
BUGS = [
    ("self.dweights = np.dot(self.inputs.T, dvalues)",
     "self.dweights = np.dot(self.inputs.T, dvalues) * 0.5"),
    ("self.dinputs = self.dinputs / samples", "self.dinputs = self.dinputs"),
    ("self.dinputs[self.inputs <= 0] = 0", "self.dinputs[dvalues <= 0] = 0"),
    ("(1 - self.beta_1 ** (self.iterations + 1))", "1"),
    ("/ self.rate", "* 1"),
]


def make_class(folder: Path, students: int) -> list[str]:
    """Write the class; returns the bug of each submission ("" for a correct one)."""
    # the published MAE backward has its sign flipped (the book's erratum): corrected here, so
    # that a correct submission gets full marks
    book = BOOK.read_text().replace("np.sign(y_true - dvalues)", "np.sign(dvalues - y_true)")
    made = []
    for i in range(students):
        text, bug = book, ""
        if i % 5 == 4:
            old, new = BUGS[(i // 5) % len(BUGS)]
            if old in text:
                text, bug = text.replace(old, new, 1), new
        (folder / f"student{i:03d}.py").write_text(text)
        made.append(bug)
    return made


def rubric_text() -> str:
    sys.path.insert(0, str(ROOT))
    from oracle.adapt import COMPONENTS

    return "".join(f"[components.{c}]\npoints = 1\n\n" for c in COMPONENTS)


def worker_start(runs: int = 5) -> float:
    """Median seconds for a fresh interpreter to import what a worker imports."""
    code = ("import oracle.worker, oracle.checks, oracle.load, oracle.custom, "
            "oracle.model_properties")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=GOAL_STUDENTS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "grading_results.json"))
    parser.add_argument("--compare", action="store_true",
                        help="also check the class with every submission drawing its own "
                        "cases (NNFS_ORACLE_CASE_BOOK=0)")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="nnfs-oracle-class-") as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        bugs = make_class(folder, args.students)
        rubric = Path(tmp) / "rubric.toml"
        rubric.write_text(rubric_text())
        grades = Path(tmp) / "grades.csv"

        def grade_class(book: bool) -> tuple[float, subprocess.CompletedProcess[str], str]:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "oracle.cli", "check", str(folder), "--rubric",
                 str(rubric), "--format", "csv", "-o", str(grades)],
                cwd=ROOT, capture_output=True, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT),
                     "NNFS_ORACLE_CASE_BOOK": "1" if book else "0"})
            return (time.perf_counter() - t0, proc,
                    grades.read_text() if grades.exists() else "")

        wall, proc, table = grade_class(True)
        rows = table.splitlines()[1:]
        no_book = grade_class(False) if args.compare else None
    full = sum(1 for r in rows if r.split(",")[-2] == r.split(",")[-1])
    start = worker_start()
    per = wall * cores / max(1, args.students)
    result = {
        "meta": {"python": platform.python_version(), "cores": cores,
                 "machine": platform.machine(), "students": args.students,
                 "buggy": sum(1 for b in bugs if b), "exit_code": proc.returncode},
        "seconds": {"class": round(wall, 2), "per_submission": round(per, 3),
                    "worker_start": round(start, 3)},
        "shared_fraction": round(start / per, 3) if per else None,
        "without_case_book": None if no_book is None else {
            "class": round(no_book[0], 2), "same_grades": no_book[2] == table},
        "graded": {"rows": len(rows), "full_marks": full},
        "goals": {f"class of {GOAL_STUDENTS} within {GOAL_SECONDS:g} s (scaled to "
                  f"{args.students})": wall <= GOAL_SECONDS * args.students / GOAL_STUDENTS},
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if len(rows) != args.students:
        print(proc.stderr[-3000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
