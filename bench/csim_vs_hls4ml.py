"""Side-by-side: the same Brevitas QONNX models through hls4ml's documented QONNX flow and through fpgaq.

    python bench/csim_vs_hls4ml.py [--samples 4096] [--out docs/benchmarks.md]

Models: digits MLPs (64-64-32-10, 4-bit weights and activations, 8-bit input) trained with Brevitas QAT on
scikit-learn's digits, with (a) float scales and float biases, (b) power-of-two scales and float biases,
(c) float scales and quantized Int32 biases, and (d) a small CNN with batch norm, max pooling and float scales.
For each: conversion success, build + compile seconds (cold compiler cache), C-simulation samples per second,
and the fraction of outputs equal to qonnx's execute_onnx within float32 rounding (rtol 1e-5, atol 1e-6 x
max |output|). hls4ml: cleanup, ConvertToChannelsLastAndClean, GemmToMatMul, cleanup, config_from_onnx_model
(granularity 'name', fixed<16,6> default), convert_from_onnx_model(Vitis, io_parallel), compile, predict.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

from bench.models import MODELS, export, trained_model  # noqa: E402
from bench.report import write_section  # noqa: E402

CSIM_MODELS = list(MODELS)[:4]  # the three MLP variants and the CNN
from examples.digits_mlp import digits_split  # noqa: E402


def reference(path, x):
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.infer_shapes import InferShapes

    model = ModelWrapper(str(path)).transform(InferShapes())
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    return np.concatenate([execute_onnx(model, {iname: x[i : i + 1]})[oname] for i in range(len(x))])


def agreement(y, ref) -> float:
    return float(np.isclose(y, ref, rtol=1e-5, atol=1e-6 * float(np.abs(ref).max())).mean())


def throughput(fn, x, repeats=3) -> float:
    best = min(_timed(fn, x) for _ in range(repeats))
    return len(x) / best


def _timed(fn, x) -> float:
    start = time.perf_counter()
    fn(x)
    return time.perf_counter() - start


def run_hls4ml(path, x, ref, x_big, work):
    import hls4ml
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    start = time.perf_counter()
    try:
        model = cleanup_model(ModelWrapper(str(path)))
        model = model.transform(ConvertToChannelsLastAndClean())
        model = model.transform(GemmToMatMul())
        model = cleanup_model(model)
        config = hls4ml.utils.config.config_from_onnx_model(
            model, granularity="name", backend="Vitis", default_precision="fixed<16,6>"
        )
        hm = hls4ml.converters.convert_from_onnx_model(
            model, output_dir=str(work), backend="Vitis", io_type="io_parallel", hls_config=config
        )
        hm.compile()
    except Exception as exc:  # the peer's failure is a result to report
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:80]}"}
    seconds = time.perf_counter() - start
    channels_last = x.ndim == 4
    prep = (lambda a: np.ascontiguousarray(a.transpose(0, 2, 3, 1))) if channels_last else np.ascontiguousarray
    y = np.asarray(hm.predict(prep(x))).reshape(ref.shape)
    return {
        "ok": True,
        "seconds": seconds,
        "rate": throughput(lambda a: hm.predict(prep(a)), x_big),
        "agree": agreement(y, ref),
        "argmax": float((y.argmax(1) == ref.argmax(1)).mean()),
    }


def run_fpgaq(path, x, ref, x_big, work):
    from fpgaq.backends.hls.csim import CSim
    from fpgaq.pipeline import build

    start = time.perf_counter()
    build(path, "pynq-z2", work, force=True)
    seconds = time.perf_counter() - start
    sim = CSim(work)
    y = sim.run(x)
    return {
        "ok": True,
        "seconds": seconds,
        "rate": throughput(sim.run, x_big),
        "agree": agreement(y, ref),
        "argmax": float((y.argmax(1) == ref.argmax(1)).mean()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096, help="samples for the throughput measurement")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fpgaq-bench-"))
    os.environ["FPGAQ_CACHE"] = str(tmp / "cache")  # cold compiles, like hls4ml's
    _, x_te, _, _ = digits_split()
    rows = []
    for name in CSIM_MODELS:
        shape = MODELS[name][1]
        model = trained_model(name)
        x = x_te.reshape(-1, *shape).astype(np.float32)
        x_big = np.ascontiguousarray(np.resize(x, (args.samples, *shape)))
        path = tmp / f"{len(rows)}.onnx"
        export(model, shape, path)
        ref = reference(path, x)
        ours = run_fpgaq(path, x, ref, x_big, tmp / f"fpgaq{len(rows)}")
        peer = run_hls4ml(path, x, ref, x_big, tmp / f"hls4ml{len(rows)}")
        rows.append((name, ours, peer))
        print(name, "fpgaq", ours, "hls4ml", peer, flush=True)
    write_table(rows, args, Path(args.out))


def write_table(rows, args, out: Path):
    lines = [
        "| model | hls4ml converts | compile s hls4ml | compile s fpgaq | ratio | C-sim samples/s hls4ml | "
        "C-sim samples/s fpgaq | ratio | outputs = qonnx hls4ml | outputs = qonnx fpgaq | argmax = qonnx hls4ml |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, ours, peer in rows:
        if peer["ok"]:
            lines.append(
                f"| {name} | yes | {peer['seconds']:.1f} | {ours['seconds']:.1f} | "
                f"{ours['seconds'] / peer['seconds']:.2f} | {peer['rate']:,.0f} | {ours['rate']:,.0f} | "
                f"{ours['rate'] / peer['rate']:.1f} | {peer['agree']:.2%} | {ours['agree']:.2%} | "
                f"{peer['argmax']:.1%} |"
            )
        else:
            lines.append(
                f"| {name} | no ({peer['error']}) | - | {ours['seconds']:.1f} | - | - | {ours['rate']:,.0f} "
                f"| - | - | {ours['agree']:.2%} | - |"
            )
    section = "\n".join(
        [
            "## C-simulation: fpgaq vs hls4ml 1.3.0 (QONNX flow)",
            "",
            f"Command: `python bench/csim_vs_hls4ml.py --samples {args.samples}` "
            "(2-core machine, g++ 12, cold caches).",
            "Compile ratio = fpgaq / hls4ml seconds (lower is better); throughput ratio = fpgaq / hls4ml.",
            "",
            *lines,
            "",
        ]
    )
    write_section(out, "## C-simulation: fpgaq vs hls4ml", section)
    print(section)


if __name__ == "__main__":
    main()
