"""Loading a target: a ``.py`` file, a ``.ipynb`` notebook, a package, a directory or a module name.

Two modes
---------
defs-only (the default)
    The source is parsed with :mod:`ast` and only what *defines* things runs: imports, class
    and function definitions, constant assignments (no call in the value, e.g.
    ``EPS = 1e-7``), assignments with a call whose name the kept definitions read
    (``rng = np.random.default_rng(0)`` used in ``__init__``), top-level ``nnfs.init(...)``
    calls (they make NumPy produce float32, which is what the target's numbers will look
    like) and ``try``/``if`` blocks made only of those.  Training loops, data loading,
    prints, plots and ``if __name__ == "__main__":`` blocks never run, so a learner's whole
    script or notebook can be checked as it is.  Modules the target imports from its own
    directory or package are loaded the same way.
import (``import_mode=True``)
    The module runs as Python would import it (``__name__`` is not ``"__main__"``) and its
    globals are used.  Notebooks run all their code cells in order.

In notebooks, IPython magics and shell lines (``%matplotlib inline``, ``!pip install``,
``%%bash`` cells) and top-level ``await`` statements (``await micropip.install(...)`` in
Pyodide/JupyterLite) are dropped in both modes.

An import of a module that is not installed does not stop defs-only loading when nothing
kept needs it (``import cv2`` used only by the dropped top-level code): it is skipped with a
note.  When only functions use it, its names are bound to a stand-in that raises
``ModuleNotFoundError`` if those functions are called.  When a class or a kept top-level
statement uses it, loading fails with a :class:`TargetLoadError` that names the module and
the line.

Every failure is a :class:`TargetLoadError` whose message is meant for the user as it is
(file, line, offending source line, notebook cell); no traceback of ours escapes.

Loading changes the process it runs in (``sys.path``, ``sys.modules`` and whatever the kept
code does, such as ``nnfs.init()``): :mod:`oracle.run` calls it in a worker process.
"""

from __future__ import annotations
import __future__

import ast
import builtins
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import itertools
import json
import keyword
import linecache
import os
import re
import sys
import sysconfig
import tokenize
import types
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from oracle import frames

__all__ = ["LoadedTarget", "TargetLoadError", "load_target", "location", "natural_key",
           "source_text"]

_PRIVATE_PREFIX = "_nnfs_oracle_target"
_counter = itertools.count(1)

#: Cell magics whose body is Python: only the magic line is dropped.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
_LINE_MAGIC = re.compile(r"^\s*(%%?[A-Za-z_]|![^=])")
_SHELL_ASSIGN = re.compile(r"^\s*[A-Za-z_][\w.]*(\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*(%%?[A-Za-z_]|!)")
_HELP_LINE = re.compile(r"^\s*\??[A-Za-z_][\w.]*\?\??\s*$")
_DEFINES = re.compile(r"^(class|def|async\s+def)\s", re.MULTILINE)


class TargetLoadError(Exception):
    """A target that cannot be loaded.  ``str(exc)`` is the whole message for the user."""


@dataclass
class LoadedTarget:
    namespace: dict[str, Any]  # the target's globals (merged over files for a directory)
    mode: str  # "defs-only" | "import"
    description: str  # what was loaded, e.g. "notebook nn.ipynb (9 code cells)"
    notes: list[str] = field(default_factory=list)  # the mode used, what was skipped, why


# --------------------------------------------------------------------------- sources


@dataclass
class _Cell:
    index: int  # 1-based position among all the notebook's cells
    code_index: int  # 1-based position among its code cells
    first_line: int  # line of the joined text where this cell's first line is
    n_lines: int
    source: str  # the cell's code, magics blanked out (same number of lines)


@dataclass
class _Source:
    path: str  # absolute path, also the filename code is compiled under
    display: str  # how messages name it
    text: str  # Python text; for a notebook its code cells joined
    cells: list[_Cell] | None = None  # notebooks only

    def cell_of(self, lineno: int) -> _Cell | None:
        for cell in self.cells or ():
            if cell.first_line <= lineno < cell.first_line + max(cell.n_lines, 1):
                return cell
        return None

    def where(self, lineno: int | None, *, with_file: bool = True) -> str:
        """``"model.py, line 12"`` or ``"nn.ipynb, cell 5, line 3"``."""
        head = f"{self.display}, " if with_file else ""
        if lineno is None:
            return self.display if with_file else "unknown line"
        cell = self.cell_of(lineno) if self.cells is not None else None
        if cell is not None:
            return f"{head}cell {cell.index}, line {lineno - cell.first_line + 1}"
        return f"{head}line {lineno}"

    def line(self, lineno: int | None) -> str:
        lines = self.text.splitlines()
        if lineno is None or not 1 <= lineno <= len(lines):
            return ""
        return lines[lineno - 1].strip()


#: Every source loaded in this process, by the filename its code was compiled under.
_SOURCES: dict[str, _Source] = {}


def location(filename: str, lineno: int | None) -> str:
    """A place in a loaded target as a user knows it.

    ``location("/x/nn.ipynb", 140)`` -> ``"nn.ipynb, cell 12, line 3"``; for a ``.py`` file
    ``"model.py, line 12"``.  Paths are shown relative to the working directory when near it.
    """
    src = _SOURCES.get(filename)
    if src is not None:
        return src.where(lineno)
    shown = _display(filename) if os.path.isabs(filename) else filename
    return shown if lineno is None else f"{shown}, line {lineno}"


