"""oracle.load: every kind of target loads; defs-only runs definitions only; errors are clear."""

from __future__ import annotations

import json
import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oracle.load import LoadedTarget, TargetLoadError, load_target, location

FIXTURES = Path(__file__).parent / "fixtures" / "load"


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    """Undo what loading does to this process: nnfs.init()'s NumPy patches, sys.path, modules."""
    saved_np = (np.dot, np.zeros, np.eye, np.random.randn)
    rng = np.random.get_state()
    path = list(sys.path)
    modules = set(sys.modules)
    try:
        yield
    finally:
        np.dot, np.zeros, np.eye, np.random.randn = saved_np
        np.random.set_state(rng)
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            module = sys.modules[name]
            file = getattr(module, "__file__", None) or ""
            if name.startswith("_nnfs_oracle_target") or file.startswith(str(FIXTURES)):
                del sys.modules[name]
            elif file.startswith(os.path.realpath(os.environ.get("TMPDIR", "/tmp"))):
                del sys.modules[name]


def names(loaded: LoadedTarget) -> set[str]:
    return {k for k in loaded.namespace if not k.startswith("__")}


def notes(loaded: LoadedTarget) -> str:
    return "\n".join(loaded.notes)


def load_error(target: Any, **kw: Any) -> str:
    with pytest.raises(TargetLoadError) as info:
        load_target(target, **kw)
    # One clear message: no chained traceback of ours behind it.
    exc = info.value
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)
    return str(info.value)


def notebook(path: Path, *cells: str, **meta: Any) -> Path:
    nb = {
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": c} for c in cells],
        "metadata": meta,
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
    return path


# --------------------------------------------------------------------------- kinds of target


def test_script_loads_definitions_only(capsys: pytest.CaptureFixture[str]) -> None:
    loaded = load_target(FIXTURES / "script_book.py")
    assert loaded.mode == "defs-only"
    assert {"Layer_Dense", "Activation_ReLU", "clip", "EPS", "SIZES", "np", "nnfs"} <= names(loaded)
    # The training code, the data loading, the raise and the main block never ran.
    assert not {"X", "y", "image", "SEED_DATA", "f"} & names(loaded)
    assert capsys.readouterr().out == ""
    assert loaded.namespace["EPS"] == 1e-7
    summary = loaded.notes[0]
    assert summary.startswith("defs-only: kept 5 definitions")
    assert "skipped 6 top-level statements (use --import to run the module)" in summary
    assert "import cv2 skipped" in notes(loaded)
    assert "module not installed and not used by any definition" in notes(loaded)


def test_defs_only_module_is_registered_and_pickles() -> None:
    loaded = load_target(FIXTURES / "script_book.py")
    cls = loaded.namespace["Layer_Dense"]
    module = sys.modules[cls.__module__]
    assert module.__dict__ is loaded.namespace
    assert module.__file__ == str(FIXTURES / "script_book.py")
    assert cls.__module__.startswith("_nnfs_oracle_target")
    layer = cls(2, 3)
    assert pickle.loads(pickle.dumps(layer)).weights.shape == (2, 3)


def test_nnfs_init_is_kept() -> None:
    assert np.zeros(2).dtype == np.float64
    loaded = load_target(FIXTURES / "script_book.py")
    assert "nnfs.init() at" in notes(loaded) and "line 8" in notes(loaded)
    assert np.zeros(2).dtype == np.float32  # nnfs.init() really ran
    assert loaded.namespace["Layer_Dense"](2, 3).weights.dtype == np.float32


def test_notebook_with_micropip_await_and_magics() -> None:
    loaded = load_target(FIXTURES / "seed_like.ipynb")
    assert (
        loaded.description
        == f"notebook {os.path.relpath(FIXTURES / 'seed_like.ipynb')} (6 code cells)"
    )
    assert {"Layer_Dense", "Activation_ReLU", "Loss_CategoricalCrossentropy"} <= names(loaded)
    text = notes(loaded)
    assert "import micropip skipped" in text
    assert "import matplotlib.pyplot as plt skipped" in text
    assert "%%bash" in text
    assert "magic/shell line" in text
    assert np.zeros(1).dtype == np.float32  # the cell's nnfs.init() ran
    # The later cell redefines the class without forward(): said plainly.
    loss = loaded.namespace["Loss_CategoricalCrossentropy"]
    assert hasattr(loss, "backward") and not hasattr(loss, "forward")
    assert "class Loss_CategoricalCrossentropy is defined 2 times" in text
    assert "no forward()" in text and "cell 5, line 16" in text


def test_notebook_locations_name_cells() -> None:
    loaded = load_target(FIXTURES / "seed_like.ipynb")
    relu = loaded.namespace["Activation_ReLU"]
    code = relu.forward.__code__
    assert location(code.co_filename, code.co_firstlineno).endswith("cell 5, line 12")
    import inspect

    assert inspect.getsource(relu).startswith("class Activation_ReLU:")


def test_package_directory(capsys: pytest.CaptureFixture[str]) -> None:
    loaded = load_target(FIXTURES / "mynet")
    assert loaded.description.startswith("package ") and "(3 modules)" in loaded.description
    # Re-exported by __init__, and also what only a submodule defines.
    assert {"Layer_Dense", "Activation_ReLU", "Activation_Softmax"} <= names(loaded)
    assert loaded.namespace["Layer_Dense"].__module__ == "mynet.layers"
    assert capsys.readouterr().out == ""  # layers.py's print never ran
    assert "from 3 files" in loaded.notes[0]


def test_plain_directory_merges_files() -> None:
    loaded = load_target(FIXTURES / "flat")
    assert loaded.description.endswith("(2 files)")
    ns = loaded.namespace
    assert {"Layer_Dense", "Activation_ReLU", "Layer_Dense_Wrapped"} <= names(loaded)
    # ch10 imports Layer_Dense from ch02 (itself loaded defs-only: its SystemExit never ran).
    assert issubclass(ns["Layer_Dense_Wrapped"], ns["Layer_Dense"])
    assert ns["Layer_Dense"].__module__ == "ch02_layers"


def test_module_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(FIXTURES))
    loaded = load_target("mynet.activations")
    assert loaded.description.startswith("module mynet.activations")
    assert {"Activation_ReLU", "Activation_Softmax"} <= names(loaded)  # its open() never ran


