"""What a narrower accumulator saves in a quantized network, measured: the digits MLP 64-96-48-10 (W4A4, 8-bit
input) quantized by fpgaq's AXE recipe at accumulator targets P, built with `--backend rtl` for the PYNQ-Z2, its
matrix-vector units synthesized by Yosys synth_xilinx (7-series) at the parameters and tables of each build.

    python bench/axe_hardware.py [--targets 16 14 12] [--method optq] [--out docs/benchmarks.md]

Rows: the unconstrained network (fpgaq.quant.ptq without accumulator_bits) with its MVUs at the data-type bound
(fpgaq.bounds.datatype_bound_bits: what a flow that does not look at the weights declares; the same built design
with ACC_BITS, TILE_BITS and, without an activation, OUT_BITS widened - Yosys only, not simulated) and at the exact
widths fpgaq derives from its weights (as built); then the network quantized with accumulator_bits = P (method
optq, bias correction; the recipe of examples/axe_ptq.py) at each P. The folding (PE, SIMD per layer) is the
unconstrained network's default folding, fixed for every row, so only the accumulators and the weights change.
Accuracy: the exact integer graph (fpgaq.ir.execute.run, what the hardware computes) on the digits test split.
Estimate: fpgaq.estimate.costs.kernel_cost of each MVU (the Vivado-targeted formulas of models.py) and the same
calibrated for RTL builds (fpgaq.estimate.calibration).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "examples"))

from report import write_section  # noqa: E402

from fpgaq import frontend  # noqa: E402
from fpgaq.backends.rtl.tools import synth_xilinx  # noqa: E402
from fpgaq.bounds import datatype_bound_bits  # noqa: E402
from fpgaq.estimate import calibration, models  # noqa: E402
from fpgaq.estimate.costs import kernel_cost  # noqa: E402
from fpgaq.ir.execute import run  # noqa: E402
from fpgaq.pipeline import Target, build_graph, fold, plan  # noqa: E402
from fpgaq.plan import kernels as k  # noqa: E402

SUMS = ("lut", "ff", "carry", "dsp", "lutram", "srl")


def quantize(model, p: int | None, method: str, x_tr, x_te, folder: Path) -> Path:
    """The float digits MLP `model` quantized (AXE to P bits where p is given), exported to QONNX in `folder`."""
    import torch

    from fpgaq.quant import export, ptq

    q = ptq(model, torch.from_numpy(x_tr), method=method, accumulator_bits=p, bias_correction=True)
    path = folder / f"mlp_{p or 'free'}.onnx"
    export(q, torch.from_numpy(x_te[:2]), str(path))
    return path


def widened(kernel: k.Mvu, params: dict) -> tuple[k.Mvu, dict]:
    """The MVU and its Verilog parameters with the accumulators at the data-type bound of its input and weight
    types (the inner SIMD tile at the bound of SIMD products)."""
    signed = kernel.inp.elem.signed
    bits = kernel.inp.elem.bits, kernel.weights.elem.bits, signed
    outer, inner = datatype_bound_bits(kernel.k, *bits), datatype_bound_bits(kernel.simd, *bits)
    params = {**params, "ACC_BITS": outer, "TILE_BITS": min(outer, inner)}
    if kernel.activation is None:
        params["OUT_BITS"] = outer
    wide = dataclasses.replace(kernel, outer=dataclasses.replace(kernel.outer, bits=outer))
    return wide, params


def measure(label: str, path: Path, folding: dict | None, accuracy_data, bound: bool, out: Path) -> dict:
    """One row: build, then Yosys and the estimate for every MVU."""
    x_te, y_te = accuracy_data
    graph = frontend.load(path)
    target = Target.of("pynq-z2", backend="rtl")
    build_graph(graph, target, out, path.name, folding=folding, model_file=path)
    folded = fold(graph, target, folding)
    kernels = {kernel.name: kernel for kernel in plan(graph, folded, target).kernels}
    accuracy = float((run(graph, x_te).argmax(1) == y_te).mean())
    rtl = out / "rtl"
    library = sorted((rtl / "lib").glob("*.sv"))
    row = {"label": label, "accuracy": accuracy, "folding": folded.layers, "mvus": []}
    for entry in json.loads((rtl / "kernels.json").read_text()):
        if entry["module"] != "fpgaq_mvu":
            continue
        kernel, params = kernels[entry["name"]], {name: int(value) for name, value in entry["params"].items()}
        if bound:
            kernel, params = widened(kernel, params)
        files = {f"{name.lower()}.mem": (rtl / value).read_text() for name, value in entry["strings"].items()}
        start = time.perf_counter()
        cells = synth_xilinx("fpgaq_mvu", library, params, files, "xc7",
                             dsp=models.uses_dsp(params["W_BITS"], params["IN_BITS"]))  # fmt: skip
        cost = kernel_cost(kernel, target.board.device)
        row["mvus"].append({"name": entry["name"], "class": calibration.kernel_class(kernel),
                            "acc_bits": params["ACC_BITS"], "tile_bits": params["TILE_BITS"], "params": params,
                            "yosys": {r: cells[r] for r in SUMS},
                            "estimate": {"lut": cost.lut, "ff": cost.ff}})  # fmt: skip
        print(f"  {label:22s} {entry['name']:12s} P={params['ACC_BITS']:2d} tile {params['TILE_BITS']:2d}: yosys LUT "
              f"{cells['lut']:6d} FF {cells['ff']:5d} | estimate LUT {cost.lut:6d} FF {cost.ff:5d} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    return row


def _total(row: dict, source: str, resource: str) -> int:
    """The sum over the row's MVUs; Yosys "slices": slice LUTs as the estimate counts them (calibration.measured)."""
    if source == "slices":
        return sum(calibration.measured(m["yosys"], resource) for m in row["mvus"])
    if source == "calibrated":  # the estimate with calibration.FACTORS of the MVU's class
        return sum(calibration.apply(m, calibration.FACTORS)[resource] for m in row["mvus"])
    return sum(m[source].get(resource, 0) for m in row["mvus"])


