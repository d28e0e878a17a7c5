"""C-simulation speed against qonnx's Python executor, side by side on the same exported networks and inputs.

    python bench/csim_speed.py [--networks cnv_1w1a residual64] [--frames 8] [--jobs 1 2]

Each network is exported once (bench/scale.py's definitions: Brevitas' CNV behind an 8-bit image quantizer, the
residual CNN at 64x64), built for its board at the default folding, and run on the same random frames by:
qonnx's execute_onnx (one frame at a time, as FINN's and qonnx's tests run it), fpgaq's C-simulation with native
integers (the default) on 1 and on every core, and the same sources compiled with ap_int (as before the native
types). Outputs are checked: the C-simulations equal each other on every element and equal qonnx within float32
rounding. Frames per second and the ratios are printed; compile times beside.
"""

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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale import ResidualCNN, export, network  # noqa: E402

from fpgaq import pipeline  # noqa: E402
from fpgaq.backends.hls.csim import LIBRARY, CSim, compile_library  # noqa: E402


def model_of(name: str):
    if name.startswith("residual"):
        n = int(name.removeprefix("residual"))
        torch.manual_seed(0)
        return ResidualCNN(), (3, n, n), "pynq-z2"
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
    sim.run(x[:1])
    start = time.perf_counter()
    y = sim.run(x)
    return len(x) / (time.perf_counter() - start), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="*", default=["cnv_1w1a", "residual64"])
    parser.add_argument("--frames", type=int, default=64)
    args = parser.parse_args()
    rows = ["| network | qonnx frames/s | C-sim ap_int, 1 core | native, 1 core | native, all cores | "
            "vs qonnx | compile ap / native |", "|---|---|---|---|---|---|---|"]  # fmt: skip
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
                report = pipeline.build(path, board, out)
            native_compile = (report.compiled or {}).get("native")
            print(f"{name}: built in {time.perf_counter() - start:.0f} s (native: {native_compile})", flush=True)
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
            fps_ap, y_ap = csim_fps(CSim(folder / f"{name}_ap", jobs=1), x)
            fps_1, y_1 = csim_fps(CSim(out, jobs=1), x)
            fps_n, y_n = csim_fps(CSim(out), x)
            np.testing.assert_array_equal(y_1, y_ap)
            np.testing.assert_array_equal(y_n, y_ap)
            close = np.isclose(y_n, y_q.reshape(y_n.shape), rtol=1e-5, atol=1e-6).mean()
            rows.append(f"| {name} | {fps_q:.2f} | {fps_ap:.2f} | {fps_1:.2f} | {fps_n:.2f} | {fps_n / fps_q:.1f}x | "
                        f"{t_ap:.0f} s / {t_native:.0f} s |")  # fmt: skip
            print(rows[-1], f"(equal to qonnx within float32 rounding: {close:.1%} of outputs)", flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