def test_unknown_module_name() -> None:
    assert "no such file, directory or module: no_such_module_qq" in load_error("no_such_module_qq")


def test_import_mode_runs_the_module(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "model.py"
    target.write_text("class Layer_Dense:\n    pass\nX = [1, 2]\nprint('trained')\n")
    loaded = load_target(target, import_mode=True)
    assert loaded.mode == "import"
    assert loaded.namespace["X"] == [1, 2]
    assert "trained" in capsys.readouterr().out
    assert loaded.notes[0].startswith("import:")


def test_import_mode_notebook_skips_await(tmp_path: Path) -> None:
    nb = notebook(
        tmp_path / "nb.ipynb", "%matplotlib inline\nawait setup()\nx = 1\n", "y = x + 1\n"
    )
    loaded = load_target(nb, import_mode=True)
    assert loaded.namespace["y"] == 2
    assert "`await` statement" in notes(loaded)


def test_import_mode_error_names_the_line() -> None:
    msg = load_error(FIXTURES / "script_book.py", import_mode=True)
    assert "ModuleNotFoundError" in msg and "cv2" in msg and "line 3" in msg


def test_import_mode_sys_exit_zero_keeps_definitions(tmp_path: Path) -> None:
    target = tmp_path / "ends.py"
    target.write_text("import sys\nclass A:\n    pass\nsys.exit(0)\n")
    loaded = load_target(target, import_mode=True)
    assert "A" in loaded.namespace and "sys.exit(0)" in notes(loaded)
    target.write_text("import sys\nsys.exit(2)\n")
    msg = load_error(target, import_mode=True)
    assert "sys.exit(2)" in msg and "line 2" in msg


# --------------------------------------------------------------------------- what is kept


def test_what_defs_only_keeps(tmp_path: Path) -> None:
    target = tmp_path / "kinds.py"
    target.write_text(
        "import numpy as np\n"
        "EPS = 1e-7\n"
        "RATE: float = 0.5\n"
        "square = lambda x: np.square(x)\n"
        "DATA = np.ones(3)\n"  # a call: dropped
        "try:\n    import cupy as xp\nexcept ImportError:\n    import numpy as xp\n"
        "if EPS > 0:\n    TINY = EPS / 10\n"
        "class Layer_Dense:\n    pass\n"
        "def forward(self, inputs):\n    self.output = inputs\n"
        "Layer_Dense.forward = forward\n"
        "DenseLayer = Layer_Dense\n"
        "for i in range(3):\n    print(i)\n"
        "if __name__ == '__main__':\n    class Hidden:\n        pass\n"
    )
    loaded = load_target(target)
    ns = loaded.namespace
    assert {"EPS", "RATE", "square", "xp", "TINY", "Layer_Dense", "DenseLayer"} <= names(loaded)
    assert not {"DATA", "i", "Hidden"} & names(loaded)
    assert ns["xp"] is np and ns["square"](3) == 9
    assert ns["Layer_Dense"].forward is ns["forward"]
    assert "class Hidden defined inside it" in notes(loaded)


def test_code_needing_dropped_code_is_skipped(tmp_path: Path) -> None:
    target = tmp_path / "dep.py"
    target.write_text(
        "data = open('missing.txt').read()\n"
        "SIZE = data\n"
        "def helper(x=data):\n    return x\n"
        "class Layer_Dense:\n    pass\n"
    )
    loaded = load_target(target)
    assert "Layer_Dense" in loaded.namespace and "SIZE" not in loaded.namespace
    assert "SIZE" not in notes(loaded)  # computation on dropped data goes with it, silently
    assert "`def helper(x=data):` skipped" in notes(loaded)


def test_function_only_use_of_missing_module_binds_a_stand_in() -> None:
    loaded = load_target(FIXTURES / "only_functions_use_missing.py")
    assert "only function plot uses it" in notes(loaded)
    with pytest.raises(ModuleNotFoundError, match="matplotlib_is_not_installed_xyz"):
        loaded.namespace["plot"](np.ones((2, 2)))


def test_unused_star_import_of_missing_module(tmp_path: Path) -> None:
    target = tmp_path / "star.py"
    target.write_text(
        "from no_such_pkg_zz import *\nclass A:\n    def f(self):\n        return 1\n"
    )
    assert "skipped" in notes(load_target(target))
    target.write_text(
        "from no_such_pkg_zz import *\nclass A:\n    def f(self):\n        return g()\n"
    )
    assert "imports 'no_such_pkg_zz', which is not installed (line 1" in load_error(target)


# --------------------------------------------------------------------------- errors


def test_missing_file() -> None:
    assert load_error("no/such/model.py") == "no such file: no/such/model.py"
    assert load_error("model_not_here.ipynb") == "no such file: model_not_here.ipynb"


def test_unknown_extension(tmp_path: Path) -> None:
    target = tmp_path / "model.txt"
    target.write_text("class A: pass\n")
    msg = load_error(target)
    assert "expected a .py file, a .ipynb notebook" in msg and ".txt" in msg


def test_empty_directory(tmp_path: Path) -> None:
    assert "no .py files" in load_error(tmp_path)


def test_syntax_error_names_file_line_and_source(tmp_path: Path) -> None:
    target = tmp_path / "broken.py"
    target.write_text(
        "import numpy as np\n\nclass A:\n    def forward(self inputs):\n        pass\n"
    )
    msg = load_error(target)
    assert msg.startswith("syntax error in ") and "broken.py, line 4" in msg
    assert "def forward(self inputs):" in msg and "^" in msg


def test_notebook_syntax_error_names_the_cell(tmp_path: Path) -> None:
    nb = notebook(tmp_path / "nb.ipynb", "import numpy as np\n", "class A:\n    x = (1 +\n")
    msg = load_error(nb)
    assert "nb.ipynb, cell 2, line 2" in msg
    # A broken cell that defines nothing does not stop defs-only loading.
    nb = notebook(tmp_path / "nb2.ipynb", "print 'python 2'\n", "class A:\n    pass\n")
    loaded = load_target(nb)
    assert "A" in loaded.namespace and "cell 1 skipped: syntax error" in notes(loaded)


def test_missing_dependency_used_by_a_class() -> None:
    msg = load_error(FIXTURES / "uses_missing.py")
    assert "imports 'not_installed_module_xyz', which is not installed (line 3" in msg
    assert "class Layer_Dense uses it" in msg


def test_exception_in_a_class_body(tmp_path: Path) -> None:
    target = tmp_path / "body.py"
    target.write_text("class A:\n    SCALE = 1 / 0\n")
    msg = load_error(target)
    assert "ZeroDivisionError: division by zero" in msg and "body.py, line 2" in msg
    assert "SCALE = 1 / 0" in msg


def test_class_needing_dropped_code_says_why(tmp_path: Path) -> None:
    target = tmp_path / "uses_data.py"
    target.write_text("X = open('data.txt').read()\nclass A:\n    data = X\n")
    msg = load_error(target)
    assert "NameError" in msg and "'X' is set by top-level code (line 1)" in msg
    assert "--import" in msg


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "is not a Jupyter notebook: invalid JSON (line 1, column 2"),
        ("[1, 2]", "is not a Jupyter notebook: the JSON is not an object"),
        ('{"metadata": {}}', "no 'cells' list"),
        ('{"nbformat": 3, "worksheets": []}', "old notebook format 3"),
        (
            '{"nbformat": 4, "cells": [], "metadata": {"kernelspec": {"language": "R"}}}',
            "not a Python notebook (its language is R)",
        ),
    ],
)
def test_not_a_notebook(tmp_path: Path, content: str, expected: str) -> None:
    target = tmp_path / "bad.ipynb"
    target.write_text(content)
    assert expected in load_error(target)


