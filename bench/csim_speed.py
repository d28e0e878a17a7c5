"""C-simulation speed against qonnx's Python executor, side by side on the same exported networks and inputs.

    python bench/csim_speed.py [--networks tfc_1w1a cnv_1w1a ...] [--frames 16] [--ap-frames 4] [--doc FILE]

Each network (NETWORKS: bnn_pynq's TFC, SFC, LFC and CNV, the residual CNN at 32 and 64, MobileNet-v1 width 0.25
and 1.0 at 128 and 224; model_of) is exported once, built for its board at the default folding, and run on the
same random frames by: qonnx's execute_onnx (one frame at a time, as FINN's and qonnx's tests run it), fpgaq's
C-simulation with native integers (the default) on 1 and on every core, the same sources compiled with ap_int
(as before the native types; on the first --ap-frames frames), and the timed dataflow simulation (one core, at
the build's FIFO depths). Outputs are checked: the C-simulations and the timed simulation equal each other on
every element and equal qonnx within float32 rounding. Frames per second and the ratios are printed; compile
times beside. With --doc the table replaces the "C-simulation speed" section of that file."""

from __future__ import annotations

import argparse
import os
import shutil
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
from scale import ResidualCNN, export, network  # noqa: E402

from fpgaq import pipeline  # noqa: E402
from fpgaq.backends.hls.csim import LIBRARY, CSim, compile_library  # noqa: E402
from fpgaq.backends.hls.timed import declared_depths  # noqa: E402
from fpgaq.ir import execute  # noqa: E402

NETWORKS = ["tfc_1w1a", "tfc_2w2a", "sfc_1w1a", "sfc_2w2a", "lfc_1w1a", "lfc_1w2a", "cnv_1w1a", "cnv_2w2a",
            "residual32", "residual64", "mobilenet025_128", "mobilenet025_224", "mobilenet100_128",
            "mobilenet100_224"]  # fmt: skip


