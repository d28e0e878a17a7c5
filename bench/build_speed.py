"""Build time: seconds per build step for MobileNet-v1 4-bit (224x224, ZCU104) and CNV-w1a1 (32x32, PYNQ-Z2).

    python bench/build_speed.py [--networks mobilenet_v1_4b cnv_1w1a] [--profile FILE] [--keep DIR]

Steps timed, each on its own: export (Brevitas -> QONNX; skipped when --keep holds the file), load (lowering
to the integer IR), fold (the default folding, and the folding search of --target-fps max), plan (the kernel
plan of the searched folding, weights placed for the board), estimate and emit (generated sources). A plain
build is load + fold + plan + estimate + emit; a `--target-fps max` build has the search in place of the
default folding. The g++ compile and the FIFO sizing are not included. Networks as in bench/scale.py
(brevitas_examples, untrained weights, behind an 8-bit input quantizer). --profile writes cProfile statistics
of the steps after export to FILE (read with `python -m pstats FILE`; the profiler slows Python code, Fraction
arithmetic most); --keep reuses exported QONNX files in DIR.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from scale import export, network  # noqa: E402

from fpgaq import pipeline  # noqa: E402

STEPS = ("load", "fold", "fold max", "plan", "estimate", "emit")


def time_network(name: str, folder: Path, profiler: cProfile.Profile | None) -> dict[str, float]:
    """Seconds per step of one network's build."""
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
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="+", default=["mobilenet_v1_4b", "cnv_1w1a"])
    parser.add_argument("--profile", type=Path, help="write cProfile statistics of the timed steps here")
    parser.add_argument("--keep", type=Path, help="folder for the exported QONNX files, reused when present")
    args = parser.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print("| network | " + " | ".join(STEPS) + " | plain build | max build | max / plain |")
        print("|---" * (len(STEPS) + 4) + "|")
        for name in args.networks:
            s = time_network(name, folder, profiler)
            plain = s["load"] + s["fold"] + s["plan"] + s["estimate"] + s["emit"]
            searched = plain - s["fold"] + s["fold max"]
            cells = " | ".join(f"{s[k]:.2f}" for k in STEPS)
            print(f"| {name} | {cells} | {plain:.2f} | {searched:.2f} | {searched / plain:.2f}x |", flush=True)
    if profiler:
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