def test_failing_function_definition_is_skipped_but_a_class_is_not(tmp_path: Path) -> None:
    target = tmp_path / "jit.py"
    target.write_text(
        "import numba_not_installed_qq as numba\n"
        "@numba.njit\ndef fast(x):\n    return x\n"
        "class Activation_ReLU:\n    pass\n"
    )
    loaded = load_target(target)
    assert "Activation_ReLU" in loaded.namespace and "fast" not in loaded.namespace
    assert "`def fast(x):` skipped (" in notes(loaded) and "ModuleNotFoundError" in notes(loaded)
    assert "kept 1 definition (1 class, 0 functions" in loaded.notes[0]
    target.write_text(
        "import numba_not_installed_qq as numba\n@numba.jitclass\nclass A:\n    pass\n"
    )
    assert "class A uses it" in load_error(target)


def test_an_assignment_the_classes_read_is_run(tmp_path: Path) -> None:
    """``rng = np.random.default_rng(...)`` has a call, but the classes need it; the
    training statement beside it is read by no class and stays dropped."""
    target = tmp_path / "uses_rng.py"
    target.write_text(
        "import numpy as np\n"
        "rng = np.random.default_rng(3)\n"
        "history = train_for_hours()\n"
        "class Layer_Dense:\n"
        "    def __init__(self, n_inputs, n_neurons):\n"
        "        self.weights = 0.01 * rng.standard_normal((n_inputs, n_neurons))\n"
    )
    loaded = load_target(target)
    assert loaded.namespace["Layer_Dense"](2, 3).weights.shape == (2, 3)
    text = "\n".join(loaded.notes)
    assert "ran `rng = np.random.default_rng(3)`" in text and "history" not in loaded.namespace