def model_of(name: str):
    """(model, input shape, board): bnn_pynq's TFC/SFC/LFC (28x28) and CNV (32x32) and MobileNet-v1 (width 0.25
    or 1.0, 4-bit, at 128 or 224: mobilenetWWW_N), each behind an 8-bit image quantizer (bench/scale.py), or the
    residual CNN at N x N (residualN). Untrained weights: the speed does not depend on them."""
    torch.manual_seed(0)
    if name.startswith("residual"):
        n = int(name.removeprefix("residual"))
        return ResidualCNN(), (3, n, n), "pynq-z2"
    if name[:3] in ("tfc", "sfc", "lfc"):
        from brevitas_examples.bnn_pynq.models import model_with_cfg

        model, _ = model_with_cfg(name, pretrained=False)
        image = qnn.QuantIdentity(bit_width=8, signed=False, return_quant_tensor=False)
        return torch.nn.Sequential(image, model), (1, 28, 28), "pynq-z2"
    if name.startswith("mobilenet"):
        from brevitas_examples.imagenet_classification.models.mobilenetv1 import MobileNet

        width, n = name.removeprefix("mobilenet").split("_")
        scale, n = int(width) / 100, int(n)
        stages = [[32], [64], [128, 128], [256, 256], [512] * 6, [1024, 1024]]
        model = MobileNet(channels=[[int(c * scale) for c in stage] for stage in stages], first_stage_stride=False,
                          round_average_pool=False, act_bit_width=4, weight_bit_width=4, last_layer_bit_width=4,
                          avg_pool_kernel_size=n // 32)  # fmt: skip
        image = qnn.QuantIdentity(bit_width=8, return_quant_tensor=False)
        return torch.nn.Sequential(image, model), (3, n, n), "zcu104"
    return network(name)


def qonnx_fps(path: Path, x: np.ndarray) -> tuple[float, np.ndarray]:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = ModelWrapper(str(path)).transform(InferShapes())
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    execute_onnx(model, {iname: x[:1]})  # warm-up
    start = time.perf_counter()
    y = np.concatenate([execute_onnx(model, {iname: x[i : i + 1]})[oname] for i in range(len(x))])
    return len(x) / (time.perf_counter() - start), y


def csim_fps(sim: CSim, x: np.ndarray) -> tuple[float, np.ndarray]:
    sim.run(x[: sim.jobs])  # warm-up: a frame on every thread of the pool (qonnx's: one frame)
    start = time.perf_counter()
    y = sim.run(x)
    return len(x) / (time.perf_counter() - start), y


def timed_fps(out: Path, x: np.ndarray) -> tuple[float, np.ndarray]:
    """The timed dataflow simulation at the build's FIFO depths, one core: frames/s and the output words."""
    sim = CSim(out, jobs=1)
    words = sim.host.pack_input(sim.input_codes(x))
    depths = declared_depths((out / "hls" / "top.cpp").read_text())
    start = time.perf_counter()
    run = sim.timed().run(words, depths)
    assert not run.deadlock
    return len(x) / (time.perf_counter() - start), run.output, sim.run_words(words)


def golden_fps(path: Path, x: np.ndarray) -> tuple[float, np.ndarray]:
    graph = pipeline.load(path)
    start = time.perf_counter()
    y = execute.run(graph, x)
    return len(x) / (time.perf_counter() - start), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="*", default=NETWORKS, choices=NETWORKS)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--ap-frames", type=int, default=4)
    parser.add_argument(
        "--doc",
        type=Path,
        help="write the table into this markdown file (rows of networks not measured in this run are kept)",
    )
    parser.add_argument(
        "--fifo-depth",
        type=int,
        help="every stream at this depth instead of sized by the timed "
        "simulation (the C-simulation's speed does not depend on it; networks without a fork never "
        "deadlock)",
    )
    args = parser.parse_args()
    rows = ["| network | qonnx | golden int64 | C-sim ap_int, 1 core | native, 1 core | native, all cores | "
            "**vs qonnx** | timed sim, 1 core | timed / C-sim (1 core) | compile ap / native | build |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["FPGAQ_CACHE"] = str(folder / "cache")  # every compile timed here is a cold one
        for name in args.networks:
            model, shape, board = model_of(name)
            path = export(model, shape, folder / f"{name}.onnx")
            x = np.random.default_rng(0).uniform(0, 1, size=(args.frames, *shape)).astype(np.float32)
            out = folder / f"{name}_build"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                report = pipeline.build(path, board, out, fifo_depth=args.fifo_depth)
                t_build = time.perf_counter() - start
            sizing = (report.fifos or {}).get("runs")
            print(f"{name}: built in {t_build:.0f} s ({sizing} timed runs sizing the FIFOs)", flush=True)
            shutil.copytree(out, folder / f"{name}_ap")
            start = time.perf_counter()
            compile_library(folder / f"{name}_ap" / "hls", folder / f"{name}_ap" / "csim" / LIBRARY, native=False)
            t_ap = time.perf_counter() - start
            shutil.copytree(out, folder / f"{name}_native")  # a cold compile of the native library, timed
            (folder / f"{name}_native" / "csim" / LIBRARY).unlink()
            os.environ["FPGAQ_CACHE"] = str(folder / f"cache_{name}")  # an empty compile cache
            start = time.perf_counter()
            compile_library(folder / f"{name}_native" / "hls", folder / f"{name}_native" / "csim" / LIBRARY)
            t_native = time.perf_counter() - start
            os.environ["FPGAQ_CACHE"] = str(folder / "cache")
            fps_q, y_q = qonnx_fps(path, x)
            fps_g, y_g = golden_fps(path, x)
            fps_ap, y_ap = csim_fps(CSim(folder / f"{name}_ap", jobs=1), x[: args.ap_frames])
            fps_1, y_1 = csim_fps(CSim(out, jobs=1), x)
            fps_n, y_n = csim_fps(CSim(out), x)
            fps_t, timed_words, csim_words = timed_fps(out, x)
            np.testing.assert_array_equal(y_1, y_g)  # C-sim == golden on every element
            np.testing.assert_array_equal(y_n, y_1)
            np.testing.assert_array_equal(y_ap, y_1[: args.ap_frames])
            np.testing.assert_array_equal(timed_words, csim_words)
            close = np.isclose(y_n, y_q.reshape(y_n.shape), rtol=1e-5, atol=1e-6).mean()
            sized = f"depth {args.fifo_depth}" if args.fifo_depth else f"{sizing} sizing runs"
            rows.append(f"| {name} | {fps_q:.2f} | {fps_g:.2f} | {fps_ap:.2f} | {fps_1:.2f} | {fps_n:.2f} | "
                        f"**{fps_n / fps_q:.1f}x** | {fps_t:.2f} | {fps_t / fps_1:.2f} | {t_ap:.0f} s / "
                        f"{t_native:.0f} s | {t_build:.0f} s ({sized}) |")  # fmt: skip
            print(rows[-1], f"(equal to qonnx within float32 rounding: {close:.1%} of outputs)", flush=True)
            if args.doc:  # after every network: a long run stopped early keeps what it measured
                document(args.doc, args.frames, rows)
    print("\n".join(rows))


def document(doc: Path, frames: int, rows: list[str]) -> None:
    """Write the section with this run's rows and the earlier rows of networks it did not measure, in NETWORKS
    order."""
    measured = {row.split("|")[1].strip(): row for row in rows[2:]}
    text = doc.read_text() if doc.exists() else ""
    if "## C-simulation speed" in text:
        earlier = text.partition("## C-simulation speed")[2].split("\n## ", 1)[0]
        for line in earlier.splitlines():
            name = line.split("|")[1].strip() if line.startswith("| ") else ""
            if name in NETWORKS and name not in measured and len(line.split("|")) == len(rows[0].split("|")):
                measured[name] = line
    rows = rows[:2] + [measured[name] for name in NETWORKS if name in measured]
    section = (
        "## C-simulation speed\n\n"
        f"`python bench/csim_speed.py --frames {frames}` on this 2-core machine: frames per second of each "
        "engine on the same random frames, untrained weights, default folding. qonnx: qonnx's execute_onnx, "
        "one frame at a time; golden: fpgaq's int64 executor (fpgaq.ir.execute), the whole batch; C-sim: the "
        "generated HLS C++ compiled with ap_int or with native integers; timed sim: the timed dataflow "
        "simulation at the build's FIFO depths. Every C-sim and timed output equals the golden model on every "
        "element. Compile: cold g++ of the C-sim library. Build: `fpgaq build` (lowering, planning, emitting, "
        "compiling and the FIFO sizing's timed runs; or every FIFO at one depth, `--fifo-depth`).\n\n"
        + "\n".join(rows)
        + "\n"
    )
    write_section(doc, "## C-simulation speed", section)


if __name__ == "__main__":
    main()
