"""`fpgaq demo`: the whole flow on scikit-learn's bundled digits, in about a minute on a laptop CPU.

1. train a float MLP 64-96-48-10 (PyTorch);
2. quantize it to 4-bit weights and activations with an 8-bit input by accumulator-aware PTQ (AXE, OPTQ) so
   that every accumulator fits `accumulator_bits`, with bias compensation (fpgaq.quant.ptq);
3. export QONNX, build the HLS project for the board with the fastest folding that fits it (--target-fps max);
4. run the compiled C++ (C-simulation) on the test split and compare it with the quantized PyTorch model.

OUT/model.onnx, OUT/test_x.npy, OUT/test_y.npy, OUT/build/ (report.json, report.html, hls/, csim/). OUT is an
fpgaq folder (fpgaq.outdir): a rerun replaces what the last one wrote, and a user's folder is refused.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from fpgaq import outdir, progress
from fpgaq.data import digits_split, train


def float_mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(64, 96), torch.nn.ReLU(), torch.nn.Linear(96, 48), torch.nn.ReLU(), torch.nn.Linear(48, 10)
    )


def _predict(model, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    out = out.value if hasattr(out, "value") else out
    return out.argmax(1).numpy()


def run_demo(
    board: str = "pynq-z2",
    out: str | os.PathLike = "fpgaq-demo",
    *,
    accumulator_bits: int = 12,
    method: str = "optq",
    epochs: int = 60,
    target_fps: float | str = "max",
    force: bool = False,
) -> dict:
    """Run the demo; returns the figures it prints (see fpgaq.cli.demo)."""
    from fpgaq.backends.hls.csim import CSim
    from fpgaq.boards import load_board
    from fpgaq.pipeline import build
    from fpgaq.quant import export, ptq
    from fpgaq.report.files import record_accuracy

    load_board(board)  # an unknown board fails before a minute of training
    out = Path(out)
    folder = outdir.Folder(out, force)
    folder.create()
    with outdir.locked(out):
        folder.claim()  # a user's folder is refused before a minute of training
    x_tr, x_te, y_tr, y_te = digits_split()
    with progress.step(f"training a float MLP 64-96-48-10 on the digits ({epochs} epochs)"):
        model = train(float_mlp(), x_tr, y_tr, epochs=epochs)
    float_acc = float((_predict(model, x_te) == y_te).mean())
    what = f"quantizing W4A4 (8-bit input) with AXE/{method.upper()} to {accumulator_bits}-bit accumulators"
    with progress.step(what):
        qmodel = ptq(
            model,
            torch.from_numpy(x_tr),
            method=method,
            accumulator_bits=accumulator_bits,
            bias_correction=True,
        )
    reference = _predict(qmodel, x_te)
    quant_acc = float((reference == y_te).mean())
    onnx_path = out / "model.onnx"
    with outdir.rewrite(out, force) as stage:
        with progress.step("exporting QONNX"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            export(qmodel, torch.from_numpy(x_te[:2]), stage / "model.onnx")
        np.save(stage / "test_x.npy", x_te)
        np.save(stage / "test_y.npy", y_te)
    build_dir = out / "build"
    report = build(onnx_path, board, build_dir, target_fps=target_fps)
    with progress.step(f"C-simulating the {len(x_te)} test images"):
        y_sim = CSim(build_dir).run(x_te)
    csim_acc = record_accuracy(build_dir, y_sim, y_te, source="digits test split", reference=reference)
    agree = int((y_sim.argmax(1) == reference).sum())
    dots = [r for r in report["layers"] if "acc_bits_datatype" in r]
    return {
        "board": board,
        "float_accuracy": float_acc,
        "quantized_accuracy": quant_acc,
        "csim_accuracy": csim_acc,
        "agree": agree,
        "samples": len(y_te),
        "ptq": {k: qmodel.fpgaq_ptq[k] for k in ("widths", "chosen", "gamma")},
        "accumulators": [(r["name"], r["acc_bits"], r["acc_bits_datatype"]) for r in dots],
        "totals": report["totals"],
        "folding": {r["name"]: (r["pe"], r["simd"]) for r in dots},
        "model": str(onnx_path),
        "report": str(build_dir / "report.html"),
    }