def test_a_class_that_cannot_be_defined_is_that_components_error(tmp_path: Path) -> None:
    """Code dedented into a class body raises while the class is defined: that class is
    reported (with file and line), the others load, and a book class's users get the
    reference's class in its place."""
    from oracle.load import broken_definition

    target = tmp_path / "dedent.py"
    target.write_text(
        "import numpy as np\n"
        "class Activation_Softmax:\n"
        "    def forward(self, inputs):\n"
        "        self.output = inputs\n"
        "    for row in self.output:\n"
        "        pass\n"
        "class Helper:\n"
        "    x = undefined_name\n"
        "class Combined:\n"
        "    def __init__(self):\n"
        "        self.activation = Activation_Softmax()\n"
    )
    loaded = load_target(target)
    ns = loaded.namespace
    why = broken_definition(ns["Activation_Softmax"])
    assert why is not None and "NameError" in why and "line 5" in why
    assert broken_definition(ns["Combined"]) is None
    sm = ns["Combined"]().activation  # the reference's softmax stands in
    sm.forward(np.array([[0.0, 0.0]]))
    assert np.allclose(sm.output, 0.5)
    with pytest.raises(TargetLoadError, match="undefined_name"):
        ns["Helper"]()  # not a book class: nothing stands in, using it says why
    assert "class Activation_Softmax could not be defined" in notes(loaded)


def test_a_class_body_that_replaces_numpy_functions_is_undone(tmp_path: Path) -> None:
    target = tmp_path / "patch.py"
    target.write_text(
        "import numpy as np\n"
        "class Loss_MeanSquaredError:\n"
        "    np.clip = lambda a, *args, **kw: a\n"
        "class Activation_ReLU:\n"
        "    def forward(self, inputs):\n"
        "        self.output = np.maximum(0, inputs)\n"
    )
    clip = np.clip
    loaded = load_target(target)
    from oracle.load import broken_definition

    assert np.clip is clip  # undone for everyone, the reference included
    why = broken_definition(loaded.namespace["Loss_MeanSquaredError"])
    assert why is not None and "numpy.clip" in why and "line 2" in why
    assert broken_definition(loaded.namespace["Activation_ReLU"]) is None
