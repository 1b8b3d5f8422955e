"""Certifying a custom layer: ``oracle.certify`` on a Conv2D next to torch.autograd.gradcheck.

A script, not a test::

    python -m bench.custom              # writes bench/custom_results.json
    python -m bench.custom --no-torch   # without the torch columns

The layer is a learner's NCHW Conv2D in the book's interface (``tests/corpus/custom/
correct/cu_conv2d.py``: loops over the kernel positions with ``np.tensordot``), on a
``2x3x8x8`` input with 4 filters of 3x3: 384 input, 108 kernel and 4 bias gradient entries.

Columns (median wall seconds of 5 runs after one warm-up; one thread everywhere):

- ``oracle.certify``: everything ``oracle.certify(conv, x)`` does with the default profile:
  probing (input layout, parameters by X/dX pairs), then finite differences of the layer's
  own forward (screened along random directions), mutation, determinism, batch sizes and
  dtype, over the given input and drawn ones.
- ``torch.gradcheck.layer``: ``torch.autograd.gradcheck`` (full mode, float64) judging the
  *same NumPy layer*, wrapped in a ``torch.autograd.Function`` whose forward and backward
  call it: the work a library author does by hand to use gradcheck on their own layer.
- ``torch.gradcheck.layer.fast``: the same with ``fast_mode=True``.
- ``torch.gradcheck.conv2d``: gradcheck on ``torch.nn.functional.conv2d`` itself (torch's own
  backward, no NumPy), full mode: the cost of the method on a fast forward.

The goal: ``oracle.certify`` within 1 s on this machine.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LAYER_FILE = ROOT / "tests" / "corpus" / "custom" / "correct" / "cu_conv2d.py"
GOAL_SECONDS = 1.0


def _layer_class() -> Any:
    spec = importlib.util.spec_from_file_location("bench_cu_conv2d", LAYER_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Layer_Conv2D


def _median(call: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    out = call()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.custom")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--out", default=str(ROOT / "bench" / "custom_results.json"))
    args = p.parse_args(argv)

    import oracle

    Conv = _layer_class()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 8, 8))
    conv = Conv(3, 4, 3)
    rows: dict[str, Any] = {}

    secs, report = _median(lambda: oracle.certify(conv, x))
    rows["oracle.certify"] = {"seconds": secs, "verdict": "pass" if report.ok else "fail",
                              "checks": [c.name for c in report.components[0].checks]}
    t0 = time.perf_counter()
    bad = _layer_class_buggy()
    r_bad = oracle.certify(bad(3, 4, 3), x)
    rows["oracle.certify.flipped_kernel_bug"] = {
        "seconds": time.perf_counter() - t0, "verdict": "pass" if r_bad.ok else "fail"}

    torch_version = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            torch = None
        if torch is not None:
            torch.set_num_threads(1)
            torch_version = torch.__version__
            rows.update(_torch_rows(torch, Conv, x))

    goal = {"name": "oracle.certify Conv2D 2x3x8x8, 4 filters 3x3", "limit_seconds": GOAL_SECONDS,
            "measured_seconds": rows["oracle.certify"]["seconds"],
            "met": rows["oracle.certify"]["seconds"] <= GOAL_SECONDS}
    for k, v in rows.items():
        if k != "oracle.certify" and "seconds" in v:
            v["ratio_to_oracle"] = v["seconds"] / rows["oracle.certify"]["seconds"]
    out = {"workload": "Conv2D NCHW, input 2x3x8x8, 4 filters 3x3 (496 gradient entries)",
           "rows": rows, "goals": [goal],
           "meta": {"numpy": np.__version__, "torch": torch_version,
                    "loadavg": os.getloadavg(), "cpus": os.cpu_count()}}
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    for k, v in rows.items():
        ratio = f"  ({v['ratio_to_oracle']:.1f}x oracle)" if "ratio_to_oracle" in v else ""
        print(f"{k:36s} {v['seconds']:8.3f} s  {v.get('verdict', '')}{ratio}")
    print(f"goal: {goal['name']} <= {GOAL_SECONDS} s: "
          f"{'met' if goal['met'] else 'NOT met'} ({goal['measured_seconds']:.3f} s)")
    return 0


def _layer_class_buggy() -> Any:
    path = ROOT / "tests" / "corpus" / "custom" / "buggy" / "cu_conv2d_b1.py"
    spec = importlib.util.spec_from_file_location("bench_cu_conv2d_b1", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Layer_Conv2D


def _torch_rows(torch: Any, Conv: Any, x: np.ndarray) -> dict[str, Any]:
    """gradcheck on the same NumPy layer (through a custom Function) and on torch's conv."""
    template = Conv(3, 4, 3)
    w0 = np.array(template.kernels, dtype=np.float64)
    b0 = np.array(template.biases, dtype=np.float64)

    class NumpyConv(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, xt: Any, wt: Any, bt: Any) -> Any:
            layer = Conv(3, 4, 3)
            layer.kernels = wt.detach().numpy().copy()
            layer.biases = bt.detach().numpy().copy()
            layer.forward(xt.detach().numpy().copy())
            ctx.layer = layer
            return torch.from_numpy(np.array(layer.output, dtype=np.float64))

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            layer = ctx.layer
            layer.backward(grad.detach().numpy().copy())
            return (torch.from_numpy(np.array(layer.dinputs)),
                    torch.from_numpy(np.array(layer.dkernels)),
                    torch.from_numpy(np.array(layer.dbiases).reshape(b0.shape)))

    inputs = (torch.tensor(x, dtype=torch.float64, requires_grad=True),
              torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True))
    rows: dict[str, Any] = {}
    for key, fast in (("torch.gradcheck.layer", False), ("torch.gradcheck.layer.fast", True)):
        secs, ok = _median(lambda f=fast: torch.autograd.gradcheck(
            NumpyConv.apply, inputs, fast_mode=f, raise_exception=False), runs=3)
        rows[key] = {"seconds": secs, "verdict": "pass" if ok else "fail"}
    tin = (torch.tensor(x, dtype=torch.float64, requires_grad=True),
           torch.tensor(w0, requires_grad=True),
           torch.tensor(b0.reshape(-1), requires_grad=True))
    secs, ok = _median(lambda: torch.autograd.gradcheck(
        torch.nn.functional.conv2d, tin, raise_exception=False), runs=3)
    rows["torch.gradcheck.conv2d"] = {"seconds": secs, "verdict": "pass" if ok else "fail"}
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
