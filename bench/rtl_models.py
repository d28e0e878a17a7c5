"""The RTL backend on the test models: Verilated cycles against the estimate, and Yosys against the estimate.

    python bench/rtl_models.py [--yosys mlp_float_bias gap_trunc] [--out docs/benchmarks.md]

Every test model the RTL library builds (tests/rtl/test_backend.py), at the default folding and at PE = SIMD = 1,
built with `--backend rtl` for the PYNQ-Z2, then `fpgaq simulate` on 8 random frames (every element checked
against the golden model): cycles per frame and first-frame latency, Verilated / estimated. With --yosys, those
models' default builds go through `fpgaq synth --backend yosys` (synth_xilinx, 7-series): LUT and FF of all kernels
against the estimate's totals.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import write_section  # noqa: E402
from simulation import folding_spec  # noqa: E402

from fpgaq import frontend  # noqa: E402
from fpgaq.pipeline import Target, build_graph  # noqa: E402
from fpgaq.simulate import simulate  # noqa: E402
from fpgaq.synth import synth  # noqa: E402
from tests.conftest import export  # noqa: E402
from tests.models import build  # noqa: E402
from tests.rtl.test_backend import MODELS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--yosys", nargs="*", default=["mlp_float_bias", "gap_trunc"])
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows, synth_rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            model, shape = build(name)
            folder = Path(tmp) / name
            folder.mkdir()
            path = Path(export(model, shape, folder / "model.onnx", dynamo=False))
            graph = frontend.load(path)
            x = np.random.default_rng(0).normal(0.0, 1.5, (8, *shape)).astype(np.float32)
            for folding in ("default", "ones"):
                out = folder / folding
                report = build_graph(graph, Target.of("pynq-z2", backend="rtl"), out, "model.onnx",
                                     folding=folding_spec(graph, folding), model_file=path)  # fmt: skip
                _, section = simulate(out, x)
                rows.append((name, folding, section))
                e = section["estimate"]
                print(f"{name:26s} {folding:8s} interval {section['cycles_per_frame']:6d} / {e['cycles_per_frame']:6d}"
                      f"  latency {section['latency_cycles']:6d} / {e['latency_cycles']:6d}", flush=True)  # fmt: skip
                if folding == "default" and name in args.yosys:
                    syn = synth(out, "yosys").synthesis
                    synth_rows.append((name, syn["top"], report.totals))
                    print(f"    yosys LUT {syn['top']['lut']:,} FF {syn['top']['ff']:,} | estimate LUT "
                          f"{report.totals['lut']:,} FF {report.totals['ff']:,}", flush=True)  # fmt: skip
    lines = [
        "## The RTL backend: Verilator cycles and Yosys resources against the estimate",
        "",
        "`python bench/rtl_models.py`: every test model the RTL library builds, `fpgaq build --backend rtl` for the "
        "PYNQ-Z2 at the default folding and at PE = SIMD = 1, then `fpgaq simulate` on 8 frames (every element "
        "equal to the golden model). Each RTL kernel and FIFO registers its output, so a frame's latency grows by "
        "about a cycle per kernel over the estimate's; the window generator reads and writes in the same cycle, "
        "sooner than the HLS loop the estimate follows.",
        "",
        "| model | folding | cycles/frame Verilator / estimate | latency Verilator / estimate |",
        "|---|---|---:|---:|",
    ]
    for name, folding, s in rows:
        e = s["estimate"]
        lines.append(f"| {name} | {folding} | {s['cycles_per_frame']:,} / {e['cycles_per_frame']:,} | "
                     f"{s['latency_cycles']:,} / {e['latency_cycles']:,} |")  # fmt: skip
    if synth_rows:
        lines += [
            "",
            "Yosys synth_xilinx (7-series, every kernel and FIFO, `fpgaq synth --backend yosys`) against the "
            "estimate's totals (which add a fixed control overhead and count a pipeline stage of products that "
            "the unpipelined RTL units do not have):",
            "",
            "| model (default folding) | Yosys LUT | estimate LUT | Yosys FF | estimate FF | CARRY4 | DSP |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, top, totals in synth_rows:
            lines.append(f"| {name} | {top['lut']:,} | {totals['lut']:,} | {top['ff']:,} | {totals['ff']:,} | "
                         f"{top['carry']:,} | {top['dsp']} |")  # fmt: skip
    section = "\n".join(lines) + "\n"
    print(section)
    if args.out:
        write_section(Path(args.out), "## The RTL backend:", section)


if __name__ == "__main__":
    main()
