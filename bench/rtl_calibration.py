"""The resource estimate of RTL builds calibrated against Yosys: every kernel of every test model the RTL library
builds, at the default folding and at PE = SIMD = 1, synthesized by Yosys synth_xilinx (7-series), beside the
estimator's figure for that kernel alone (fpgaq.estimate.costs.kernel_cost; a stream FIFO: stream_cost).

    python bench/rtl_calibration.py --measure   # builds and Yosys runs (about an hour on 2 busy cores); writes the data
    python bench/rtl_calibration.py [--out docs/benchmarks.md]   # fits, prints the factors and the errors

The data file (bench/data/rtl_yosys_kernels.json) holds, per kernel: model, folding, name, class
(fpgaq.estimate.calibration.kernel_class), the uncalibrated estimate (LUT, FF) and Yosys's counts. The fit is
fpgaq.estimate.calibration.fit on those rows; its result must equal calibration.FACTORS (tests/estimate/
test_calibration.py checks it), so a new measurement means pasting the printed factors into calibration.py.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import write_section  # noqa: E402

from fpgaq.estimate import calibration  # noqa: E402

YOSYS = ("lut", "ff", "carry", "dsp", "bram18", "bram36", "lutram", "srl")
DATA = ROOT / "bench" / "data" / "rtl_yosys_kernels.json"
MODELS = ["mlp_float_bias", "mlp_int_bias_per_channel", "mlp_rounding_modes", "token_mlp_pow2", "gap_trunc",
          "conv1d_bipolar", "cnn", "residual"]  # fmt: skip


_SYNTHESIZED: dict[str, dict] = {}  # Yosys counts by module, parameters and tables


def kernel_rows(out: Path, graph, folded, target) -> list[dict]:
    """Per kernel of the RTL build in `out`: its Yosys counts and its uncalibrated estimate."""
    from fpgaq.backends.rtl.tools import synth_xilinx
    from fpgaq.estimate import models
    from fpgaq.estimate.costs import kernel_cost, stream_cost
    from fpgaq.pipeline import plan

    plan_ = plan(graph, folded, target)
    by_name = {kernel.name: kernel for kernel in plan_.kernels}
    streams = {s.name: s for s in plan_.streams}
    rtl = out / "rtl"
    library = sorted((rtl / "lib").glob("*.sv"))
    rows = []
    for entry in json.loads((rtl / "kernels.json").read_text()):
        params = {name: int(value) for name, value in entry["params"].items()}
        files = {f"{name.lower()}.mem": (rtl / value).read_text() for name, value in entry["strings"].items()}
        if entry["module"] == "fpgaq_fifo":
            stream = streams[entry["name"].removesuffix("_fifo")]
            cost, kind = stream_cost(stream, plan_.depth(stream.name)), "fifo"
        else:
            kernel = by_name[entry["name"]]
            cost, kind = kernel_cost(kernel, target.board.device), calibration.kernel_class(kernel)
        dsp = entry["module"] != "fpgaq_mvu" or models.uses_dsp(params["W_BITS"], params["IN_BITS"])
        start = time.perf_counter()
        key = json.dumps([entry["module"], params, files, dsp], sort_keys=True)  # FIFOs repeat: synthesize once
        if key not in _SYNTHESIZED:
            try:
                _SYNTHESIZED[key] = synth_xilinx(entry["module"], library, params, files, "xc7", dsp=dsp)
            except Exception as exc:  # a Yosys failure is reported and leaves the kernel out of the fit
                print(f"  {entry['name']}: Yosys failed ({str(exc)[-200:]})", flush=True)
                continue
        cells = _SYNTHESIZED[key]
        rows.append({"name": entry["name"], "module": entry["module"], "class": kind,
                     "estimate": {"lut": cost.lut, "ff": cost.ff, "dsp": cost.dsp, "bram18": cost.bram18},
                     "yosys": {r: cells[r] for r in YOSYS}})  # fmt: skip
        print(f"  {entry['name']:24s} {kind:16s} yosys LUT {cells['lut']:6d} FF {cells['ff']:5d} | estimate LUT "
              f"{cost.lut:6d} FF {cost.ff:5d} ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
    return rows


def measure(names: list[str], save) -> list[dict]:
    """Builds every model at both foldings and runs Yosys on each kernel; a model the RTL library cannot build
    yet is skipped with its reason. save(rows) is called after each build (a long run keeps what it measured)."""
    from simulation import folding_spec

    from fpgaq import frontend
    from fpgaq.pipeline import Target, build_graph, fold
    from tests.conftest import export
    from tests.models import build

    target = Target.of("pynq-z2", backend="rtl")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            model, shape = build(name)
            folder = Path(tmp) / name
            folder.mkdir()
            path = Path(export(model, shape, folder / "model.onnx", dynamo=False))
            graph = frontend.load(path)
            for folding in ("default", "ones"):
                out = folder / folding
                spec = folding_spec(graph, folding)
                try:
                    build_graph(graph, target, out, "model.onnx", folding=spec, model_file=path)
                except Exception as exc:  # a kernel the RTL library lacks (exit 2 in the CLI) is a result here
                    print(f"{name} {folding}: not built ({type(exc).__name__}: {str(exc)[:160]})", flush=True)
                    break
                print(f"{name} {folding}", flush=True)
                for row in kernel_rows(out, graph, fold(graph, target, spec), target):
                    rows.append({"model": name, "folding": folding, **row})
                save(rows)
    return rows


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _cells(stats: dict) -> str:
    """LUT before, LUT after, FF before, FF after: "mean / median / worst" each."""
    triples = [stats[r][when] for r in ("lut", "ff") for when in ("before", "after")]
    return " | ".join(" / ".join(map(_pct, triple)) for triple in triples)


def held_out(rows: list[dict]) -> dict:
    """The total error when each model's kernels are estimated with factors fitted to the other models only
    (leave one model out): the calibration's error on a model it has not seen. "before" as errors()."""
    models = {r["model"] for r in rows}
    stats = calibration.errors(rows, {})["total"]
    for r in ("lut", "ff"):
        errors = []
        for model in models:
            factors = calibration.fit([row for row in rows if row["model"] != model])
            for row in rows:
                measured = calibration.measured(row["yosys"], r)
                if row["model"] == model and measured > 0:
                    errors.append(abs(calibration.apply(row, factors)[r] - measured) / measured)
        stats[r]["after"] = (sum(errors) / len(errors), statistics.median(errors), max(errors))
    return stats


