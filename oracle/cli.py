"""The ``nnfs-oracle`` command line.

    nnfs-oracle check TARGET... [--map Book=Yours ...] [--component NAME ...]
                                [--max-examples N] [--seed N] [--profile NAME]
                                [--timeout S] [--import] [--json] [--junit-xml FILE]
                                [--jobs N] [--verbose]
    nnfs-oracle list [--json]
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

from oracle import __version__
from oracle.results import TargetReport
from oracle.settings import PROFILE_EXAMPLES, Settings

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
            "a package directory or an importable module name. By default only the class and "
            "function definitions are loaded (top-level code such as training does not run)."
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
        "--json", action="store_true", help="print JSON on stdout (and nothing else there)"
    )
    chk.add_argument("--junit-xml", metavar="FILE", help="also write a JUnit XML report to FILE")
    chk.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="targets checked in parallel (default: the number of CPUs)",
    )
    chk.add_argument("-v", "--verbose", action="store_true", help="also list the checks that pass")

    chk.set_defaults(subparser=chk)

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


def _run(targets: list[str], settings: Settings, jobs: int | None) -> list[TargetReport]:
    from oracle import run
    from oracle.load import TargetLoadError

    if len(targets) == 1:
        try:
            return [run.run_target(targets[0], settings)]
        except TargetLoadError as exc:
            return [TargetReport(targets[0], error=str(exc))]
    try:
        return list(run.run_targets(targets, settings, jobs=jobs))
    except TargetLoadError:  # one bad target must not hide the others: run them one by one
        reports = []
        for t in targets:
            try:
                reports.append(run.run_target(t, settings))
            except TargetLoadError as exc:
                reports.append(TargetReport(t, error=str(exc)))
        return reports


def _cmd_check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from oracle import report as rep
    from oracle.api import make_settings, read_layer_configs

    try:
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
        )
    except ValueError as exc:
        parser.error(str(exc))  # exits 2 with the usage line

    targets = list(args.targets)
    if args.json:
        with _stdout_to_stderr():
            reports = _run(targets, settings, args.jobs)
        print(rep.render_json(reports[0] if len(reports) == 1 else reports))
    else:
        if len(targets) > 1 and rep.use_color(sys.stderr):
            print(f"checking {len(targets)} targets...", file=sys.stderr, flush=True)
        reports = _run(targets, settings, args.jobs)
        color = rep.use_color(sys.stdout)
        width = shutil.get_terminal_size((100, 24)).columns if color else 100
        for i, r in enumerate(reports):
            if i:
                print()
            text = rep.render_text(r, color=color, verbose=args.verbose, width=max(width, 60))
            print(text, end="")
        if len(reports) > 1:
            print()
            print(rep.render_table(reports, color=color), end="")

    code = max((r.exit_code for r in reports), default=0)
    if args.junit_xml:
        try:
            with open(args.junit_xml, "w", encoding="utf-8") as f:
                f.write(rep.render_junit_xml(reports))
        except OSError as exc:
            print(f"{PROG}: cannot write JUnit XML to {args.junit_xml!r}: {exc}", file=sys.stderr)
            return 2
    return code


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
