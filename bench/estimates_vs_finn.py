"""fpgaq's build estimate against FINN's estimators at equal frame rate: bnn_pynq TFC, SFC, LFC, CNV and MobileNet-v1.

    python bench/estimates_vs_finn.py --finn-python /work/finn-venv/bin/python [--networks ...] [--out FILE]

Each network (bench/csim_speed.py's model_of: brevitas_examples' bnn_pynq models at every bit width their cfg
ships, MobileNet-v1 1.0 at 224 with 4-bit weights and activations; untrained weights, behind an 8-bit image
quantizer) is exported once. Both sides get the same folding: FINN's published one where there is one (FOLDINGS),
else fpgaq's (FPGAQ_FOLDED: the folding search at a stated frame rate, or the default folding), handed to FINN.
fpgaq: `fpgaq build` (pipeline.build, FIFOs sized by the timed simulation) and its report.json estimate, every
kernel, FIFO and the control block. FINN: bench/finn_network_estimates.py in finn-plus's venv, its estimate-only
builder steps and res_estimation summed over every node of its dataflow partition; the width converters its
later FIFO step inserts are given beside (its FIFOs are sized only by RTL simulation, which needs Vivado).

The FINN venv (finn-plus 1.6.1 pins brevitas 0.13.0, which wants setuptools < 70, while torch 2.13.0 wants >= 77;
torch first, or pip pulls GBs of CUDA packages; psutil for the builder's imports):

    python3.11 -m venv /work/finn-venv
    /work/finn-venv/bin/pip install torch==2.13.0
    /work/finn-venv/bin/pip install --no-deps brevitas==0.13.0 finn-plus==1.6.1 "setuptools>=77,<81"
    /work/finn-venv/bin/pip install "bitstring>=4.3.1,<4.4.0" "click>=8.1.8,<9" "cmake>=4.0.3,<4.1" \
        "mashumaro[yaml]>=3.15,<4" "matplotlib>=3.10.9,<3.11" "mip==1.17.0" "numpy>=2.4.6,<2.5" "onnx==1.21.0" \
        "onnx-ir>=0.1.15" "onnx-passes>=0.4.0" "onnxoptimizer>=0.4.2,<0.5" "onnxruntime==1.25.1" \
        "onnxscript>=0.7.0" "pandas>=2.3.1,<2.4" "protobuf==5.29.6" "pybind11==3.0.1" "pydantic>2.0" \
        "pyyaml>=6.0.2,<6.1" "qonnx==1.0.0" "rich>=13.9.4,<14" "scikit-learn>=1.7.2,<1.8" "scipy>=1.17.0,<1.18" \
        "termcolor>=2.5.0,<3" "dependencies==2.0.1" packaging sympy "typing-extensions>=3.7.4" unfoldNd \
        "setuptools>=77,<81" psutil
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from csim_speed import model_of  # noqa: E402
from estimates import finn_side  # noqa: E402
from report import write_section  # noqa: E402
from scale import export  # noqa: E402

from fpgaq import pipeline  # noqa: E402
from fpgaq.estimate.costs import kernel_cost, stream_cost  # noqa: E402
from fpgaq.estimate.search import search_folding  # noqa: E402
from fpgaq.ir import graph as ir  # noqa: E402

NETWORKS = ["tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "sfc_1w1a", "sfc_1w2a", "sfc_2w2a", "lfc_1w1a", "lfc_1w2a",
            "cnv_1w1a", "cnv_1w2a", "cnv_2w2a", "mobilenet100_224"]  # fmt: skip

# FINN's published foldings, (PE, SIMD, ram_style) per MVAU and the input Thresholding node's PE. TFC and CNV:
# finn-examples build/bnn-pynq/folding_config (all with resType lut); LFC: FINN's end-to-end test (fold_lfc).
_TFC = [(16, 49, "block"), (8, 8, "auto"), (8, 8, "auto"), (10, 8, "distributed")]
_CNV_A2 = [(8, 3, "auto"), (16, 16, "auto"), (8, 16, "auto"), (8, 16, "block"), (4, 8, "auto"), (1, 8, "auto"),
           (1, 2, "distributed"), (2, 2, "block"), (5, 1, "distributed")]  # fmt: skip
FOLDINGS = {
    "tfc": (_TFC, 49, "finn-examples tfc-w*a* (all three the same)"),
    "lfc": ([(32, 49, "block"), (64, 32, "auto"), (32, 64, "auto"), (10, 8, "distributed")], 49,
            "FINN's end-to-end test (fold_lfc)"),
    "cnv_1w1a": ([(16, 3, "auto"), (32, 32, "auto"), (16, 32, "auto"), (16, 32, "auto"), (4, 32, "auto"),
                  (1, 32, "auto"), (1, 4, "auto"), (1, 8, "auto"), (5, 1, "auto")], 1, "finn-examples cnv-w1a1"),
    "cnv_1w2a": (_CNV_A2, 1, "finn-examples cnv-w1a2"),
    "cnv_2w2a": (_CNV_A2, 1, "finn-examples cnv-w2a2"),
}  # fmt: skip
# no published folding: fpgaq's folding search at this frame rate (None: fpgaq's default folding), given to FINN
FPGAQ_FOLDED = {"sfc": 195_312, "mobilenet": None}
MARKER = "## Estimates at equal frame rate:"
RESOURCES = ("lut", "bram18", "uram", "dsp")


def published(name: str):
    return FOLDINGS.get(name) or FOLDINGS.get(name[:3])


def folding_of(name: str, graph, target) -> tuple[dict, list, int | None, str]:
    """({layer: (pe, simd)}, FINN's per-MVAU dicts, threshold PE, where the folding comes from)."""
    dots = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
    if published(name):
        rows, threshold_pe, source = published(name)
        folding = {n.name: (pe, simd) for n, (pe, simd, _) in zip(dots, rows, strict=True)}
        finn = [{"pe": pe, "simd": simd, "ram_style": style, "res_type": "lut"} for pe, simd, style in rows]
        return folding, finn, threshold_pe, source
    fps = next(v for k, v in FPGAQ_FOLDED.items() if name.startswith(k))
    if fps is None:
        folding, source = pipeline.fold(graph, target).layers, "fpgaq's default folding"
    else:
        folding = search_folding(graph, target.board, target.clock_ns, fps).folding
        source = f"fpgaq's `--target-fps {fps}` search"
    finn = [{"pe": folding[n.name][0], "simd": folding[n.name][1]} for n in dots]
    return folding, finn, folding[dots[0].name][1], source  # an input Thresholding as wide as the first SIMD


def fpgaq_side(path: Path, name: str, board: str, out: Path, fifo_depth: int | None) -> tuple[dict, dict, dict]:
    """(folding info, report totals, {kernel kind: {"lut", "bram18", "uram", "dsp"}} with the FIFOs apart)."""
    target = pipeline.Target.of(board)
    graph = pipeline.load(path)
    folding, finn_dots, threshold_pe, source = folding_of(name, graph, target)
    spec = {layer: {"pe": pe, "simd": simd} for layer, (pe, simd) in folding.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = pipeline.build(path, board, out, folding=spec, fifo_depth=fifo_depth)
    plan = pipeline.plan(graph, pipeline.Folding(folding), target)
    parts = defaultdict(lambda: dict.fromkeys(RESOURCES, 0))
    streams = {s.name: s for s in plan.streams}
    costs = [(k.kind, kernel_cost(k, target.board.device)) for k in plan.kernels]
    costs += [("fifo", stream_cost(streams[name], entry["depth"])) for name, entry in report.fifos["streams"].items()]
    for kind, cost in costs:
        for r in RESOURCES:
            parts[kind][r] += getattr(cost, r)
    depthwise = any(getattr(n, "depthwise", False) for n in graph.nodes)
    info = {"source": source, "finn_dots": finn_dots, "threshold_pe": threshold_pe, "part": target.board.part,
            "clock_ns": target.clock_ns, "depthwise": depthwise}  # fmt: skip
    return info, report.totals, dict(parts)


def sums(nodes: list[dict]) -> dict:
    return {r: sum(n[r] for n in nodes) for r in RESOURCES}


def by_type(nodes: list[dict]) -> dict:
    groups = defaultdict(list)
    for n in nodes:
        groups[n["op"]].append(n)
    return {op: sums(group) for op, group in groups.items()}


def cell(parts: dict, zeros: bool = False) -> str:
    """kind LUT/BRAM18[/DSPd][/URAMu], ... by LUTs, largest first; with `zeros` also the kinds that cost nothing."""
    ranked = sorted(parts.items(), key=lambda kv: -kv[1]["lut"])
    return ", ".join(f"{k} {v['lut']:,}/{v['bram18']}" + (f"/{v['dsp']}d" if v["dsp"] else "")
                     + (f"/{v['uram']}u" if v["uram"] else "")
                     for k, v in ranked if zeros or v["lut"] or v["bram18"] or v["dsp"] or v["uram"])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--finn-python", default=os.environ.get("FINN_PYTHON"))
    parser.add_argument("--networks", nargs="*", default=NETWORKS, choices=NETWORKS)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--fifo-depth", type=int, help="every FIFO at this depth instead of sizing them (MobileNet-v1 "
                        "1.0 at 224: the sizing's timed runs take half an hour)")  # fmt: skip
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    rows, detail, notes = [], [], []
    for name in args.networks:
        model, shape, board = model_of(name)
        path = export(model, shape, folder / f"{name}.onnx")
        info, totals, parts = fpgaq_side(path, name, board, folder / f"{name}_build", args.fifo_depth)
        if args.fifo_depth:
            notes.append(f"- {name}: fpgaq's FIFOs all at depth {args.fifo_depth} (`--fifo-depth`), not sized")
        spec = {k: info[k] for k in ("part", "clock_ns", "threshold_pe", "depthwise")} | {"dots": info["finn_dots"]}
        (folder / f"{name}.json").write_text(json.dumps(spec))
        finn = finn_side(["finn_network_estimates.py", str(path), str(folder / f"{name}.json")], args.finn_python)
        t = totals
        ours = f"{t['lut']:,} | {t['bram18']} | {t.get('uram', 0)} | {t['dsp']}"
        if finn is None:
            theirs, finn_cycles = "not run | | | |", "-"
        elif not finn.get("ok"):
            theirs, finn_cycles = "failed | | | |", "-"
            notes.append(f"- {name}: FINN failed at {finn['error']}")
        else:
            s, d = sums(finn["nodes"]), sums(finn["dwcs"])
            thr = sum(n["lut_thresholds"] for n in finn["nodes"])
            theirs = (f"{s['lut']:,} (+{d['lut']:,}) | {thr:,} | {s['bram18']} (+{d['bram18']}) | {s['uram']} | "
                      f"{s['dsp']}")  # fmt: skip
            finn_cycles = f"{finn['max_cycles']:,}"
            detail.append(f"| {name} | {cell(parts)} | {cell(by_type(finn['nodes']), zeros=True)} |")
            if finn.get("streamline"):
                notes.append(f"- {name}: FINN's standard steps failed at {finn['error']}; the numbers are from the "
                             f"{finn['streamline']} streamlining")  # fmt: skip
            if finn.get("outside"):
                notes.append(f"- {name}: FINN leaves {', '.join(finn['outside'])} outside its dataflow partition")
        rows.append(f"| {name} | {info['source']} | {t['cycles_per_frame']:,} / {finn_cycles} | {t['fps']:,.0f} | "
                    f"{ours} | {theirs} |")  # fmt: skip
        print(rows[-1], flush=True)
        document(args.out, rows, detail, notes)


def network_of(line: str) -> str:
    return line.split(" ")[1].rstrip(":")


def document(out: Path, rows: list[str], detail: list[str], notes: list[str]) -> None:
    """Write the section, keeping the lines of an earlier run about networks this run did not measure."""
    text = out.read_text() if out.exists() else ""
    measured = {network_of(line) for line in rows}
    before = text.partition(MARKER)[2].split("\n## ", 1)[0].splitlines()
    old = [line for line in before if line.startswith(("| ", "- ")) and network_of(line) in NETWORKS]
    old = [line for line in old if network_of(line) not in measured]
    order = {name: i for i, name in enumerate(NETWORKS)}

    def merged(new: list[str], kind) -> list[str]:
        return sorted([line for line in old if kind(line)] + new, key=lambda line: order[network_of(line)])

    rows = merged(rows, lambda line: line.count(" | ") > 4)
    detail = merged(detail, lambda line: line.startswith("| ") and line.count(" | ") <= 4)
    notes = merged(notes, lambda line: line.startswith("- "))
    section = (
        MARKER + " bnn_pynq and MobileNet-v1 against FINN\n\n"
        "`python bench/estimates_vs_finn.py --finn-python /work/finn-venv/bin/python` (finn-plus 1.6.1; the venv's "
        "commands are in the script's docstring; MobileNet-v1 with `--networks mobilenet100_224 --fifo-depth 2`, "
        "as sizing its FIFOs takes half an hour). TFC/SFC/LFC/CNV on the PYNQ-Z2 (xc7z020, the PYNQ-Z1's part), "
        "MobileNet-v1 on the ZCU104, 100 MHz, untrained weights. The same folding on both sides. fpgaq: the "
        "estimate in report.json of `fpgaq build`, every kernel, the FIFOs at their sized depths and the control "
        "block. FINN: res_estimation summed over every node of its dataflow partition after its estimate-only "
        "steps (the nodes counted, by type, in the second table); in brackets the width converters its FIFO step "
        "would add; beside, its LUTs with the MVAUs' fused thresholds counted (its MVAU_hls estimator counts their "
        "memory and comparators only for ram_style_thresholds=distributed; at the default, auto, neither, and no "
        "BRAM for them either; VVAU_hls always counts them).\n\n"
        "| network | folding | cycles/frame fpgaq / FINN | FPS (100 MHz) | fpgaq LUT | BRAM18 | URAM | DSP "
        "| FINN LUT (+DWC) | FINN LUT, MVAU thresholds counted | BRAM18 (+DWC) | URAM | DSP |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "LUT/BRAM18 (/DSP d, /URAM u) by kernel kind (fpgaq; fifo: every stream FIFO) and node type (FINN, every "
        "type it built, 0 where its estimators count nothing):\n\n"
        "| network | fpgaq | FINN |\n|---|---|---|\n" + "\n".join(detail) + "\n\n"
        + "".join(f"{n}\n" for n in notes)
    )  # fmt: skip
    write_section(out, MARKER, section)


if __name__ == "__main__":
    main()