def _display(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith(".." + os.sep + "..") else rel


def _read_python(path: str) -> _Source:
    display = _display(path)
    try:
        with tokenize.open(path) as f:
            text = f.read()
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise TargetLoadError(f"cannot read {display}: it is not UTF-8 text ({exc})") from None
    except OSError as exc:
        raise TargetLoadError(f"cannot read {display}: {exc.strerror or exc}") from None
    src = _Source(path, display, text)
    _SOURCES[path] = src
    return src


def _strip_magics(code: str) -> tuple[str, int, str | None]:
    """Blank out IPython-only lines; returns (code, lines dropped, cell magic or None).

    The number of lines never changes, so line numbers still match the cell.  An indented
    magic becomes ``pass`` to keep its block valid.
    """
    lines = code.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    cell_magic = None
    if first is not None and lines[first].lstrip().startswith("%%"):
        words = lines[first].lstrip()[2:].split()
        cell_magic = words[0] if words else ""
        if cell_magic not in _PYTHON_CELL_MAGICS:
            return (
                "\n".join("" for _ in lines),
                sum(1 for line in lines if line.strip()),
                cell_magic,
            )
        lines[first] = ""
    dropped = 1 if cell_magic is not None else 0
    for i, line in enumerate(lines):
        if _LINE_MAGIC.match(line) or _SHELL_ASSIGN.match(line) or _HELP_LINE.match(line):
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            lines[i] = indent + "pass" if indent else ""
            dropped += 1
    return "\n".join(lines), dropped, cell_magic


def _read_notebook(path: str, notes: list[str]) -> _Source:
    display = _display(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise TargetLoadError(f"cannot read {display}: {exc.strerror or exc}") from None
    try:
        nb = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise TargetLoadError(
            f"{display} is not a Jupyter notebook: not UTF-8 text ({exc})"
        ) from None
    except json.JSONDecodeError as exc:
        raise TargetLoadError(
            f"{display} is not a Jupyter notebook: invalid JSON "
            f"(line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(nb, dict):
        raise TargetLoadError(f"{display} is not a Jupyter notebook: the JSON is not an object")
    fmt = nb.get("nbformat")
    if "worksheets" in nb or (isinstance(fmt, int) and fmt < 4):
        raise TargetLoadError(
            f"{display} uses the old notebook format {fmt}; open and save it with a recent "
            "Jupyter to convert it to nbformat 4"
        )
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise TargetLoadError(
            f"{display} is not a Jupyter notebook: no 'cells' list (nbformat 4 JSON is expected)"
        )
    meta: dict[str, Any] = nb["metadata"] if isinstance(nb.get("metadata"), dict) else {}
    lang = None
    for key in ("kernelspec", "language_info"):
        sub = meta.get(key)
        if isinstance(sub, dict):
            value = sub.get("language") or (sub.get("name") if key == "language_info" else None)
            if isinstance(value, str):
                lang = value
                break
    if lang is not None and lang.lower() not in ("python", "python3", "ipython", "pyodide"):
        raise TargetLoadError(f"{display} is not a Python notebook (its language is {lang})")

    text_lines: list[str] = []
    parsed_cells: list[_Cell] = []
    code_index = 0
    dropped_lines = 0
    for index, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise TargetLoadError(
                f"{display} is not a valid notebook: cell {index} is not an object"
            )
        if cell.get("cell_type") != "code":
            continue
        code_index += 1
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise TargetLoadError(
                f"{display} is not a valid notebook: the source of cell {index} is not text"
            )
        source = source.replace("\r\n", "\n")
        cleaned, dropped, magic = _strip_magics(source)
        dropped_lines += dropped
        if magic is not None and magic not in _PYTHON_CELL_MAGICS:
            notes.append(f"cell {index} skipped: it is a %%{magic} cell, not Python")
        text_lines.append(f"# ---- cell {index} ----")
        first_line = len(text_lines) + 1
        body = cleaned.split("\n")
        text_lines.extend(body)
        parsed_cells.append(_Cell(index, code_index, first_line, len(body), cleaned))
    if dropped_lines:
        notes.append(f"dropped {dropped_lines} IPython magic/shell line(s) (%..., !...)")
    text = "\n".join(text_lines) + "\n"
    src = _Source(path, display, text, parsed_cells)
    _SOURCES[path] = src
    # Lets tracebacks and inspect.getsource show the notebook's code (mtime None: never stale).
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)
    return src


def source_text(path: str) -> str:
    """The Python source of a ``.py`` file or of a notebook's code cells (magics blanked),
    without running anything; raises :class:`TargetLoadError` when it cannot be read."""
    if path.lower().endswith(".ipynb"):
        return _read_notebook(path, []).text
    return _read_python(path).text


# --------------------------------------------------------------------------- parsing


def _syntax_error(src: _Source, exc: SyntaxError) -> TargetLoadError:
    lineno = exc.lineno
    where = src.where(lineno)
    msg = f"syntax error in {where}: {exc.msg}"
    text = (
        src.text.splitlines()[lineno - 1] if lineno and lineno <= len(src.text.splitlines()) else ""
    )
    if not text and exc.text:
        text = exc.text.rstrip("\n")
    if text.strip():
        stripped = text.lstrip()
        msg += f"\n    {stripped.rstrip()}"
        if exc.offset and exc.offset > 0:
            col = max(0, min(len(stripped), exc.offset - 1 - (len(text) - len(stripped))))
            msg += "\n    " + " " * col + "^"
    if src.cells is not None and lineno:
        cell = src.cell_of(lineno)
        if cell is not None and cell.code_index != cell.index:
            msg += f"\n(cell {cell.index} is the notebook's code cell number {cell.code_index})"
    return TargetLoadError(msg)


def _compile_ast(src: str, filename: str, flags: int = 0) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = compile(src, filename, "exec", flags=ast.PyCF_ONLY_AST | flags, dont_inherit=True)
    assert isinstance(tree, ast.Module)
    return tree


def _parse(src: _Source, *, lenient: bool, notes: list[str]) -> ast.Module:
    """The source as one module; a notebook's cells are parsed one by one.

    ``lenient``: a notebook cell with a syntax error that defines nothing (no line starting
    with ``class``/``def``) is skipped with a note instead of failing the load.
    """
    try:
        if src.cells is None:
            return _compile_ast(src.text, src.path)
        body: list[ast.stmt] = []
        for cell in src.cells:
            try:
                tree = _compile_ast(cell.source, src.path, ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            except SyntaxError as exc:
                if lenient and not _DEFINES.search(cell.source):
                    line = (exc.lineno or 1) + cell.first_line - 1
                    notes.append(
                        f"cell {cell.index} skipped: syntax error at {src.where(line)} "
                        f"({exc.msg}); it defines nothing"
                    )
                    continue
                if exc.lineno is not None:
                    exc.lineno += cell.first_line - 1
                raise
            ast.increment_lineno(tree, cell.first_line - 1)
            body.extend(tree.body)
        return ast.Module(body=body, type_ignores=[])
    except SyntaxError as exc:
        raise _syntax_error(src, exc) from None
    except ValueError as exc:  # "source code string cannot contain null bytes"
        raise TargetLoadError(f"cannot parse {src.display}: {exc}") from None


# --------------------------------------------------------------------------- analysis

_DEF_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_TRY_TYPES: tuple[type, ...] = tuple(
    t for t in (ast.Try, getattr(ast, "TryStar", None)) if t is not None
)


def _has_call(node: ast.AST) -> bool:
    """True when evaluating ``node`` would call something (a lambda's body is not evaluated)."""
    if isinstance(node, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)):
        return True
    if isinstance(node, ast.Lambda):
        return any(_has_call(d) for d in node.args.defaults + node.args.kw_defaults if d)
    return any(_has_call(child) for child in ast.iter_child_nodes(node))


def _has_top_level_await(node: ast.AST) -> bool:
    if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
        return True
    if isinstance(node, (*_DEF_TYPES, ast.Lambda)):
        return False
    return any(_has_top_level_await(c) for c in ast.iter_child_nodes(node))


def _simple_target(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_simple_target(e) for e in node.elts)
    if isinstance(node, ast.Starred):
        return _simple_target(node.value)
    if isinstance(node, ast.Attribute):  # e.g. Layer_Dense.backward = backward
        return isinstance(node.value, (ast.Name, ast.Attribute)) and not _has_call(node.value)
    return False


def _is_main_guard(test: ast.AST) -> bool:
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in ast.walk(test))


@dataclass
class _NnfsNames:
    modules: set[str] = field(default_factory=set)  # names bound to the nnfs module
    inits: set[str] = field(default_factory=set)  # names bound to nnfs.init

    @classmethod
    def of(cls, tree: ast.Module) -> _NnfsNames:
        out = cls()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == "nnfs":
                        out.modules.add(a.asname or "nnfs")
            elif isinstance(node, ast.ImportFrom) and node.module == "nnfs" and not node.level:
                for a in node.names:
                    if a.name == "init":
                        out.inits.add(a.asname or "init")
        return out

    def is_init(self, stmt: ast.stmt) -> bool:
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            return False
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and func.attr == "init":
            return isinstance(func.value, ast.Name) and func.value.id in self.modules
        return isinstance(func, ast.Name) and func.id in self.inits


def _keepable(stmt: ast.stmt, nnfs: _NnfsNames) -> bool:
    """Whether defs-only loading runs this top-level statement."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, *_DEF_TYPES, ast.Pass)):
        return True
    if isinstance(stmt, ast.Assign):
        return all(_simple_target(t) for t in stmt.targets) and not _has_call(stmt.value)
    if isinstance(stmt, ast.AnnAssign):
        return _simple_target(stmt.target) and (stmt.value is None or not _has_call(stmt.value))
    if isinstance(stmt, ast.Expr):
        if isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            return True  # a docstring or a string used as a comment
        return nnfs.is_init(stmt)
    if isinstance(stmt, ast.If):
        if _is_main_guard(stmt.test) or _has_call(stmt.test):
            return False
        return all(_keepable(s, nnfs) for s in stmt.body + stmt.orelse)
    if isinstance(stmt, _TRY_TYPES):
        handlers = stmt.handlers  # type: ignore[attr-defined]
        if any(h.type is not None and _has_call(h.type) for h in handlers):
            return False
        blocks = stmt.body + stmt.orelse + stmt.finalbody  # type: ignore[attr-defined]
        blocks += [s for h in handlers for s in h.body]
        return all(_keepable(s, nnfs) for s in blocks)
    type_alias = getattr(ast, "TypeAlias", None)
    return type_alias is not None and isinstance(stmt, type_alias)


def _bound_names(stmt: ast.stmt) -> list[str]:
    """Names an import statement binds (``"*"`` for a star import)."""
    out: list[str] = []
    if isinstance(stmt, ast.Import):
        for a in stmt.names:
            out.append(a.asname or a.name.split(".")[0])
    elif isinstance(stmt, ast.ImportFrom):
        for a in stmt.names:
            out.append(a.asname or a.name)
    return out


def _import_text(stmt: ast.stmt) -> str:
    try:
        return ast.unparse(stmt)
    except Exception:  # pragma: no cover - unparse handles every import
        return "import"


def _imported_module(stmt: ast.stmt) -> str:
    if isinstance(stmt, ast.Import):
        return stmt.names[0].name
    if isinstance(stmt, ast.ImportFrom):
        return "." * stmt.level + (stmt.module or "")
    return "?"


def _stored_names(node: ast.AST) -> set[str]:
    """Names a (dropped) top-level statement would bind, not looking inside definitions."""
    out: set[str] = set()

    def visit(n: ast.AST) -> None:
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
        elif isinstance(n, _DEF_TYPES):
            out.add(n.name)
            return
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            out.update(b for b in _bound_names(n) if b != "*")
        for child in ast.iter_child_nodes(n):
            visit(child)

    visit(node)
    return out


def _defined_inside(node: ast.AST) -> list[str]:
    """Classes and functions a dropped statement would have defined."""
    out: list[str] = []

    def visit(n: ast.AST) -> None:
        for child in ast.iter_child_nodes(n):
            if isinstance(child, ast.ClassDef):
                out.append(f"class {child.name}")
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append(f"function {child.name}")
            else:
                visit(child)

    visit(node)
    return out


@dataclass
class _Use:
    kind: str  # "class" | "function" | "top"
    label: str  # "class Layer_Dense", "function plot", "line 12"


def _uses(kept: list[ast.stmt], src: _Source) -> dict[str, list[_Use]]:
    """For every name, which kept definitions or statements refer to it."""
    out: dict[str, list[_Use]] = {}

    def names(node: ast.AST) -> set[str]:
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}

    def add(node: ast.AST, use: _Use) -> None:
        for name in names(node):
            out.setdefault(name, []).append(use)

    def visit(stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.ClassDef):
            add(stmt, _Use("class", f"class {stmt.name}"))
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            add(stmt, _Use("function", f"function {stmt.name}"))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            pass
        elif isinstance(stmt, ast.If):
            add(stmt.test, _Use("top", src.where(stmt.lineno, with_file=False)))
            for s in stmt.body + stmt.orelse:
                visit(s)
        elif isinstance(stmt, _TRY_TYPES):
            for h in stmt.handlers:  # type: ignore[attr-defined]
                if h.type is not None:
                    add(h.type, _Use("top", src.where(h.lineno, with_file=False)))
                for s in h.body:
                    visit(s)
            for s in stmt.body + stmt.orelse + stmt.finalbody:  # type: ignore[attr-defined]
                visit(s)
        else:
            add(stmt, _Use("top", src.where(stmt.lineno, with_file=False)))

    for stmt in kept:
        visit(stmt)
    return out


def _free_names(kept: list[ast.stmt]) -> set[str]:
    """Names the kept code reads that nothing in it binds and that are not builtins.

    An over-approximation of scopes (a name bound anywhere counts as bound everywhere), good
    enough to tell whether a failed ``from m import *`` could matter.
    """
    loaded: set[str] = set()
    bound: set[str] = set(dir(builtins))
    bound |= {"__name__", "__file__", "__doc__", "__spec__", "__package__", "__builtins__"}
    for stmt in kept:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name):
                (loaded if isinstance(n.ctx, ast.Load) else bound).add(n.id)
            elif isinstance(n, ast.arg):
                bound.add(n.arg)
            elif isinstance(n, (*_DEF_TYPES,)):
                bound.add(n.name)
            elif isinstance(n, ast.ExceptHandler) and n.name:
                bound.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                bound.update(b for b in _bound_names(n) if b != "*")
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                bound.update(n.names)
    return loaded - bound


def _flat_defs(stmts: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Top-level statements, looking into kept ``if``/``try`` blocks."""
    for stmt in stmts:
        if isinstance(stmt, ast.If):
            yield from _flat_defs(stmt.body + stmt.orelse)
        elif isinstance(stmt, _TRY_TYPES):
            inner = stmt.body + stmt.orelse + stmt.finalbody  # type: ignore[attr-defined]
            inner += [s for h in stmt.handlers for s in h.body]  # type: ignore[attr-defined]
            yield from _flat_defs(inner)
        else:
            yield stmt


def _future_flags(tree: ast.Module) -> int:
    flags = 0
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            for a in stmt.names:
                feature = getattr(__future__, a.name, None)
                if feature is not None:
                    flags |= feature.compiler_flag
    return flags


# --------------------------------------------------------------------------- running


class _MissingModule:
    """Stands for a module that is not installed; any use raises ModuleNotFoundError."""

    def __init__(self, module: str, where: str) -> None:
        self.__dict__["_module"] = module
        self.__dict__["_where"] = where

    def _fail(self) -> ModuleNotFoundError:
        return ModuleNotFoundError(
            f"module '{self._module}' is not installed (imported at {self._where})",
            name=self._module,
        )

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        raise self._fail()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __repr__(self) -> str:
        return f"<missing module {self._module!r}>"


@dataclass
class _Stats:
    files: int = 0
    classes: int = 0
    functions: int = 0
    constants: int = 0
    imports: int = 0
    skipped: int = 0


@dataclass
class _State:
    mode: str
    notes: list[str] = field(default_factory=list)
    stats: _Stats = field(default_factory=_Stats)
    roots: list[str] = field(default_factory=list)  # files/dirs whose modules load defs-only
    broken: list[TargetLoadError] = field(default_factory=list)  # classes that raised
    several: bool = False  # the target is a folder or package of modules
    merge: bool = False  # the user chose to read a folder as one target, later files winning


def _target_frame(exc: BaseException, roots: list[str]) -> tuple[str, int | None, str] | None:
    """The innermost traceback frame in the target's code: (filename, lineno, line)."""
    frame = frames.innermost(exc, lambda f: f in _SOURCES or _under(f, roots))
    if frame is None:
        return None
    return frame.filename, frame.lineno, (frame.line or "").strip()


def _describe_exception(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        code = "" if exc.code is None else repr(exc.code)
        return f"sys.exit({code}) was called"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _runtime_error(
    exc: BaseException, doing: str, roots: list[str], fallback: tuple[_Source, int] | None = None
) -> TargetLoadError:
    frame = _target_frame(exc, roots)
    if frame is not None:
        filename, lineno, line = frame
        where = location(filename, lineno)
        if not line and filename in _SOURCES:
            line = _SOURCES[filename].line(lineno)
    elif fallback is not None:
        where = fallback[0].where(fallback[1])
        line = fallback[0].line(fallback[1])
    else:
        where, line = "", ""
    if isinstance(exc, SystemExit):
        msg = f"{doing} stopped: {_describe_exception(exc)}"
    else:
        msg = f"{doing} raised {_describe_exception(exc)}"
    if where:
        msg += f" ({where})"
    if line:
        msg += f"\n    {line}"
    return TargetLoadError(msg)


def _drop_dependents(
    kept: list[ast.stmt], dropped: list[ast.stmt]
) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """Also drop call-free statements that read what only dropped code sets.

    ``image = 255 - image`` after ``image = cv2.imread(...)`` is top-level computation, not
    a constant: it goes with the statement it depends on, silently.
    """
    kept = list(kept)
    dropped = list(dropped)
    while True:
        missing: set[str] = set()
        for stmt in dropped:
            missing |= _stored_names(stmt)
        bound: set[str] = set()
        moved: list[ast.stmt] = []
        for stmt in kept:
            candidate = not isinstance(stmt, (*_DEF_TYPES, ast.Import, ast.ImportFrom)) and not any(
                isinstance(s, _DEF_TYPES) for s in _flat_defs([stmt])
            )
            reads = {
                n.id
                for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            }
            if candidate and reads & (missing - bound):
                moved.append(stmt)
                missing |= _stored_names(stmt) - bound  # a chain goes in one pass
            else:
                bound |= _stored_names(stmt)
        if not moved:
            return kept, sorted(dropped, key=lambda s: s.lineno)
        kept = [s for s in kept if s not in moved]
        dropped += moved


def _promote_used_assignments(
    kept: list[ast.stmt], dropped: list[ast.stmt]
) -> tuple[list[ast.stmt], list[ast.stmt], list[ast.stmt]]:
    """Keep a plain top-level assignment with a call (``rng = np.random.default_rng(0)``,
    ``EPS = np.finfo(float).eps``) when the kept definitions read the name it sets: without
    it they would fail with a NameError.  Training loops and data loading are statements no
    class reads, so they stay dropped; an assignment that fails when run is dropped then,
    with a note (see :func:`_on_defs_error`)."""
    promoted: list[ast.stmt] = []
    while True:
        free = _free_names(kept)
        moved: list[ast.stmt] = [
            stmt for stmt in dropped
            if isinstance(stmt, ast.Assign)
            and all(_simple_target(t) for t in stmt.targets)
            and not _has_top_level_await(stmt)
            and _stored_names(stmt) & free
        ]
        if not moved:
            return kept, dropped, sorted(promoted, key=lambda s: s.lineno)
        promoted += moved
        dropped = [s for s in dropped if s not in moved]
        kept = sorted(kept + moved, key=lambda s: s.lineno)


def _exec_defs_only(module: types.ModuleType, src: _Source, state: _State) -> None:
    """Run the defining statements of ``src`` in ``module``'s namespace."""
    tree = _parse(src, lenient=True, notes=state.notes)
    nnfs = _NnfsNames.of(tree)
    kept: list[ast.stmt] = []
    dropped: list[ast.stmt] = []
    for stmt in tree.body:
        (kept if _keepable(stmt, nnfs) else dropped).append(stmt)
    kept, dropped = _drop_dependents(kept, dropped)
    kept, dropped, promoted = _promote_used_assignments(kept, dropped)

    stats = state.stats
    stats.files += 1
    stats.skipped += len(dropped)
    set_by_dropped: dict[str, int] = {}
    for stmt in dropped:
        for name in _stored_names(stmt):
            set_by_dropped.setdefault(name, stmt.lineno)
        defined = _defined_inside(stmt)
        if defined:
            head = src.line(stmt.lineno).rstrip(":").strip()
            state.notes.append(
                f"skipped `{head}` ({src.where(stmt.lineno)}) and the "
                f"{', '.join(defined)} defined inside it (use --import to run it)"
            )
    class_defs: dict[str, list[ast.ClassDef]] = {}
    for stmt in _flat_defs(kept):
        if isinstance(stmt, ast.ClassDef):
            stats.classes += 1
            class_defs.setdefault(stmt.name, []).append(stmt)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stats.functions += 1
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            stats.constants += 1
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            stats.imports += 1
    for name, defs in class_defs.items():
        if len(defs) > 1:
            state.notes.append(_redefinition_note(name, defs, src))

    uses = _uses(kept, src)
    free = _free_names(kept)
    flags = _future_flags(tree)
    namespace = module.__dict__
    n_defined = 0  # classes defined without error
    broken_before = len(state.broken)
    for stmt in kept:
        if isinstance(stmt, ast.Pass):
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)
                code = compile(
                    ast.Module(body=[stmt], type_ignores=[]),
                    src.path,
                    "exec",
                    flags=flags,
                    dont_inherit=True,
                )
        except SyntaxError as exc:
            raise _syntax_error(src, exc) from None
        if nnfs.is_init(stmt):
            state.notes.append(
                f"nnfs.init() at {src.where(stmt.lineno)} was run: NumPy's dot, zeros, eye and "
                "randn now give float32, as they do for the target"
            )
        numpy_before = _numpy_state() if isinstance(stmt, ast.ClassDef) else None
        try:
            exec(code, namespace)
        except (KeyboardInterrupt, TargetLoadError):
            raise
        except BaseException as exc:
            _on_defs_error(exc, stmt, src, state, uses, set_by_dropped, namespace, free)
        else:
            if numpy_before is not None and isinstance(stmt, ast.ClassDef):
                replaced = _restore_numpy(numpy_before)
                if replaced:
                    _numpy_patched_by_class(stmt, replaced, src, state, namespace)
                    continue
            n_defined += isinstance(stmt, ast.ClassDef)
            if stmt in promoted:
                state.notes.append(
                    f"ran `{src.line(stmt.lineno).strip()}` ({src.where(stmt.lineno)}): the "
                    f"kept definitions use {', '.join(sorted(_stored_names(stmt)))}"
                )
    for name, line in set_by_dropped.items():  # for the checks' messages (see unset_name)
        if name not in namespace:
            UNSET.setdefault(name, src.where(line))
    if len(state.broken) > broken_before and not n_defined and not state.several:
        # no class of the target's one module could be defined: it is unusable, and says
        # why (in a folder of modules, one per class, that class alone is the error)
        raise state.broken[broken_before]


#: Names the target's top-level code sets but defs-only loading did not run (or that
#: raised), with where: a NameError on one of them in a check is a setup the checks could
#: not reproduce, not a bug in the method (one target per process, so one table).
UNSET: dict[str, str] = {}


def unset_name(exc: BaseException) -> str | None:
    """For a NameError on a name set by top-level code that was not run: where it is set."""
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    return UNSET.get(name) if isinstance(name, str) else None


def _redefinition_note(name: str, defs: list[ast.ClassDef], src: _Source) -> str:
    """A class defined several times (typical of notebooks): the last one wins, entirely."""
    places = "; ".join(src.where(d.lineno, with_file=False) for d in defs)
    note = (
        f"class {name} is defined {len(defs)} times in {src.display} ({places}); "
        "the last definition is the one used"
    )

    def methods(d: ast.ClassDef) -> set[str]:
        return {s.name for s in d.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}

    last = methods(defs[-1])
    lost: dict[str, int] = {}
    for d in defs[:-1]:
        for m in sorted(methods(d) - last):
            lost[m] = d.lineno
    if lost:
        listed = ", ".join(
            f"{m}(), which the one at {src.where(line, with_file=False)} has"
            for m, line in lost.items()
        )
        note += (
            f", and it has no {listed}: a new class statement replaces the whole class, it "
            "does not add methods to the earlier one"
        )
    return note


def _on_defs_error(
    exc: BaseException,
    stmt: ast.stmt,
    src: _Source,
    state: _State,
    uses: dict[str, list[_Use]],
    set_by_dropped: dict[str, int],
    namespace: dict[str, Any],
    free: set[str],
) -> None:
    """Skip a failing kept statement with a note when nothing needs it; raise otherwise."""
    inner = [s for s in _flat_defs([stmt]) if not isinstance(s, (ast.Pass, ast.Expr))]
    imports = [s for s in inner if isinstance(s, (ast.Import, ast.ImportFrom))]
    if imports and len(imports) == len(inner) and isinstance(exc, Exception):
        bound = [b for s in imports for b in _bound_names(s)]
        users = [u for b in bound if b != "*" for u in uses.get(b, [])]
        if "*" in bound:  # a star import: any name nothing else defines may come from it
            users += [u for name in sorted(free) for u in uses.get(name, [])]
        text = "; ".join(_import_text(s) for s in imports)
        where = src.where(stmt.lineno, with_file=False)
        missing = exc.name if isinstance(exc, ModuleNotFoundError) and exc.name else None
        if missing:
            module = _imported_module(imports[0]).lstrip(".") or missing
            root = module.split(".")[0]
            what = f"'{missing}'" if missing == root else f"'{module}', which needs '{missing}'"
            problem = f"{what}, which is not installed"
        else:
            problem = f"'{_imported_module(imports[0])}', which failed: {_describe_exception(exc)}"
        hard = [u for u in users if u.kind != "function"]
        if hard:
            labels = sorted({u.label for u in hard})
            shown = ", ".join(labels[:3]) + (", ..." if len(labels) > 3 else "")
            raise TargetLoadError(
                f"{src.display} imports {problem} ({where}: `{text}`); {shown} "
                f"{'uses' if len(labels) == 1 else 'use'} it. Install it where the checks run, "
                "or remove the import"
            ) from None
        if users:
            for b in bound:
                namespace[b] = _MissingModule(missing or _imported_module(imports[0]), where)
            labels = sorted({u.label for u in users})
            state.notes.append(
                f"{text} failed ({src.where(stmt.lineno)}): {problem}; only "
                f"{', '.join(labels)} {'uses' if len(labels) == 1 else 'use'} it and will fail "
                "if called"
            )
        elif missing:
            state.notes.append(
                f"{text} skipped ({src.where(stmt.lineno)}): module not installed and not used "
                "by any definition"
            )
        else:
            state.notes.append(
                f"{text} skipped ({src.where(stmt.lineno)}): it raised "
                f"{_describe_exception(exc)} and no definition uses it"
            )
        return

    is_class = any(isinstance(s, ast.ClassDef) for s in _flat_defs([stmt]))
    if not is_class and isinstance(exc, Exception):  # a constant, a block or a function
        why = (
            f"{exc} (it depends on top-level code that defs-only loading does not run)"
            if isinstance(exc, NameError)
            else f"it raised {_describe_exception(exc)}"
        )
        state.notes.append(f"`{src.line(stmt.lineno)}` skipped ({src.where(stmt.lineno)}): {why}")
        for stored in _stored_names(stmt):  # what it would have set is missing, as if dropped
            set_by_dropped.setdefault(stored, stmt.lineno)
        stats = state.stats
        stats.skipped += 1
        for inner_stmt in _flat_defs([stmt]):
            if isinstance(inner_stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                stats.functions -= 1
            elif isinstance(inner_stmt, (ast.Assign, ast.AnnAssign)):
                stats.constants -= 1
            elif isinstance(inner_stmt, (ast.Import, ast.ImportFrom)):
                stats.imports -= 1
        return
    doing = f"running the definitions in {src.display}"
    err = _runtime_error(exc, doing, state.roots, (src, stmt.lineno))
    name = getattr(exc, "name", None)
    if isinstance(exc, NameError) and isinstance(name, str) and name in set_by_dropped:
        line = set_by_dropped[name]
        err = TargetLoadError(
            f"{err}\n'{name}' is set by top-level code ({src.where(line, with_file=False)}) that "
            "defs-only loading does not run; use --import to run the whole module"
        )
    if isinstance(stmt, ast.ClassDef) and isinstance(exc, (Exception, SystemExit)):
        # One class that cannot be defined (code dedented into its body, say) is that
        # component's error; the module's other classes are still checked.
        stand_in = _mark_broken(stmt.name, err, state, namespace).__bases__ != (object,)
        state.notes.append(
            f"class {stmt.name} could not be defined ({src.where(stmt.lineno)}): it is "
            "reported as an error, and the other classes are checked"
            + (" (with the reference's class in its place where they use it)" if stand_in
               else "")
        )
        return
    raise err from None


def _numpy_state() -> dict[str, dict[str, Any]]:
    """What numpy and numpy.random bind, by name (to see a class body replace one)."""
    import numpy

    return {"numpy": dict(vars(numpy)), "numpy.random": dict(vars(numpy.random))}


def _restore_numpy(before: dict[str, dict[str, Any]]) -> list[str]:
    """Put back every numpy function a statement replaced; the names it replaced."""
    import numpy

    replaced = []
    for modname, module in (("numpy", numpy), ("numpy.random", numpy.random)):
        now = vars(module)
        for name, value in before[modname].items():
            if now.get(name, value) is not value:
                setattr(module, name, value)
                replaced.append(f"{modname}.{name}")
    return replaced


def _numpy_patched_by_class(stmt: ast.ClassDef, replaced: list[str], src: _Source,
                            state: _State, namespace: dict[str, Any]) -> None:
    """A class body that replaces numpy functions for the whole process (np.clip = ...)
    would change every other component's results and the reference's: the functions are
    put back, and the class is reported instead of checked."""
    err = TargetLoadError(
        f"defining class {stmt.name} replaces {', '.join(replaced)} for the whole process "
        f"({src.where(stmt.lineno)}); every other class, and the checks' own reference, would "
        "compute with the replacement. It was undone, and the class is not checked: keep "
        "such a change inside the class's own methods, or use another name"
    )
    _mark_broken(stmt.name, err, state, namespace)
    state.notes.append(f"class {stmt.name} replaces {', '.join(replaced)} when it is defined "
                       f"({src.where(stmt.lineno)}): undone, and the class is reported as an error")


BROKEN = "__nnfs_oracle_broken__"


def broken_class(name: str, message: str, module: str | None) -> type:
    """A stand-in for a class whose definition raised.  Discovery finds it under its name
    and the checks report ``message`` as its error (:func:`broken_definition`).  For a
    book class the reference's class stands in behind it, so that the module's classes
    that use it or inherit from it are checked on their own code, not failed for it."""
    import reference
    from oracle.adapt import COMPONENTS

    ns: dict[str, Any] = {BROKEN: message, "__module__": module}
    stand_in = getattr(reference, name, None) if name in COMPONENTS else None
    if not isinstance(stand_in, type):
        stand_in = None

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: ARG001
            raise TargetLoadError(message)

        ns["__init__"] = __init__
    return type(name, (stand_in,) if stand_in else (), ns)


def _mark_broken(name: str, err: TargetLoadError, state: _State,
                 namespace: dict[str, Any]) -> type:
    """Put the stand-in for class ``name`` in the namespace and remember why."""
    namespace[name] = broken_class(name, str(err), namespace.get("__name__"))
    state.broken.append(err)
    return namespace[name]


def broken_definition(cls: type) -> str | None:
    """Why ``cls`` itself could not be defined, or None."""
    message = getattr(cls, "__dict__", {}).get(BROKEN)
    return None if message is None else str(message)


# --------------------------------------------------------------------------- import hook


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _excluded_dirs() -> list[str]:
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            dirs.add(sysconfig.get_path(key))
        except KeyError:  # pragma: no cover
            pass
    return sorted(os.path.abspath(d) for d in dirs if d)


def _under(path: str, roots: list[str]) -> bool:
    """Whether ``path`` is one of the target's own files.

    A file below a root is not the target's when it lies in an installation (a virtualenv,
    site-packages, the standard library) that is itself inside the root, as when a project
    directory holds its own ``.venv``.
    """
    path = os.path.abspath(path)
    for root in roots:
        if path == root:
            return True
        if not (os.path.isdir(root) and _inside(path, root)):
            continue
        rest = path[len(root.rstrip(os.sep)) + 1 :].split(os.sep)
        if any(p in ("site-packages", "dist-packages") for p in rest[:-1]):
            continue
        if any(_inside(path, d) and not _inside(root, d) for d in _excluded_dirs()):
            continue
        return True
    return False


class _DefsOnlyLoader(importlib.abc.Loader):
    def __init__(self, state: _State) -> None:
        self.state = state

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        origin = module.__spec__.origin if module.__spec__ is not None else None
        if origin is None:  # pragma: no cover - specs come from _DefsOnlyFinder
            raise ImportError(f"no source for {module.__name__}")
        _exec_defs_only(module, _read_python(origin), self.state)


class _DefsOnlyFinder(importlib.abc.MetaPathFinder):
    """Loads the target's own modules (those under ``state.roots``) defs-only."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        origin = spec.origin if spec is not None else None
        if spec is None or origin is None or not origin.endswith(".py"):
            return None
        if not _under(origin, self.state.roots):
            return None
        return importlib.util.spec_from_file_location(
            fullname,
            origin,
            loader=_DefsOnlyLoader(self.state),
            submodule_search_locations=spec.submodule_search_locations,
        )


class _Hooked:
    """Context: the defs-only finder is first on sys.meta_path (defs-only mode only)."""

    def __init__(self, state: _State) -> None:
        self.finder = _DefsOnlyFinder(state) if state.mode == "defs-only" else None

    def __enter__(self) -> _Hooked:
        if self.finder is not None:
            sys.meta_path.insert(0, self.finder)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.finder is not None and self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)


# --------------------------------------------------------------------------- target kinds


def _private_name(stem: str) -> str:
    clean = re.sub(r"\W", "_", stem) or "target"
    return f"{_PRIVATE_PREFIX}_{next(_counter)}_{clean}"


def _spec(name: str) -> tuple[bool, Any]:
    """(whether ``name`` could be looked up, its spec or None when nothing has it)."""
    if not name.isidentifier() or keyword.iskeyword(name):
        return False, None
    try:
        return True, importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False, None


def _usable_name(name: str, origin: str) -> bool:
    """Whether ``name`` can be used for a module at ``origin`` without shadowing another."""
    ok, spec = _spec(name) if name not in sys.modules else (False, None)
    if not ok or spec is None:
        return ok
    return spec.origin is not None and os.path.abspath(spec.origin) == os.path.abspath(origin)


def _usable_folder(name: str, path: str) -> bool:
    """Whether the folder ``path`` can be imported as the package ``name`` (nothing else by
    that name comes first on sys.path)."""
    here = os.path.abspath(path)
    if name in sys.modules:  # imported already: by a module of this folder, or another one
        return here in [os.path.abspath(p) for p in getattr(sys.modules[name], "__path__", [])]
    ok, spec = _spec(name)
    if not ok or spec is None:
        return ok
    places = [os.path.abspath(p) for p in (spec.submodule_search_locations or [])]
    return here in places and (spec.origin in (None, "namespace")
                               or os.path.abspath(spec.origin) == os.path.join(here, "__init__.py"))


def _add_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)


def _new_module(name: str, path: str, *, package_dir: str | None = None) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[package_dir] if package_dir else None
    )
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    return module


def _run_module(module: types.ModuleType, state: _State, src: _Source | None = None) -> None:
    """Execute a module created by _new_module in the state's mode."""
    path = module.__file__ or ""
    if state.mode == "defs-only":
        _exec_defs_only(module, src or _read_python(path), state)
        return
    state.stats.files += 1
    src = src or _read_python(path)
    if src.cells is not None:
        tree = _parse(src, lenient=False, notes=state.notes)
        body = [s for s in tree.body if not _has_top_level_await(s)]
        if len(body) < len(tree.body):
            state.notes.append(
                f"skipped {len(tree.body) - len(body)} top-level `await` statement(s) "
                "(notebook-only syntax)"
            )
        code = compile(ast.Module(body=body, type_ignores=[]), src.path, "exec", dont_inherit=True)
    else:
        code = None
    try:
        if code is not None:
            exec(code, module.__dict__)
        else:
            assert module.__spec__ is not None and module.__spec__.loader is not None
            _parse(src, lenient=False, notes=state.notes)  # a clear message for syntax errors
            module.__spec__.loader.exec_module(module)
    except (KeyboardInterrupt, TargetLoadError):
        raise
    except SystemExit as exc:
        frame = _target_frame(exc, state.roots)
        where = f" at {location(frame[0], frame[1])}" if frame else ""
        if exc.code in (None, 0):
            state.notes.append(
                f"{src.display} called sys.exit({'' if exc.code is None else 0}){where}; "
                "the definitions made before it are used"
            )
            return
        raise _runtime_error(exc, f"running {src.display}", state.roots) from None
    except BaseException as exc:
        raise _runtime_error(exc, f"running {src.display}", state.roots) from None


def _import_package_modules(name: str, pkg_dir: str, state: _State) -> list[types.ModuleType]:
    """Import every module of a package (recursively), in a stable order."""
    modules: list[types.ModuleType] = []
    for dirpath, dirnames, filenames in os.walk(pkg_dir):
        dirnames[:] = sorted(d for d in dirnames if _source_folder(os.path.join(dirpath, d)))
        rel = os.path.relpath(dirpath, pkg_dir)
        prefix = name if rel == "." else name + "." + rel.replace(os.sep, ".")
        if rel != "." and os.path.isfile(os.path.join(dirpath, "__init__.py")):
            modules.append(_import(prefix, state))
        for fname in sorted(filenames, key=natural_key):
            stem, ext = os.path.splitext(fname)
            if ext != ".py" or stem in ("__init__", "__main__") or not stem.isidentifier():
                continue
            modules.append(_import(f"{prefix}.{stem}", state))
    return modules


def _source_folder(path: str) -> bool:
    """A folder whose modules belong to the target: a package, or a namespace folder (no
    ``__init__.py``) with Python source somewhere below; not a virtualenv, a cache or a
    hidden folder."""
    base = os.path.basename(path)
    if not base.isidentifier() or keyword.iskeyword(base) or base.startswith(("_", ".")) \
            or base in ("site-packages", "dist-packages") \
            or os.path.isfile(os.path.join(path, "pyvenv.cfg")):
        return False
    if os.path.isfile(os.path.join(path, "__init__.py")):
        return True
    for _dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
        if any(f.endswith(".py") for f in filenames):
            return True
    return False


def _imports_itself(directory: str, name: str) -> bool:
    """Does a module below ``directory`` import ``name`` (the folder's own name) absolutely
    (``from nsB.layers.dense import ...``)?  Then the folder is a namespace package that
    its modules reach by that name."""
    pattern = re.compile(rf"^\s*(?:from|import)\s+{re.escape(name)}(?:\.|\s|$)", re.M)
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if _source_folder(os.path.join(dirpath, d))]
        for f in filenames:
            if f.endswith(".py"):
                try:
                    with open(os.path.join(dirpath, f), encoding="utf-8", errors="replace") as fh:
                        if pattern.search(fh.read()):
                            return True
                except OSError:
                    continue
    return False


def _import(name: str, state: _State) -> types.ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    if state.mode == "import":
        state.stats.files += 1
    try:
        return importlib.import_module(name)
    except (KeyboardInterrupt, TargetLoadError):
        raise
    except SyntaxError as exc:
        src = _SOURCES.get(exc.filename or "") or (
            _read_python(exc.filename) if exc.filename and os.path.isfile(exc.filename) else None
        )
        if src is not None:
            raise _syntax_error(src, exc) from None
        raise TargetLoadError(f"syntax error importing {name}: {exc}") from None
    except BaseException as exc:
        raise _runtime_error(exc, f"importing {name}", state.roots) from None


def natural_key(name: str) -> list[Any]:
    """A sort key that puts ``s2`` before ``s10``."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name)]


def _component_like(cls: type) -> bool:
    """A class the checks could take for a component: one with a forward or a backward, or
    named like a book class."""
    from oracle.adapt import BACKWARD_NAMES, FORWARD_NAMES, role_of

    return any(callable(getattr(cls, n, None)) for n in (*FORWARD_NAMES, *BACKWARD_NAMES)) \
        or role_of(cls.__name__) is not None


def _merge(namespaces: list[tuple[str, dict[str, Any]]], notes: list[str], *,
           merge: bool = False) -> dict[str, Any]:
    """One namespace from several modules.

    A name a module only imported (its ``__module__`` is another module) does not replace the
    module that defines it.  Two modules that each define a component-like class of the same
    name are an error (one student's class would hide another's), unless ``merge`` (the user
    chose ``--one``): then the later one wins, with a note.
    """
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for label, ns in namespaces:
        modname = ns.get("__name__")
        for key, value in ns.items():
            if key.startswith("__"):
                continue
            own = getattr(value, "__module__", None) == modname
            if key in merged:
                if merged[key] is value:
                    continue
                if isinstance(value, types.ModuleType) and isinstance(merged[key], type):
                    continue  # a module named like the class it defines (layers/Dense.py)
                if not own and isinstance(value, (type, types.FunctionType)):
                    continue
                if own and isinstance(value, type) and isinstance(merged[key], type):
                    if not merge and _component_like(value):
                        raise TargetLoadError(
                            f"class {key} is defined in both {origin[key]} and {label}: "
                            "they are one target, so one would silently hide the other. "
                            "Check each file as its own target (--each), or take the later "
                            "one (--one)")
                    notes.append(
                        f"class {key} is defined in both {origin[key]} and {label}; "
                        f"the one in {label} is used (--one)"
                    )
            merged[key] = value
            origin[key] = label
    return merged


def _load_file(path: str, state: _State) -> tuple[dict[str, Any], str]:
    state.roots.append(os.path.dirname(path))
    _add_path(os.path.dirname(path))
    src = _read_python(path)
    stem = os.path.splitext(os.path.basename(path))[0]
    module = _new_module(_private_name(stem), path)
    with _Hooked(state):
        _run_module(module, state, src)
    return module.__dict__, f"file {src.display}"


def _load_notebook(path: str, state: _State) -> tuple[dict[str, Any], str]:
    state.roots.append(os.path.dirname(path))
    _add_path(os.path.dirname(path))
    src = _read_notebook(path, state.notes)
    stem = os.path.splitext(os.path.basename(path))[0]
    name = _private_name(stem)
    module = types.ModuleType(name)
    module.__file__ = path
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, origin=path)
    sys.modules[name] = module
    with _Hooked(state):
        _run_module(module, state, src)
    n = len(src.cells or [])
    if n == 0:
        state.notes.append(f"{src.display} has no code cells")
    return module.__dict__, f"notebook {src.display} ({n} code cell{'s' if n != 1 else ''})"


def _load_package(pkg_dir: str, state: _State, name: str | None = None) -> tuple[dict, str]:
    state.several = True
    pkg_dir = os.path.abspath(pkg_dir)
    init = os.path.join(pkg_dir, "__init__.py")
    real = name or os.path.basename(pkg_dir)
    state.roots.append(pkg_dir)
    parent = os.path.dirname(pkg_dir)
    # its modules may import its subpackages by their own names (from activations import
    # ...), as when the author ran from inside it: last on the path, shadowing nothing
    if pkg_dir not in sys.path:
        sys.path.append(pkg_dir)
    with _Hooked(state):
        if _usable_name(real, init):
            if name is None:
                _add_path(parent)
            pkg = _import(real, state)
            used = real
        else:
            used = _private_name(real)
            state.notes.append(
                f"package {real} is loaded as {used}: the name {real!r} is taken by another "
                f"module, so absolute imports of {real!r} inside it refer to that module"
            )
            pkg = _new_module(used, init, package_dir=pkg_dir)
            _run_module(pkg, state)
        subs = _import_package_modules(used, pkg_dir, state)
    # The submodules' definitions, then the package's own names over them.
    merged = _merge([(m.__name__, m.__dict__) for m in subs], state.notes, merge=state.merge)
    merged.update({k: v for k, v in pkg.__dict__.items() if not k.startswith("__") and not (
        isinstance(v, types.ModuleType) and isinstance(merged.get(k), type))})
    n = 1 + len(subs)
    return merged, f"package {_display(pkg_dir)} ({n} module{'s' if n != 1 else ''})"


def _load_directory(directory: str, state: _State) -> tuple[dict, str]:
    """Every module of a folder without ``__init__.py``: its files, and the packages and
    namespace folders below it (each module under its dotted name).  When its modules
    import the folder by its own name (``from proj.layers import ...``), the folder itself
    is that namespace package."""
    state.several = True
    directory = os.path.abspath(directory)
    files = sorted(
        (f for f in os.listdir(directory) if f.endswith(".py") and not f.startswith(".")),
        key=natural_key,
    )
    folders = sorted((d for d in os.listdir(directory)
                      if os.path.isdir(os.path.join(directory, d))
                      and _source_folder(os.path.join(directory, d))), key=natural_key)
    if not files and not folders:
        raise TargetLoadError(
            f"{_display(directory)} is a directory with no .py files (and no __init__.py)"
        )
    state.roots.append(directory)
    own = os.path.basename(directory)
    if own.isidentifier() and own not in sys.modules and _imports_itself(directory, own):
        parent = os.path.dirname(directory)
        spec = None
        try:
            spec = importlib.util.find_spec(own) if parent in sys.path else None
        except (ImportError, ValueError):
            pass
        if spec is None:
            _add_path(parent)
            with _Hooked(state):
                modules = _import_package_modules(own, directory, state)
            merged = _merge([(m.__name__, m.__dict__) for m in modules], state.notes,
                            merge=state.merge)
            n = len(modules)
            return merged, (f"namespace package {_display(directory)} "
                            f"({n} module{'s' if n != 1 else ''})")
    _add_path(directory)
    namespaces = []
    with _Hooked(state):
        for fname in files:
            path = os.path.join(directory, fname)
            stem = fname[:-3]
            existing = sys.modules.get(stem)
            if (
                existing is not None
                and os.path.abspath(getattr(existing, "__file__", "") or "") == path
            ):
                module = existing  # already imported by an earlier file
            elif _usable_name(stem, path):
                module = _import(stem, state)
            else:
                module = _new_module(_private_name(stem), path)
                _run_module(module, state)
            namespaces.append((fname, module.__dict__))
        for d in folders:
            if not _usable_folder(d, os.path.join(directory, d)):
                state.notes.append(f"folder {d} is not loaded: the name {d!r} is taken by "
                                   "another module")
                continue
            if os.path.isfile(os.path.join(directory, d, "__init__.py")):
                namespaces.append((d, _import(d, state).__dict__))
            else:
                _import(d, state)  # the namespace package itself, before its modules
            for m in _import_package_modules(d, os.path.join(directory, d), state):
                namespaces.append((m.__name__, m.__dict__))
    merged = _merge(namespaces, state.notes, merge=state.merge)
    n = len(files)
    more = len(namespaces) - n
    extra = f" and {more} module{'s' if more != 1 else ''} in its folders" if more else ""
    return merged, f"directory {_display(directory)} ({n} file{'s' if n != 1 else ''}{extra})"


def _find_module_spec(name: str) -> importlib.machinery.ModuleSpec | None:
    """Locate a dotted module without running any of its parent packages."""
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
        for i in range(1, len(parts)):
            if spec is None or spec.submodule_search_locations is None:
                return None
            spec = importlib.machinery.PathFinder.find_spec(
                ".".join(parts[: i + 1]), list(spec.submodule_search_locations)
            )
    except (ImportError, ValueError):
        return None
    return spec


def _load_module_name(name: str, state: _State) -> tuple[dict, str]:
    spec = _find_module_spec(name)
    if spec is None:
        raise TargetLoadError(f"no such file, directory or module: {name}")
    origin = spec.origin
    is_pkg = spec.submodule_search_locations is not None
    if state.mode == "import":
        state.roots.extend(
            list(spec.submodule_search_locations or []) if is_pkg else [origin or ""]
        )
        module = _import(name, state)
        return module.__dict__, f"module {name}" + (f" ({_display(origin)})" if origin else "")
    if origin is None or not origin.endswith(".py"):
        kind = "a namespace package" if is_pkg else "not Python source"
        raise TargetLoadError(
            f"module {name} is {kind}; defs-only loading needs .py source "
            "(name a module with source, or use --import)"
        )
    parts = name.split(".")
    if len(parts) == 1:
        if is_pkg:
            return _load_package(os.path.dirname(origin), state, name=name)
        state.roots.append(os.path.abspath(origin))
        if name in sys.modules:
            module = _new_module(_private_name(name), origin)
            _run_module(module, state)
        else:
            with _Hooked(state):
                module = _import(name, state)
        return module.__dict__, f"module {name} ({_display(origin)})"
    top = _find_module_spec(parts[0])
    assert top is not None and top.submodule_search_locations is not None
    state.roots.extend(os.path.abspath(p) for p in top.submodule_search_locations)
    if parts[0] in sys.modules:
        raise TargetLoadError(
            f"package {parts[0]} is already imported in this process, so {name} cannot be "
            "loaded defs-only here; use --import, or check it from a fresh process"
        )
    with _Hooked(state):
        module = _import(name, state)
    return module.__dict__, f"module {name} ({_display(origin)})"


def _looks_like_path(target: str) -> bool:
    return (
        "/" in target
        or os.sep in target
        or target.startswith(("~", "."))
        or target.endswith((".py", ".ipynb", ".pyw"))
        or not all(p.isidentifier() for p in target.split("."))
    )


def load_target(target: str | os.PathLike[str], *, import_mode: bool = False,
                merge: bool = False) -> LoadedTarget:
    """Load ``target`` and return its namespace.

    - ``target``: a ``.py`` file, a ``.ipynb`` notebook (nbformat 4), a package directory
      (with ``__init__.py``; its modules' definitions are merged under the package's own
      names), a directory of ``.py`` files (all their definitions in one namespace, later
      files by natural order winning), or an importable module name such as
      ``mypkg.models``.
    - ``import_mode`` (default ``False``): run the module normally instead of defs-only.
    - ``merge`` (default ``False``): a class of a component defined in two modules of a
      folder is taken from the later one; otherwise it is an error of the target.

    Raises :class:`TargetLoadError` with a message for the user on any failure.
    """
    state = _State("import" if import_mode else "defs-only", merge=merge)
    text = os.fspath(target) if isinstance(target, os.PathLike) else target
    if not isinstance(text, str) or not text.strip():
        raise TargetLoadError(f"not a target: {target!r} (give a file, directory or module name)")
    try:
        namespace, description = _dispatch(text.strip(), state)
    except TargetLoadError:
        raise
    except RecursionError:
        raise TargetLoadError(f"cannot load {text}: it is nested too deeply to analyse") from None
    except Exception as exc:  # a bug of ours: still one clear line, not a traceback
        raise TargetLoadError(
            f"cannot load {text}: unexpected {type(exc).__name__}: {exc}"
        ) from None
    namespace = _with_own_modules(namespace, state)
    notes = [_summary(state)] + state.notes
    return LoadedTarget(namespace, state.mode, description, notes)


def _with_own_modules(namespace: dict[str, Any], state: _State) -> dict[str, Any]:
    """The namespace and the classes of the target's own modules it imports as modules
    (``import optimizers`` beside ``main.py``): those classes are the target's too."""
    extra: dict[str, Any] = {}
    for value in list(namespace.values()):
        origin = getattr(value, "__file__", None) if isinstance(value, types.ModuleType) else None
        if not origin or not _under(origin, state.roots):
            continue
        for key, cls in vars(value).items():
            if isinstance(cls, type) and not key.startswith("_") and key not in namespace \
                    and getattr(cls, "__module__", None) == value.__name__:
                extra.setdefault(key, cls)
    return {**namespace, **extra} if extra else namespace


def _dispatch(target: str, state: _State) -> tuple[dict[str, Any], str]:
    path = os.path.abspath(os.path.expanduser(target))
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "__init__.py")):
            return _load_package(path, state)
        return _load_directory(path, state)
    if os.path.exists(path):
        ext = os.path.splitext(path)[1].lower()
        if ext in (".py", ".pyw"):
            return _load_file(path, state)
        if ext == ".ipynb":
            return _load_notebook(path, state)
        raise TargetLoadError(
            f"cannot load {target}: expected a .py file, a .ipynb notebook, a package "
            f"directory or an importable module name, not a {ext or 'extensionless'} file"
        )
    if _looks_like_path(target):
        raise TargetLoadError(f"no such file: {target}")
    return _load_module_name(target, state)


def _summary(state: _State) -> str:
    s = state.stats
    if state.mode == "import":
        files = f" ({s.files} files)" if s.files > 1 else ""
        return f"import: ran the target's top-level code{files}"
    parts = [f"{s.classes} class{'es' if s.classes != 1 else ''}"]
    parts.append(f"{s.functions} function{'s' if s.functions != 1 else ''}")
    parts.append(f"{s.constants} constant{'s' if s.constants != 1 else ''}")
    n_defs = s.classes + s.functions + s.constants
    files = f" from {s.files} files" if s.files > 1 else ""
    kept = (
        f"defs-only: kept {n_defs} definition{'s' if n_defs != 1 else ''} "
        f"({', '.join(parts)}) and {s.imports} import{'s' if s.imports != 1 else ''}{files}"
    )
    if s.skipped:
        return (
            f"{kept}, skipped {s.skipped} top-level statement{'s' if s.skipped != 1 else ''} "
            "(use --import to run the module)"
        )
    return f"{kept}; nothing was skipped"
