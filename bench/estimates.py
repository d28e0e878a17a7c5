"""Estimates of TFC-like MLPs next to FINN: the published folding, FINN's own estimators, fpgaq's search.

    python bench/estimates.py [--finn-python /path/to/finn-venv/bin/python] [--out docs/benchmarks.md]

TFC (FINN's "tiny fully connected" network, the BNN-PYNQ/finn-examples topology): 784 inputs, 3 x 64 hidden,
10 outputs, batch norm and a quantizer after each hidden layer; W1A1 (bipolar weights and activations, bipolar
input) and W2A2. Also the 64-input variant that fits the bundled 8x8 digits. Weights are random (estimates do
not depend on training; the exact accumulator widths do, a little).

FINN's published folding for TFC-w1a1 on the PYNQ-Z1 at 100 MHz (finn's tfc_end2end example):
(PE, SIMD) = (16, 49), (8, 8), (8, 8), (10, 8): 64 cycles per frame, 1,562,500 FPS predicted.
With --finn-python (or $FINN_PYTHON) the same QONNX file and folding go through finn-plus's transformations and
its MVAU_hls estimators (bench/finn_estimates.py) for a side-by-side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import torch
from brevitas import nn as qnn
from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import write_section  # noqa: E402

from fpgaq import frontend  # noqa: E402
from fpgaq.boards import load_board  # noqa: E402
from fpgaq.estimate import estimate_plan  # noqa: E402
from fpgaq.estimate.search import FoldingSearchError, search_folding  # noqa: E402
from fpgaq.plan import make_plan  # noqa: E402
from fpgaq.plan.folding import resolve_folding  # noqa: E402

FINN_TFC_FOLDING = [(16, 49), (8, 8), (8, 8), (10, 8)]
FINN_TFC_FPS = 1_562_500
# FINN's CNV-w1a1 folding (its cnv end-to-end test): 3,052 FPS predicted, 3,020 measured on the PYNQ-Z1
FINN_CNV_FOLDING = [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (5, 1)]
FINN_CNV_FPS = 3_052


def cnv() -> torch.nn.Module:
    """CNV-w1a1 (BNN-PYNQ): 32x32x3 8-bit input, conv 64-64-pool-128-128-pool-256-256, FC 512-512-10."""

    def act():
        return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)

    def conv(i, o):
        return qnn.QuantConv2d(
            i, o, 3, bias=False, weight_quant=SignedBinaryWeightPerTensorConst, return_quant_tensor=True
        )

    layers = [qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)]
    for c_in, c_out, pool in (
        (3, 64, False),
        (64, 64, True),
        (64, 128, False),
        (128, 128, True),
        (128, 256, False),
        (256, 256, False),
    ):
        layers += [conv(c_in, c_out), torch.nn.BatchNorm2d(c_out), act()]
        if pool:
            layers.append(torch.nn.MaxPool2d(2))
    layers.append(torch.nn.Flatten())
    for i, o in ((256, 512), (512, 512)):
        layers += [
            qnn.QuantLinear(i, o, bias=False, weight_quant=SignedBinaryWeightPerTensorConst, return_quant_tensor=True),
            torch.nn.BatchNorm1d(o),
            act(),
        ]
    layers.append(qnn.QuantLinear(512, 10, bias=False, weight_quant=SignedBinaryWeightPerTensorConst))
    return torch.nn.Sequential(*layers)


def tfc(inputs: int, bits: int) -> torch.nn.Module:
    def act():
        if bits == 1:
            return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)
        return qnn.QuantIdentity(bit_width=bits, return_quant_tensor=True)

    def linear(i, o, last=False):
        if bits == 1:
            return qnn.QuantLinear(
                i, o, bias=False, weight_quant=SignedBinaryWeightPerTensorConst, return_quant_tensor=not last
            )
        return qnn.QuantLinear(i, o, bias=False, weight_bit_width=bits, return_quant_tensor=not last)

    layers = [act()]
    width = inputs
    for _ in range(3):
        layers += [linear(width, 64), torch.nn.BatchNorm1d(64), act()]
        width = 64
    layers.append(linear(64, 10, last=True))
    return torch.nn.Sequential(*layers)


def exported(model: torch.nn.Module, shape: tuple, path: Path) -> str:
    from brevitas.export import export_qonnx

    model.train()
    with torch.no_grad():
        for _ in range(4):  # batch-norm statistics and activation scales from random data
            model(torch.randn(32, *shape))
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, torch.randn(1, *shape), str(path), dynamo=False)
    return str(path)


def finn_side(script_args: list[str], finn_python: str | None) -> dict | None:
    """Run bench/SCRIPT ARGS... (script_args) with finn-plus's Python; the JSON of its last stdout line."""
    if not finn_python:
        return None
    fake = Path(tempfile.mkdtemp()) / "Vivado" / "2024.2"  # FINN's settings want a Vivado version folder
    fake.mkdir(parents=True)
    script, *rest = script_args
    proc = subprocess.run(
        [finn_python, str(ROOT / "bench" / script), *rest],
        capture_output=True,
        text=True,
        env=dict(os.environ, XILINX_VIVADO=str(fake)),
        timeout=1800,
        cwd=str(ROOT / "bench"),
    )
    if proc.returncode != 0:
        return {"ok": False, "error": (proc.stderr.strip().splitlines() or ["?"])[-1][:200]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ours(graph, folding: dict, board) -> dict:
    return estimate_plan(make_plan(graph, folding), board, board.clock_ns)


def _mvu_sums(est: dict) -> dict:
    mvus = [k for k in est["kernels"] if k["kernel"] == "mvu"]
    return {r: sum(k[r] for k in mvus) for r in ("lut", "bram18", "dsp")} | {"cycles": max(k["cycles"] for k in mvus)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finn-python", default=os.environ.get("FINN_PYTHON"))
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    board = load_board("pynq-z1")
    folder = Path(tempfile.mkdtemp())
    rows, notes = [], []
    cases = [(f"TFC {i}-64-64-64-10 W{b}A{b}", i, b) for i, b in ((784, 1), (784, 2), (64, 1), (64, 2))]
    cases.append(("CNV-w1a1 32x32x3", None, 1))
    for label, inputs, bits in cases:
        torch.manual_seed(0)
        model, shape = (tfc(inputs, bits), (inputs,)) if inputs else (cnv(), (3, 32, 32))
        path = exported(model, shape, folder / f"{label.split()[0]}_{inputs}_{bits}.onnx")
        graph = frontend.load(path)
        dots = [n.name for n in graph.nodes if n.op in ("Dense", "Conv")]
        if inputs is None:
            finn_fold, target = FINN_CNV_FOLDING, FINN_CNV_FPS
        else:
            finn_fold = FINN_TFC_FOLDING if inputs == 784 else [(16, 4), (8, 8), (8, 8), (10, 8)]
            target = FINN_TFC_FPS
        spec = {name: {"pe": pe, "simd": simd} for name, (pe, simd) in zip(dots, finn_fold, strict=True)}
        published = ours(graph, resolve_folding(graph, spec), board)
        finn = finn_side(["finn_estimates.py", path, json.dumps(finn_fold), board.part], args.finn_python)
        rows.append((label, "FINN's folding", published, finn))
        for fps in (target, None):
            try:
                found = search_folding(graph, board, board.clock_ns, fps)
                what = f"search, {fps:,} FPS" if fps else "search, max"
                rows.append((label, f"{what}: {[found.folding[d] for d in dots]}", found.estimate, None))
            except FoldingSearchError as exc:
                notes.append(f"{label}, --target-fps {fps or 'max'}: {exc}")
        acc = [r for r in graph.nodes if r.op in ("Dense", "Conv")]
        notes.append(f"{label}: exact accumulator bits {[graph.tensors[n.output].dtype.bits for n in acc]}")

    lines = [
        "| model | folding | fpgaq cycles/frame | fpgaq FPS (100 MHz) | fpgaq LUT / FF / BRAM18 / DSP (all kernels) "
        "| MVUs only: fpgaq LUT / BRAM18 | FINN MVAU_hls: cycles, LUT / BRAM18 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, what, est, finn in rows:
        t, m = est["totals"], _mvu_sums(est)
        if finn is None:
            finn_cell = "-" if "search" in what else "not run"
        elif not finn.get("ok"):
            finn_cell = f"failed: {finn['error']}"
        else:
            fl = finn["layers"]
            finn_cell = (
                f"{max(x['cycles'] for x in fl):,}, {sum(x['lut'] for x in fl):,} / {sum(x['bram18'] for x in fl)}"
            )
        lines.append(
            f"| {label} | {what} | {t['cycles_per_frame']:,} | {t['fps']:,.0f} | {t['lut']:,} / {t['ff']:,} / "
            f"{t['bram18']} / {t['dsp']} | {m['lut']:,} / {m['bram18']} | {finn_cell} |"
        )
    table = "\n".join(lines)
    print(table)
    print("\n".join(notes))
    section = (
        "## Estimates: TFC and CNV against FINN's folding and estimators\n\n"
        "`python bench/estimates.py --finn-python $FINN_PYTHON` (PYNQ-Z1, 100 MHz; finn-plus 1.6.1 in its own "
        "venv). FINN's published folding for TFC-w1a1 on the PYNQ-Z1 predicts 64 cycles per frame, 1,562,500 FPS; "
        "for CNV-w1a1 3,052 FPS (3,020 measured on the board). "
        "fpgaq's cycle model is FINN's ((MH/PE)(MW/SIMD) per MVU) plus every other kernel of the stream plan "
        "(AXI-Stream unpacking, width converters, line-buffer windows); the MVU LUT/BRAM/DSP models are "
        "FINN-R's, with the accumulator width as built (equal to FINN's minimized width on these networks). "
        "Totals add flip-flops, FIFOs and control (our models). Search rows: `--target-fps` at FINN's rate and "
        "`--target-fps max` on the PYNQ-Z1 (each resource within 85%). Why the MVU columns differ: the next "
        "section.\n\n" + table + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    )
    write_section(Path(args.out), "## Estimates:", section)


if __name__ == "__main__":
    main()
