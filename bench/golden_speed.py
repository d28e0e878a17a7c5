"""The golden int64 executor's speed against fpgaq's C-simulation, on the same exported networks and frames.

    python bench/golden_speed.py [--networks cnn residual residual32 residual64 cnv_1w1a] [--frames 64]
                                 [--baseline HEAD] [--profile residual64]

Each network (a test model of tests/models.py, the residual CNN of bench/scale.py at NxN as residualN, or
Brevitas' cnv_1w1a) is exported, built for pynq-z2 at the default folding, and run on the same random frames by
fpgaq.ir.execute.run (the whole batch in one call, as the tests and the sweep call it) and by the C-simulation on
one core. With --baseline REV, execute.py as it was at git revision REV is timed beside the current one. Every
output is checked: the executors and the C-simulation equal each other on every element. Frames per second and
the ratio golden / C-sim are printed; --profile NAME prints cProfile's top functions of the executor on NAME.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib.util
import os
import pstats
import subprocess
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
from fpgaq.backends.hls.csim import CSim  # noqa: E402
from fpgaq.ir import execute  # noqa: E402


def model_of(name: str):
    """(model, per-frame input shape) of a bench network name."""
    from tests.models import BUILDERS, FORK_BUILDERS, build

    if name in BUILDERS or name in FORK_BUILDERS:
        return build(name)
    if name.startswith("residual"):
        n = int(name.removeprefix("residual"))
        torch.manual_seed(0)
        return ResidualCNN(), (3, n, n)
    model, shape, _ = network(name)
    return model, shape


def executor_at(revision: str):
    """fpgaq/ir/execute.py as it was at a git revision, loaded as a module of its own."""
    source = subprocess.run(["git", "show", f"{revision}:fpgaq/ir/execute.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    spec = importlib.util.spec_from_loader(f"execute_{revision}", loader=None)
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, f"{revision}:fpgaq/ir/execute.py", "exec"), module.__dict__)
    return module


def fps(fn, x: np.ndarray, repeat: int = 3) -> tuple[float, np.ndarray]:
    """Frames per second of fn on the batch x (best of `repeat` runs after a one-frame warm-up), and its output."""
    fn(x[:1])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        y = fn(x)
        best = min(best, time.perf_counter() - start)
    return len(x) / best, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--networks", nargs="*", default=["cnn", "residual", "residual32", "residual64", "cnv_1w1a"])
    parser.add_argument("--frames", type=int, default=64)
    parser.add_argument("--baseline", help="a git revision whose execute.py is timed beside the current one")
    parser.add_argument("--profile", nargs="*", default=[], help="networks whose executor run is profiled")
    args = parser.parse_args()
    before = executor_at(args.baseline) if args.baseline else None
    rows = [
        "| network | frames | golden before | golden now | C-sim, 1 core | golden / C-sim |",
        "|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ.setdefault("FPGAQ_CACHE", str(folder / "cache"))
        for name in args.networks:
            model, shape = model_of(name)
            path = export(model, shape, folder / f"{name}.onnx")
            out = folder / f"{name}_build"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pipeline.build(path, "pynq-z2", out)
            graph = pipeline.load(path)
            x = np.random.default_rng(0).uniform(-1, 1, size=(args.frames, *shape)).astype(np.float32)
            fps_now, y_now = fps(functools.partial(execute.run, graph), x)
            fps_sim, y_sim = fps(CSim(out, jobs=1).run, x)
            np.testing.assert_array_equal(y_now, y_sim.reshape(y_now.shape))
            fps_before = "-"
            if before is not None:
                rate, y_before = fps(functools.partial(before.run, graph), x)
                np.testing.assert_array_equal(y_now, y_before)
                fps_before = f"{rate:.1f}"
            rows.append(f"| {name} | {args.frames} | {fps_before} | {fps_now:.1f} | {fps_sim:.1f} | "
                        f"{fps_now / fps_sim:.2f}x |")  # fmt: skip
            print(rows[-1], flush=True)
            if name in args.profile:
                profile = cProfile.Profile()
                profile.runcall(execute.run, graph, x)
                pstats.Stats(profile).sort_stats("tottime").print_stats(12)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
