"""The ``nnfs-oracle`` command line.

    nnfs-oracle check TARGET... [--map Book=Yours ...] [--component NAME ...]
                                [--max-examples N] [--seed N] [--profile NAME]
                                [--timeout S] [--import] [--json] [--junit-xml FILE]
                                [--jobs N] [--verbose] [--each | --one]
                                [--rubric FILE] [--format FORMAT] [-o PATH] [--shard I/N]
    nnfs-oracle merge FILE... [--rubric FILE] [--format FORMAT] [-o PATH]
    nnfs-oracle list [TARGET] [--json]
    nnfs-oracle --version

Exit status: 0 every component found passes, 1 a component fails or errors,
2 a target could not be used (or has none of the book's classes), or the command line is wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from oracle import __version__
from oracle import report as rep
from oracle.results import TargetReport
from oracle.settings import PROFILE_EXAMPLES

if TYPE_CHECKING:
    from oracle.rubric import Grade, Rubric

__all__ = ["build_parser", "main"]

PROG = "nnfs-oracle"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Check neural-network components written from scratch in NumPy (the classes of "
            "'Neural Networks from Scratch in Python') against a float64 reference, with "
            "property-based tests and finite differences."
        ),
        epilog="exit status: 0 all found components pass, 1 a component fails or errors, "
        "2 a target could not be used (or has none of the book's classes), or the command "
        "line is wrong",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    chk = sub.add_parser(
        "check",
        help="check one or more targets",
        description=(
            "Check the book's classes found in each TARGET: a .py script, a .ipynb notebook, "
            "a folder, a package directory or an importable module name. A folder of "
            "submissions (files that define the same classes and do not import each other) "
            "is one target per file or subfolder; a folder of files that make one project is "
            "one target. By default only the class and function definitions are loaded "
            "(top-level code such as training does not run)."
        ),
    )
    chk.add_argument(
        "targets", nargs="+", metavar="TARGET", help="file, notebook, package dir or module"
    )
    chk.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="BOOK=YOURS",
        help="name your class for a book class, e.g. Layer_Dense=DenseLayer "
        "(repeatable, or comma-separated)",
    )
    chk.add_argument(
        "--component",
        action="append",
        default=None,
        metavar="NAME",
        help="check only this book class (repeatable; see `nnfs-oracle list`)",
    )
    chk.add_argument(
        "--layer",
        action="append",
        default=[],
        metavar="'NAME: KEY=VALUE, ...'",
        help="how to build and drive a class of your own that the checks cannot work out, "
        "e.g. 'Conv2D: args=(3, 4, 3), input_shape=(2, 3, 8, 8)' (keys: args, kwargs, "
        "input_shape, input=int|float, params, kind=layer|loss, skip=True); repeatable; "
        "also read from [tool.nnfs-oracle.layers.NAME] in ./pyproject.toml",
    )
    chk.add_argument(
        "--no-custom",
        dest="custom",
        action="store_false",
        help="check only the book's classes, not the other classes with forward and backward",
    )
    chk.add_argument(
        "--max-examples",
        type=_positive_int,
        default=None,
        metavar="N",
        help="examples per property (overrides the profile)",
    )
    chk.add_argument("--seed", type=_int, default=0, metavar="N", help="input seed (default 0)")
    chk.add_argument(
        "--profile",
        choices=list(PROFILE_EXAMPLES),
        default="default",
        help="how hard to check (default: default)",
    )
    chk.add_argument(
        "--timeout",
        type=_positive_float,
        default=60.0,
        metavar="S",
        help="seconds per component before it is stopped (default 60)",
    )
    chk.add_argument(
        "--import",
        dest="import_mode",
        action="store_true",
        help="import the target normally (runs its top-level code) instead of loading only "
        "its definitions",
    )
    chk.add_argument(
        "--json", action="store_true", help="print JSON on stdout (and nothing else there); "
        "the same as --format json"
    )
    chk.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report to FILE")
    _output_options(chk)
    reading = chk.add_mutually_exclusive_group()
    reading.add_argument(
        "--each", dest="reading", action="store_const", const="each",
        help="a folder is a class of submissions: check each file or subfolder on its own "
        "(by default this is decided from the sources: files that define the same classes "
        "and do not import each other are submissions)")
    reading.add_argument(
        "--one", dest="reading", action="store_const", const="one",
        help="a folder is one target, even if its files define the same class (the later "
        "file's is used)")
    chk.set_defaults(reading="auto")
    chk.add_argument(
        "--shard", metavar="I/N", default=None,
        help="check only part I of N of the submissions (every N-th, deterministic), to "
        "spread a class over machines; join the parts' --format json outputs with "
        "`nnfs-oracle merge`")
    chk.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="targets checked in parallel (default: the number of CPUs)",
    )
    chk.add_argument("-v", "--verbose", action="store_true", help="also list the checks that pass")

    chk.set_defaults(subparser=chk)

    mrg = sub.add_parser(
        "merge",
        help="join the JSON outputs of shards (or of runs) into one table, CSV, Gradescope "
        "set or feedback",
        description="Join the --format json outputs of `nnfs-oracle check --shard I/N` in the "
        "order of the unsharded run, and render them in any output format (grades again "
        "with --rubric, or with the rubric they were graded with).")
    mrg.add_argument("files", nargs="+", metavar="FILE", help="JSON written by check")
    _output_options(mrg)
    mrg.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)
    mrg.set_defaults(subparser=mrg)

    lst = sub.add_parser("list", help="list the book's components and their checks, or what "
                         "was found in a target and how it will be driven")
    lst.add_argument("target", nargs="?", metavar="TARGET",
                     help="a file, notebook, package dir or module: list what is found in it "
                     "(its definitions are loaded in this process)")
    lst.add_argument("--map", action="append", default=[], metavar="BOOK=YOURS")
    lst.add_argument("--layer", action="append", default=[], metavar="'NAME: KEY=VALUE, ...'")
    lst.add_argument("--import", dest="import_mode", action="store_true",
                     help="import the target normally (runs its top-level code)")
    lst.add_argument("--json", action="store_true", help="print JSON")
    return parser


FORMATS = ("text", "json", "csv", "gradescope", "classroom", "junit", "feedback")


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rubric", metavar="FILE", default=None,
        help="grade with this rubric (TOML, or a pyproject.toml with [tool.nnfs-oracle."
        "rubric]): points per component, split per group of checks, visibility; its "
        "components are the assignment")
    p.add_argument(
        "--format", choices=FORMATS, default=None,
        help="what to write: text (default), json (always a list), csv (a row per "
        "submission), gradescope (results.json), classroom (GitHub Classroom's runner "
        "JSON), junit (XML) or feedback (a text per submission)")
    p.add_argument(
        "-o", "--output", metavar="PATH", default=None,
        help="write there instead of stdout; for gradescope and feedback with several "
        "submissions, a folder (PATH/NAME/results.json, PATH/NAME.txt)")


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send everything written to stdout (also by child processes) to stderr meanwhile.

    Used with --json so that stdout holds the JSON document and nothing else.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no usable fd 1/2: fall back to Python-level redirection only
        saved = -1
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved >= 0:
            os.dup2(saved, 1)
            os.close(saved)


def _read_rubric(path: str | None) -> Rubric | None:
    from oracle.rubric import read_rubric

    return None if path is None else read_rubric(path)


def _cmd_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from oracle.api import make_settings, read_layer_configs
    from oracle.targets import parse_shard

    fmt = args.format or ("json" if args.json else "text")
    if args.json and fmt != "json":
        parser.error("--json and --format " + fmt + " ask for two outputs; choose one")
    try:
        rubric = _read_rubric(args.rubric)
        layers = {**read_layer_configs(), **_layers(args.layer)}
        settings = make_settings(
            mapping=args.map,
            max_examples=args.max_examples,
            seed=args.seed,
            profile=args.profile,
            timeout=args.timeout,
            import_mode=args.import_mode,
            components=args.component,
            layers=layers,
            custom=args.custom,
            reading=args.reading,
        )
        part = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        parser.error(str(exc))  # exits 2 with the usage line
    if rubric is not None and settings.components is None:
        settings.components = rubric.names  # the assignment: only its components

    from oracle.api import run_class

    if fmt == "text" and rep.use_color(sys.stderr):
        print(f"checking {' '.join(args.targets)}...", file=sys.stderr, flush=True)
    if fmt != "text":
        with _stdout_to_stderr():
            reports, notes = run_class(args.targets, settings, shard=part, jobs=args.jobs)
    else:
        reports, notes = run_class(args.targets, settings, shard=part, jobs=args.jobs)
    for note in notes:
        print(note, file=sys.stderr if fmt != "text" or args.output else sys.stdout)
    if part is not None:
        count = reports[0].total if reports else "the"
        print(f"shard {part[0]}/{part[1]}: {len(reports)} of {count} submissions",
              file=sys.stderr)
        if not reports:
            print(f"{PROG}: shard {args.shard} has no submissions", file=sys.stderr)
    code = _emit(reports, rubric, fmt, args.output, args.verbose)
    if args.junit_xml:
        names = rubric.names if rubric is not None else None
        code = max(code, _write(args.junit_xml, rep.render_junit_xml(reports, assignment=names),
                                "JUnit XML"))
    if code >= 2:
        return code
    return max((r.exit_code for r in reports), default=2)


def _cmd_merge(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from oracle.gradebook import merge, read_documents

    try:
        rubric = _read_rubric(args.rubric)
        reports, graded_with = read_documents(args.files)
    except ValueError as exc:
        print(f"{PROG} merge: {exc}", file=sys.stderr)
        return 2
    reports, warnings = merge(reports)
    for w in warnings:
        print(f"{PROG} merge: warning: {w}", file=sys.stderr)
    code = _emit(reports, rubric or graded_with, args.format or "text", args.output,
                 args.verbose)
    return code if code >= 2 else max((r.exit_code for r in reports), default=2)


def _write(path: str, text: str, what: str) -> int:
    try:
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        print(f"{PROG}: cannot write {what} to {path!r}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def _per_submission(reports: list[TargetReport], output: str | None) -> bool:
    """Whether ``output`` is a folder of one file per submission: an existing folder, a path
    ending in a separator, or, for several submissions, a path without an extension (a path
    such as ``all.json`` gets them all in one file)."""
    if output is None:
        return False
    if os.path.isdir(output) or output.endswith(("/", os.sep)):
        return True
    return len(reports) > 1 and not os.path.splitext(output)[1]


def _emit(reports: list[TargetReport], rubric: Rubric | None, fmt: str, output: str | None,
          verbose: bool) -> int:
    """Write ``reports`` (graded with ``rubric``) as ``fmt`` to ``output`` or stdout;
    returns 2 when it could not be written, else 0."""
    from oracle import gradebook as gb

    grades = gb.grades_for(reports, rubric)
    if fmt == "json":
        text = gb.render_document(reports, grades, rubric) + "\n"
    elif fmt == "csv":
        text = gb.render_csv(reports, grades, rubric)
    elif fmt == "junit":
        text = rep.render_junit_xml(reports, assignment=rubric.names if rubric else None)
    elif fmt in ("gradescope", "classroom", "feedback"):
        if fmt != "feedback" and grades is None:
            rubric = gb.default_rubric(reports)
            grades = gb.grades_for(reports, rubric)
        docs: list[Any] = []
        if fmt == "feedback":
            texts = [gb.render_feedback(r, grades[i] if grades else None)
                     for i, r in enumerate(reports)]
        else:
            render = gb.gradescope_results if fmt == "gradescope" else gb.classroom_results
            assert grades is not None
            docs = [render(r, g) for r, g in zip(reports, grades, strict=True)]
            texts = [json.dumps(d, indent=2) + "\n" for d in docs]
        if _per_submission(reports, output):
            assert output is not None
            code = 0
            for name, one in zip(gb.file_names(reports), texts, strict=True):
                path = (os.path.join(output, name + ".txt") if fmt == "feedback"
                        else os.path.join(output, name, "results.json"))
                code = max(code, _write(path, one, fmt))
            return code
        if fmt == "feedback":
            text = "\n".join(texts)
        else:
            text = json.dumps(docs[0] if len(docs) == 1 else docs, indent=2) + "\n"
    else:
        text = _render_text(reports, grades, verbose, output is None)
    if output is not None:
        return _write(output, text, fmt)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def _render_text(reports: list[TargetReport], grades: list[Grade] | None, verbose: bool,
                 tty: bool) -> str:
    color = tty and rep.use_color(sys.stdout)
    width = shutil.get_terminal_size((100, 24)).columns if color else 100
    parts = [rep.render_text(r, color=color, verbose=verbose, width=max(width, 60))
             for r in reports]
    text = "\n".join(parts)
    if len(reports) > 1:
        text += "\n" + rep.render_table(reports, color=color)
    if grades is not None:
        width_name = max(len(r.submission or r.target) for r in reports)
        text += "\ngrades:\n" + "".join(
            f"  {(r.submission or r.target):<{width_name}}  {g.score:g} / {g.max_score:g}\n"
            for r, g in zip(reports, grades, strict=True))
    return text


def _layers(values: list[str]) -> dict[str, dict[str, object]]:
    from oracle.api import parse_layers

    return parse_layers(values)


def _cmd_list_target(args: argparse.Namespace) -> int:
    """What was found in a target: the book's classes it has, and its own classes with
    forward and backward, each with how it will be driven (or what to give)."""
    from oracle.adapt import discover
    from oracle.api import parse_mapping, read_layer_configs
    from oracle.checks import check_names
    from oracle.context import numpy_restored
    from oracle.custom import CustomError, LayerConfig, custom_classes, custom_spec, plan_for_class
    from oracle.load import TargetLoadError, load_target

    try:
        mapping = parse_mapping(args.map)
        layers = {**read_layer_configs(), **_layers(args.layer)}
    except ValueError as exc:
        print(f"{PROG} list: {exc}", file=sys.stderr)
        return 2
    try:
        with _stdout_to_stderr():
            loaded = load_target(args.target, import_mode=args.import_mode)
    except TargetLoadError as exc:
        print(f"{PROG} list: {exc}", file=sys.stderr)
        return 2
    ns = loaded.namespace
    found = discover(ns, mapping)
    table: dict[str, dict[str, object]] = {}
    for name, f in found.items():
        if f.cls is not None:
            table[name] = {"class": f.target_name, "how": "; ".join(f.adaptations) or
                           "by the book's name", "checks": check_names(name)}
    for name, cls in custom_classes(ns, mapping, found).items():
        try:
            with _stdout_to_stderr(), numpy_restored():
                plan = plan_for_class(name, cls, LayerConfig.from_dict(layers.get(name, {})))
            table[name] = {"class": name, "how": plan.describe(),
                           "checks": check_names(custom_spec(plan))}
        except (CustomError, ValueError) as exc:
            table[name] = {"class": name, "how": f"not checked: {exc}", "checks": []}
        except Exception as exc:  # the class's own code raised while probed
            table[name] = {"class": name, "how": f"not checked: {type(exc).__name__}: {exc}",
                           "checks": []}
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    print(f"{args.target}  (loaded {loaded.mode})")
    for name, row in table.items():
        label = name if row["class"] == name else f"{name} ({row['class']})"
        print(f"  {label}")
        print(f"      {row['how']}")
        checks = row["checks"]
        if checks:
            print(f"      checks: {', '.join(checks)}")  # type: ignore[arg-type]
    if not table:
        print("  nothing found: no class of the book, and no class with forward and backward")
        return 2
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from oracle.adapt import COMPONENTS
    from oracle.checks import check_names

    if args.target:
        return _cmd_list_target(args)

    table = {name: list(check_names(name)) for name in COMPONENTS}
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    for name, checks in table.items():
        print(f"{name}  ({len(checks)} check{'' if len(checks) == 1 else 's'})")
        for c in checks:
            print(f"    {name}::{c}")
    return 0


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    if args.command == "check":
        return _cmd_check(args, args.subparser)
    if args.command == "list":
        return _cmd_list(args)
    if args.command == "merge":
        return _cmd_merge(args, args.subparser)
    parser.print_help(sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nnfs-oracle``; returns the exit status (never shows our traceback)."""
    try:
        return _main(argv)
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nnfs-oracle check x.py | head`
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 1
    except Exception as exc:
        if os.environ.get("NNFS_ORACLE_DEBUG"):
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {exc}\n"
            f"(this is a bug in {PROG}, not in your code; set NNFS_ORACLE_DEBUG=1 "
            "to see the traceback)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
