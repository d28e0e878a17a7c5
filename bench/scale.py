"""Scale: memory against image size, and the networks Brevitas ships, built end to end.

    python bench/scale.py [--sizes 32 64 128 224] [--networks cnv_1w1a cnv_2w2a mobilenet_v1_4b] [--csim]
                          [--out docs/benchmarks.md]

1. BRAM against the input size for a residual CNN (3 -> 16 -> 16 channels, 3x3 convolutions, a residual add,
   a 2x2 max pool, global average pool, dense 10; PYNQ-Z2, default folding): with line buffers it grows with
   the image width, not its area.
2. CNV-w1a1 / CNV-w2a2 (brevitas_examples.bnn_pynq, 32x32x3) on the PYNQ-Z2 and MobileNet-v1 4-bit
   (brevitas_examples.imagenet_classification, 224x224x3) on the ZCU104, untrained weights: folding search
   (--target-fps max), the estimate against the board, lowering and planning wall time, generated code size,
   and with --csim the g++ build (wall time, peak memory) and the C-simulation time per frame.
Numbers are estimates from fpgaq's models (fpgaq.estimate.models), not synthesis results.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from brevitas import nn as qnn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import write_section  # noqa: E402

from fpgaq import pipeline  # noqa: E402
from fpgaq.estimate.search import FoldingSearchError  # noqa: E402


class ResidualCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = qnn.QuantIdentity(bit_width=8, return_quant_tensor=True)
        self.c1 = qnn.QuantConv2d(3, 16, 3, padding=1, weight_bit_width=4, bias=False)
        self.a1 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.c2 = qnn.QuantConv2d(16, 16, 3, padding=1, weight_bit_width=4, bias=False)
        self.a2 = qnn.QuantReLU(bit_width=4, return_quant_tensor=True)
        self.add = qnn.QuantIdentity(bit_width=4, return_quant_tensor=True)
        self.gap = qnn.TruncAdaptiveAvgPool2d(output_size=1, bit_width=8, return_quant_tensor=True)
        self.fc = qnn.QuantLinear(16, 10, weight_bit_width=4, bias=False)

    def forward(self, x):
        y = self.a1(self.c1(self.inp(x)))
        z = self.a2(self.c2(y))
        x = torch.nn.functional.max_pool2d(self.add(y + z), 2)
        return self.fc(torch.flatten(self.gap(x), 1))


def export(model: torch.nn.Module, shape, path: Path) -> Path:
    from brevitas.export import export_qonnx

    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        export_qonnx(model, torch.rand(1, *shape), str(path), dynamo=False)
    return path


def network(name: str) -> tuple[torch.nn.Module, tuple, str]:
    """(model, input shape, board) of a network Brevitas ships, behind an 8-bit input quantizer (the image as
    the board receives it: FINN's flow marks the same input UINT8; the networks' own first float ops, such as
    CNV's 2x - 1, then fold into the first layer)."""
    if name.startswith("cnv"):
        from brevitas_examples.bnn_pynq.models import model_with_cfg

        model, _ = model_with_cfg(name, pretrained=False)
        image = qnn.QuantIdentity(bit_width=8, signed=False, return_quant_tensor=False)
        return torch.nn.Sequential(image, model), (3, 32, 32), "pynq-z2"
    from brevitas_examples.imagenet_classification.models import model_with_cfg

    model, _ = model_with_cfg("quant_mobilenet_v1_4b", pretrained=None)
    image = qnn.QuantIdentity(bit_width=8, return_quant_tensor=False)
    return torch.nn.Sequential(image, model), (3, 224, 224), "zcu104"


def peak_rss_mb() -> float:
    """Peak resident memory of this process and its finished children (g++), MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def bram_by_size(sizes, folder: Path) -> list[str]:
    rows = ["| input | BRAM18 total | of which window generators | LUT | cycles/frame |", "|---|---|---|---|---|"]
    for n in sizes:
        torch.manual_seed(0)
        path = export(ResidualCNN(), (3, n, n), folder / f"residual_{n}.onnx")
        graph = pipeline.load(path)
        target = pipeline.Target.of("pynq-z2")
        plan = pipeline.plan(graph, pipeline.fold(graph, target))
        est = pipeline.estimate(plan, target)
        swg = sum(k["bram18"] for k in est["kernels"] if k["kernel"] == "swg")
        t = est["totals"]
        rows.append(f"| {n}x{n} | {t['bram18']} | {swg} | {t['lut']:,} | {t['cycles_per_frame']:,} |")
        print(rows[-1], flush=True)
    return rows


def build_network(name: str, folder: Path, csim: bool) -> str:
    model, shape, board = network(name)
    t0 = time.perf_counter()
    path = export(model, shape, folder / f"{name}.onnx")
    t_export = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph = pipeline.load(path)
    t_load = time.perf_counter() - t0
    target = pipeline.Target.of(board)
    t0 = time.perf_counter()
    try:
        folded = pipeline.fold(graph, target, target_fps="max")
        how = "search, max"
    except FoldingSearchError as exc:
        print(f"{name}: {exc}", flush=True)
        folded = pipeline.fold(graph, target)
        how = f"default (search: {exc})"
    plan = pipeline.plan(graph, folded, target)  # weights placed for the board (UltraRAM where BRAM runs out)
    est = pipeline.estimate(plan, target)
    t_plan = time.perf_counter() - t0
    files = pipeline.emit(plan, target, path.name)
    code = sum(len(v) for k, v in files.items() if k.startswith("hls/") and not k.startswith("hls/lib/"))
    t = est["totals"]
    util = ", ".join(f"{r.upper()} {t[r]:,} ({t['utilization'][r]:.0%})" for r in ("lut", "bram18", "dsp", "uram")
                     if t[r] or r != "uram")  # fmt: skip
    line = (f"| {name} | {board} | {how} | {t['fps']:,.0f} | {util} | {t_export:.0f} s / {t_load:.0f} s / "
            f"{t_plan:.0f} s | {code / 1e6:.1f} MB |")  # fmt: skip
    if csim:
        out = folder / f"{name}_build"
        t0 = time.perf_counter()
        pipeline.build_plan(graph, folded, plan, target, out, path.name)
        t_build = time.perf_counter() - t0
        x = np.random.default_rng(0).uniform(0, 1, size=(4, *shape)).astype(np.float32)
        sim = get_sim(out)
        t0 = time.perf_counter()
        sim.run(x)
        per_frame = (time.perf_counter() - t0) / len(x)
        line += f" {t_build:.0f} s, {peak_rss_mb():,.0f} MB peak | {per_frame * 1e3:,.1f} ms |"
    else:
        line += " not run | not run |"
    print(line, flush=True)
    return line


def get_sim(out: Path):
    from fpgaq.backends.hls.csim import CSim

    return CSim(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[32, 64, 128, 224])
    parser.add_argument("--networks", nargs="*", default=["cnv_1w1a", "cnv_2w2a", "mobilenet_v1_4b"])
    parser.add_argument("--csim", action="store_true", help="also compile and run the C-simulation")
    parser.add_argument("--out", default=None, help="write the section into this markdown file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    sizes = bram_by_size(args.sizes, folder) if args.sizes else []
    nets = [
        "| network | board | folding | FPS (estimate) | LUT / BRAM18 / DSP (estimate) | export / lowering / "
        "search+plan | generated C++ | g++ build, peak memory | C-sim per frame |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    nets += [build_network(name, folder, args.csim) for name in args.networks]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    section = (
        "## Scale: memory against image size, CNV and MobileNet\n\n"
        f"`python bench/scale.py{' --csim' if args.csim else ''}` (commit {commit.stdout.strip()}). "
        "Residual CNN (3 -> 16 -> 16, 3x3 convolutions, residual add, 2x2 max pool; PYNQ-Z2, default folding):\n\n"
        + "\n".join(sizes)
        + "\n\nNetworks from brevitas_examples (untrained weights; estimates, not synthesis):\n\n"
        + "\n".join(nets)
        + "\n"
    )
    if args.out:
        write_section(Path(args.out), "## Scale:", section)
    print(section)


if __name__ == "__main__":
    main()