def section(rows: list[dict], commit: str) -> str:
    fitted = calibration.fit(rows)
    models = sorted({r["model"] for r in rows}, key=MODELS.index)
    lines = [
        "## The RTL estimate calibrated against Yosys",
        "",
        "`python bench/rtl_calibration.py --measure` then `python bench/rtl_calibration.py --out docs/benchmarks.md`"
        f" (measured at commit {commit}): every kernel of {len(models)} test models ({', '.join(models)}) built with "
        "`--backend rtl` for the PYNQ-Z2 at the default folding and at PE = SIMD = 1, each synthesized alone by "
        "Yosys synth_xilinx (7-series, the kernel at its parameters and tables), beside the estimator's figure for "
        "that kernel alone (a stream FIFO: its FIFO formula). The estimator's formulas model Vivado on the HLS "
        "kernels (fpgaq/estimate/models.py, each with its source); an RTL build's estimate multiplies each kernel "
        "class's LUT and FF by a factor fitted to these rows (fpgaq/estimate/calibration.py: the geometric mean "
        "of Yosys / estimate, which minimizes the mean squared log error). Yosys LUTs here are slice LUTs as the "
        "estimate counts them: logic LUTs, 4 per LUTRAM cell (RAM32M/RAM64M) and 1 per SRL. HLS builds keep the "
        f"uncalibrated formulas. Data: bench/data/rtl_yosys_kernels.json ({len(rows)} kernels).",
        "",
        "| class | kernels | LUT factor | FF factor | LUT error before: mean / median / worst | after | FF error "
        "before: mean / median / worst | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, stats in calibration.errors(rows, fitted).items():
        factor = fitted.get(kind, (1.0, 1.0))
        lines.append(f"| {kind} | {stats['n']} | {factor[0]:.3g} | {factor[1]:.3g} | {_cells(stats)} |")
    lines += [
        "",
        "Error: |estimate - Yosys| / Yosys per kernel (mean absolute relative error / median / worst kernel); the "
        "total row is over all kernels; a class with fewer than calibration.MIN_KERNELS distinct kernels keeps "
        "factor 1. "
        "The same figures per folding, and (held out) with each model estimated by factors fitted to the other "
        "models only, the error to expect on a model the fit has not seen (the sums there: all models):",
        "",
        "| folding | kernels | LUT before | LUT after | FF before | FF after | sum of LUT, estimate / Yosys: before "
        "| after | sum of FF: before | after |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for folding in ("default", "ones", "held out"):
        if folding == "held out":  # each model's kernels with the factors fitted to the other models' only
            part, total = rows, held_out(rows)
        else:
            part = [r for r in rows if r["folding"] == folding]
            total = calibration.errors(part, fitted)["total"]
        sums = {
            (r, when): sum(calibration.apply(row, fitted if when == "after" else {})[r] for row in part)
            / sum(calibration.measured(row["yosys"], r) for row in part)
            for r in ("lut", "ff")
            for when in ("before", "after")
        }
        ratios = " | ".join(f"{sums[key]:.2f}" for key in sums)
        lines.append(f"| {folding} | {total['n']} | {_cells(total)} | {ratios} |")
    lines += [
        "",
        "Per build, the sums over its kernels and FIFOs (the accelerator without the top level's glue): Yosys, "
        "then the estimate before / after calibration.",
        "",
        "| model | folding | Yosys LUT | estimate LUT before / after | Yosys FF | estimate FF before / after |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for model in models:
        for folding in ("default", "ones"):
            part = [r for r in rows if r["model"] == model and r["folding"] == folding]
            if not part:
                continue
            cells = []
            for r in ("lut", "ff"):
                measured = sum(calibration.measured(row["yosys"], r) for row in part)
                before = sum(row["estimate"][r] for row in part)
                after = sum(calibration.apply(row, fitted)[r] for row in part)
                cells.append(f"{measured:,} | {before:,} / {after:,}")
            lines.append(f"| {model} | {folding} | " + " | ".join(cells) + " |")
    lines += ["", calibration.REMAINING, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", action="store_true", help="build and run Yosys (slow); writes the data file")
    parser.add_argument("--models", nargs="*", default=MODELS)
    parser.add_argument("--commit", default=None, help="the commit measured (default: git rev-parse HEAD)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.measure:
        commit = args.commit or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip() or "unknown"  # fmt: skip
        DATA.parent.mkdir(exist_ok=True)
        measure(
            args.models, lambda rows: DATA.write_text(json.dumps({"commit": commit, "rows": rows}, indent=1) + "\n")
        )
    data = json.loads(DATA.read_text())
    fitted = calibration.fit(data["rows"])
    print("FACTORS = {  # class: (LUT, FF), fitted by bench/rtl_calibration.py")
    for kind, (lut, ff) in sorted(fitted.items()):
        print(f'    "{kind}": ({lut}, {ff}),')
    print("}")
    text = section(data["rows"], data["commit"])
    print(text)
    if args.out:
        write_section(Path(args.out), "## The RTL estimate calibrated against Yosys", text)


if __name__ == "__main__":
    main()