def _threshold_bits(first: dict, last: dict) -> str:
    """'dense0_mvu's thresholds: 16 bits in <first>, 12 in <last>' for the first MVU with thresholds."""
    for a, b in zip(first["mvus"], last["mvus"], strict=True):
        if a["params"].get("LEVELS"):
            bits = a["params"]["T_BITS"], b["params"]["T_BITS"]
            return f"{a['name']}'s thresholds: {bits[0]} bits ({first['label']}), {bits[1]} ({last['label']})"
    return "no MVU has thresholds here"


def section(rows: list[dict], method: str, targets: list[int], commit: str) -> str:
    base = rows[0]
    folding = ", ".join(f"{name} {pe}x{simd}" for name, (pe, simd) in base["folding"].items())
    lines = [
        f"## Measured AXE benefit: the digits MLP at P = {', '.join(map(str, targets))} through Yosys",
        "",
        "`python bench/axe_hardware.py --json bench/data/axe_hardware.json --out docs/benchmarks.md` (measured at "
        f"commit {commit}; `--rows bench/data/axe_hardware.json` renders the stored rows again): the digits MLP "
        f"64-96-48-10 (W4A4, 8-bit input) quantized by fpgaq's AXE recipe ({method}, bias correction) at "
        "accumulator targets P, built with `--backend rtl` for the PYNQ-Z2 at one folding for every row (PE x SIMD: "
        f"{folding}; the default folding of the unconstrained network), and its three matrix-vector units "
        "(rtl/fpgaq_mvu.sv at each build's parameters and weight/threshold tables) synthesized by Yosys "
        "synth_xilinx (7-series; products in LUTs, as the estimate keeps 4-bit products). The first row is the "
        "unconstrained network's design with every accumulator and SIMD tile at the data-type bound (Yosys only; "
        "the thresholds keep their built width), the second the same network at the exact widths fpgaq derives "
        "from its weights (as built). Accuracy: the exact integer graph on the digits test split (450 images). "
        "Yosys LUT: slice LUTs as the estimate counts them (logic LUTs, 4 per LUTRAM cell, 1 per SRL). Estimate: "
        "the Vivado-targeted formulas (estimate/models.py `mvu`); calibrated: the same with the RTL build's "
        "factors (estimate/calibration.py).",
        "",
        "| network | test accuracy | Yosys LUT | of which LUTRAM cells | Yosys FF | CARRY4 | DSP | LUT / FF vs the "
        "bound | estimate LUT / FF | estimate / Yosys LUT, FF | calibrated LUT / FF | calibrated / Yosys LUT, FF |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    bound = {r: _total(base, "slices", r) for r in ("lut", "ff")}
    for row in rows:
        y = {r: _total(row, "yosys", r) for r in SUMS} | {r: _total(row, "slices", r) for r in ("lut", "ff")}
        e = {r: _total(row, "estimate", r) for r in ("lut", "ff")}
        c = {r: _total(row, "calibrated", r) for r in ("lut", "ff")}
        lines.append(
            f"| {row['label']} | {100 * row['accuracy']:.1f}% | {y['lut']:,} | {y['lutram']} | {y['ff']:,} | "
            f"{y['carry']:,} | {y['dsp']} | {y['lut'] / bound['lut']:.2f} / {y['ff'] / bound['ff']:.2f} | "
            f"{e['lut']:,} / {e['ff']:,} | {e['lut'] / y['lut']:.2f}, {e['ff'] / y['ff']:.2f} | {c['lut']:,} / "
            f"{c['ff']:,} | {c['lut'] / y['lut']:.2f}, {c['ff'] / y['ff']:.2f} |"
        )
    names = [m["name"] for m in base["mvus"]]
    lines += [
        "",
        "Per MVU: accumulator bits P (its SIMD tile's bits), then Yosys LUT / FF (LUT: slice LUTs, logic LUTs plus 4 "
        "per LUTRAM cell and 1 per SRL, as the estimate counts them).",
        "",
        "| network | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for row in rows:
        cells = [f"{m['acc_bits']} ({m['tile_bits']}): {calibration.measured(m['yosys'], 'lut'):,} / "
                 f"{m['yosys']['ff']:,}" for m in row["mvus"]]  # fmt: skip
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    last = rows[-1]
    ratios = [_total(row, "calibrated", "lut") / _total(row, "slices", "lut") for row in rows]
    saved = {r: 1 - _total(last, "slices", r) / bound[r] for r in ("lut", "ff")}
    est_saved = 1 - _total(last, "estimate", "lut") / _total(base, "estimate", "lut")
    lines += [
        "",
        f"From the data-type bound to {last['label']}, Yosys counts {100 * saved['lut']:.0f}% fewer LUTs and "
        f"{100 * saved['ff']:.0f}% fewer flip-flops in the MVUs; the estimate {100 * est_saved:.1f}% fewer LUTs. "
        "The rows are not the same design at narrower widths: each P is its own quantized network, so its weight "
        "and threshold tables (constants Yosys folds into logic) differ, and a fused threshold's width follows the "
        f"exact range of its accumulator ({_threshold_bits(rows[1], last)}), so the comparators and the threshold "
        "table narrow with P. The accumulator registers and adders alone are a "
        "smaller part: widening them to the data-type bound with the same tables costs "
        f"{100 * (bound['lut'] / _total(rows[1], 'slices', 'lut') - 1):.0f}% more LUTs (first two rows). The "
        "estimate sees only the accumulator and threshold widths (its LUT terms scale with P and T, "
        "not with the constants), so it predicts a fraction of the saving. The RTL calibration (fitted to the test "
        'models\' layers, docs/benchmarks.md "The RTL estimate calibrated against Yosys") leaves these MVUs at '
        f"{min(ratios):.2f}-{max(ratios):.2f} of Yosys's LUTs: the same shapes with trained weights and wider "
        "thresholds cost Yosys more than the random-weight test layers the factors were fitted to.",
        "",
    ]
    return "\n".join(lines)


def measure_all(targets: list[int], method: str) -> list[dict]:
    """The rows: the unconstrained network at the data-type bound and as built, then AXE at each target P."""
    from digits_float import mlp
    from digits_mlp import digits_split

    model = mlp()  # trained once (seeded); ptq quantizes a copy
    x_tr, x_te, _, y_te = digits_split()
    data = (x_te.astype(np.float32), y_te)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        free = quantize(model, None, method, x_tr, x_te, work)
        graph = frontend.load(free)
        layers = fold(graph, Target.of("pynq-z2", backend="rtl")).layers
        folding = {name: {"pe": pe, "simd": simd} for name, (pe, simd) in layers.items()}
        rows.append(measure("unconstrained, data-type bound", free, folding, data, True, work / "bound"))
        rows.append(measure("unconstrained, exact widths", free, folding, data, False, work / "free"))
        for p in targets:
            path = quantize(model, p, method, x_tr, x_te, work)
            rows.append(measure(f"AXE P = {p}", path, folding, data, False, work / f"p{p}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", type=int, nargs="*", default=[16, 14, 12])
    parser.add_argument("--method", default="optq", choices=["rtn", "gpfq", "optq"])
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--rows", default=None, help="render an earlier --json file (no builds)")
    parser.add_argument("--commit", default=None, help="the commit measured (default: git rev-parse HEAD)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.rows:
        data = json.loads(Path(args.rows).read_text())
    else:
        commit = args.commit or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or "unknown"  # fmt: skip
        data = {"commit": commit, "method": args.method, "rows": measure_all(args.targets, args.method)}
    if args.json:
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    rows = data["rows"]
    targets = [int(row["label"].split("= ")[1]) for row in rows if "= " in row["label"]]
    text = section(rows, data["method"], targets, data["commit"])
    print(text)
    if args.out:
        write_section(Path(args.out), "## Measured AXE benefit", text)


if __name__ == "__main__":
    main()
