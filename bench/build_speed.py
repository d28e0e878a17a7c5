"""Build time: seconds per build step for MobileNet-v1 4-bit (224x224, ZCU104) and CNV-w1a1 (32x32, PYNQ-Z2).

    python bench/build_speed.py [--networks mobilenet_v1_4b cnv_1w1a] [--profile FILE] [--keep DIR]
                                [--no-build] [--finn-python /work/finn-venv/bin/python]

Steps timed, each on its own: export (Brevitas -> QONNX; skipped when --keep holds the file), load (lowering to
the integer IR), fold (the default folding, and the folding search of --target-fps max), plan (the kernel plan of
the searched folding, weights placed for the board), estimate and emit (generated sources). A plain build's front
end is load + fold + plan + estimate + emit; a `--target-fps max` build has the search in place of the default
folding. Then, unless --no-build, the whole `fpgaq build` (pipeline.build at the default folding, into a fresh
folder, with an empty C-simulation cache so that g++ compiles): its wall time, and of it the g++ compile and the
FIFO sizing (timed simulation; the runs it took, the sum of the depths). Networks as in bench/scale.py
(brevitas_examples, untrained weights, behind an 8-bit input quantizer). --finn-python: finn-plus's Python
(bench/estimates_vs_finn.py says how that venv is made); FINN's estimate-only builder steps on the same QONNX
file at fpgaq's default folding (bench/finn_network_estimates.py: qonnx_to_finn, tidy-up, streamline,
convert_to_hw, bit-width minimization, dataflow partition, specialize_layers, the folding, estimate reports),
timed as one subprocess, its Python start and imports included. FINN's later steps (HLS code generation and Vitis
HLS synthesis of every layer, its FIFO sizing by RTL simulation, IP stitching) need Vivado/Vitis and are not run.
--profile writes cProfile statistics of the front-end steps after export to FILE (read with `python -m pstats
FILE`; the profiler slows Python code, Fraction arithmetic most); --keep reuses exported QONNX files in DIR.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from estimates import finn_side  # noqa: E402
from scale import export, network  # noqa: E402

from fpgaq import pipeline  # noqa: E402
from fpgaq.backends.hls import HlsBackend  # noqa: E402
from fpgaq.ir import graph as ir  # noqa: E402

STEPS = ("load", "fold", "fold max", "plan", "estimate", "emit")


def time_network(name: str, folder: Path, profiler: cProfile.Profile | None) -> tuple[dict[str, float], str]:
    """Seconds per step of one network's build; its board."""
    seconds = {}
    model, shape, board = network(name)
    path = folder / f"{name}.onnx"
    if not path.exists():
        t0 = time.perf_counter()
        export(model, shape, path)
        print(f"{name}: export {time.perf_counter() - t0:.2f} s", flush=True)
    target = pipeline.Target.of(board)
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    graph = pipeline.load(path)
    seconds["load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipeline.fold(graph, target)
    seconds["fold"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    folded = pipeline.fold(graph, target, target_fps="max")
    seconds["fold max"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    plan = pipeline.plan(graph, folded, target)
    seconds["plan"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipeline.estimate(plan, target)
    seconds["estimate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pipeline.emit(plan, target, path.name)
    seconds["emit"] = time.perf_counter() - t0
    if profiler:
        profiler.disable()
    return seconds, board


def time_build(path: Path, board: str, folder: Path) -> dict[str, float]:
    """Seconds of one whole `fpgaq build` (default folding, fresh folder, empty C-simulation cache), of its g++
    compile and of its FIFO sizing; the sizing's timed runs and the sum of the FIFO depths."""
    seconds: dict[str, float] = {}

    def timed(method, key):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - t0

        return wrapper

    compile_, size = HlsBackend.compile, HlsBackend.size_fifos
    cache = os.environ.get("FPGAQ_CACHE")
    os.environ["FPGAQ_CACHE"] = tempfile.mkdtemp(dir=folder)
    HlsBackend.compile, HlsBackend.size_fifos = timed(compile_, "compile"), timed(size, "size FIFOs")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            report = pipeline.build(path, board, tempfile.mkdtemp(dir=folder))
            seconds["build"] = time.perf_counter() - t0
    finally:
        HlsBackend.compile, HlsBackend.size_fifos = compile_, size
        if cache is None:
            del os.environ["FPGAQ_CACHE"]
        else:
            os.environ["FPGAQ_CACHE"] = cache
    seconds["runs"] = report.fifos["runs"]
    seconds["depth"] = sum(s["depth"] for s in report.fifos["streams"].values())
    return seconds


def time_finn(path: Path, board: str, folder: Path, finn_python: str) -> float | None:
    """Seconds of FINN's estimate-only builder steps (bench/finn_network_estimates.py) at fpgaq's default folding,
    its process start included; None where FINN failed."""
    target = pipeline.Target.of(board)
    graph = pipeline.load(path)
    folding = pipeline.fold(graph, target).layers
    dots = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
    spec = {"part": target.board.part, "clock_ns": target.clock_ns, "threshold_pe": folding[dots[0].name][1],
            "depthwise": any(getattr(n, "depthwise", False) for n in graph.nodes),
            "dots": [{"pe": folding[n.name][0], "simd": folding[n.name][1]} for n in dots]}  # fmt: skip
    (folder / f"{path.stem}.finn.json").write_text(json.dumps(spec))
    t0 = time.perf_counter()
    result = finn_side(["finn_network_estimates.py", str(path), str(folder / f"{path.stem}.finn.json")], finn_python)
    seconds = time.perf_counter() - t0
    if not result or not result.get("ok"):
        print(f"{path.stem}: FINN failed: {(result or {}).get('error')}", file=sys.stderr)
        return None
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=["mobilenet_v1_4b", "cnv_1w1a"])
    parser.add_argument("--profile", type=Path, help="write cProfile statistics of the timed steps here")
    parser.add_argument("--keep", type=Path, help="folder for the exported QONNX files, reused when present")
    parser.add_argument("--no-build", action="store_true", help="time the front-end steps only")
    parser.add_argument("--finn-python", default=os.environ.get("FINN_PYTHON"), help="finn-plus's Python")
    args = parser.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    build = () if args.no_build else ("compile", "size FIFOs", "build")
    finn = ("FINN estimate steps",) if args.finn_python else ()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        columns = [*STEPS, "plain front end", "max front end", "max / plain", *build, *finn]
        print("| network | " + " | ".join(columns) + " |")
        print("|---" * (len(columns) + 1) + "|")
        for name in args.networks:
            s, board = time_network(name, folder, profiler)
            plain = s["load"] + s["fold"] + s["plan"] + s["estimate"] + s["emit"]
            searched = plain - s["fold"] + s["fold max"]
            cells = [f"{s[k]:.2f}" for k in STEPS] + [f"{plain:.2f}", f"{searched:.2f}", f"{searched / plain:.2f}x"]
            if build:
                b = time_build(folder / f"{name}.onnx", board, Path(tmp))
                sizing = f"{b['size FIFOs']:.2f} ({b['runs']} runs, depths {b['depth']:,})"
                cells += [f"{b['compile']:.2f}", sizing, f"{b['build']:.2f}"]
            if finn:
                f = time_finn(folder / f"{name}.onnx", board, Path(tmp), args.finn_python)
                cells.append("failed" if f is None else f"{f:.2f}")
            print(f"| {name} | " + " | ".join(cells) + " |", flush=True)
    if profiler:
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
