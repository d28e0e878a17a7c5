"""The cycle model against the timed dataflow simulation, and the FIFO depths the simulation sizes.

    python bench/simulation.py [--frames 8] [--out docs/benchmarks.md]

Every test model (tests/models.py: BUILDERS and the residual block) at three foldings (PE = SIMD = 1, the
default, the largest), built for the PYNQ-Z2 with FIFOs sized by the simulation, then `fpgaq simulate` on
random input: estimated and simulated cycles per frame in steady state and first-frame latency, their ratio,
and the FIFO depths the build chose. FINN's convention for latency (the sum of the kernels' cycles) is printed
beside for comparison. Outputs are checked equal to the golden model on every run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from report import write_section  # noqa: E402

from fpgaq import frontend  # noqa: E402
from fpgaq.backends.hls.timed import Deadlock  # noqa: E402
from fpgaq.ir import graph as ir  # noqa: E402
from fpgaq.ir.execute import run  # noqa: E402
from fpgaq.pipeline import build_graph  # noqa: E402
from fpgaq.plan.folding import fold_limits  # noqa: E402
from fpgaq.simulate import simulate  # noqa: E402
from tests.conftest import export  # noqa: E402
from tests.models import BUILDERS, FORK_BUILDERS, build  # noqa: E402

FOLDINGS = ("ones", "default", "max")


def folding_spec(graph, folding: str):
    dots = [n for n in graph.nodes if isinstance(n, ir.DOT_PRODUCT_OPS)]
    return {
        "ones": {n.name: {"pe": 1, "simd": 1} for n in dots},
        "default": None,
        "max": {n.name: dict(zip(("pe", "simd"), fold_limits(n), strict=True)) for n in dots},
    }[folding]


def measure(name: str, work: Path, frames: int) -> list[dict]:
    model, shape = build(name)
    folder = work / name
    folder.mkdir()
    path = export(model, shape, folder / "model.onnx", dynamo=False)
    graph = frontend.load(path)
    x = np.random.default_rng(0).normal(0.0, 1.5, (frames, *shape)).astype(np.float32)
    rows = []
    for folding in FOLDINGS:
        out = folder / folding
        start = time.perf_counter()
        report = build_graph(graph, "pynq-z2", out, "model.onnx", folding=folding_spec(graph, folding))
        built = time.perf_counter() - start
        start = time.perf_counter()
        y, section = simulate(out, x)
        simulated = time.perf_counter() - start
        np.testing.assert_array_equal(y, run(graph, x))
        depths = sorted((s["depth"] for s in report.fifos["streams"].values()), reverse=True)
        rows.append({
            "model": name, "folding": folding, "section": section, "depths": depths, "runs": report.fifos["runs"],
            "sum_cycles": sum(k["cycles"] for k in report.estimate["kernels"]), "build_s": built,
            "simulate_s": simulated,
        })  # fmt: skip
        e = section["estimate"]
        print(f"{name:26s} {folding:8s} interval {e['cycles_per_frame']:7d} / {section['cycles_per_frame']:7d}   "
              f"latency {e['latency_cycles']:7d} / {section['latency_cycles']:7d}   FIFOs {depths[:4]} "
              f"({report.fifos['runs']} runs)", flush=True)  # fmt: skip
    return rows


def deadlock(work: Path) -> str:
    """The residual block with every FIFO forced to depth 2: the build's warning and the simulation's finding."""
    model, shape = build("residual")
    path = export(model, shape, work / "residual_two.onnx", dynamo=False)
    graph = frontend.load(path)
    out = work / "residual_two"
    report = build_graph(graph, "pynq-z2", out, "model.onnx", fifo_depth=2)
    x = np.zeros((4, *shape), dtype=np.float32)
    start = time.perf_counter()
    try:
        simulate(out, x)
    except Deadlock as exc:
        seconds = time.perf_counter() - start
        return (f"Forced to `--fifo-depth 2`, the residual block deadlocks; the build warns ({report.warnings[0]!r}) "
                f"and `fpgaq simulate` stops after {seconds:.2f} s with exit 3: `{exc}`.")  # fmt: skip
    raise AssertionError("the residual block at depth 2 did not deadlock")


def markdown(rows: list[dict], frames: int, finding: str) -> str:
    lines = [
        "## The cycle model against the timed dataflow simulation",
        "",
        f"`python bench/simulation.py --frames {frames}`: every test model (tests/models.py) at three foldings, "
        "built for the PYNQ-Z2 with FIFOs sized by the simulation, then `fpgaq simulate` on "
        f"{frames} random frames (outputs equal to the golden model on every run). Cycles per frame in steady "
        "state and first-frame latency (first input word to last output word), estimated (fpgaq.estimate) / "
        "simulated; FINN's latency convention (the sum of the kernels' cycles) beside. Every kernel's busy cycles "
        "equal its estimated cycles exactly (tests/hls/test_simulate.py); the intervals agree exactly, the "
        "latencies within the percentage shown. FIFOs: the deepest sized depths, and the timed runs the sizing "
        "took.",
        "",
        "| model | folding | cycles/frame est / sim | latency est / sim | error | sum of kernels (FINN) | FIFO depths "
        "(deepest) | sizing runs | simulate (s) |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    worst = 0.0
    for r in rows:
        s, e = r["section"], r["section"]["estimate"]
        error = e["latency_cycles"] / s["latency_cycles"] - 1
        worst = max(worst, abs(error), abs(e["cycles_per_frame"] / s["cycles_per_frame"] - 1))
        deep = ", ".join(str(d) for d in r["depths"] if d > 2)[:60] or "all 2"
        lines.append(
            f"| {r['model']} | {r['folding']} | {e['cycles_per_frame']:,} / {s['cycles_per_frame']:,} | "
            f"{e['latency_cycles']:,} / {s['latency_cycles']:,} | {100 * error:+.1f}% | {r['sum_cycles']:,} | "
            f"{deep} | {r['runs']} | {r['simulate_s']:.2f} |"
        )
    lines += ["", f"Largest disagreement: {100 * worst:.1f}% (the issue's bound: 10%).", "", finding, ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--models", nargs="*", default=[*BUILDERS, *FORK_BUILDERS])
    parser.add_argument("--out", default=None, help="write the section into this markdown file")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            rows += measure(name, Path(tmp), args.frames)
        finding = deadlock(Path(tmp))
    section = markdown(rows, args.frames, finding)
    print(section)
    if args.out:
        write_section(Path(args.out), "## The cycle model against the timed dataflow simulation", section)


if __name__ == "__main__":
    main()
