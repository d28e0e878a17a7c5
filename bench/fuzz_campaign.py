"""The long fuzz campaign: the strategies of tests/fuzz_graphs.py with many more examples, every command run in
its own process as a user runs it (so a crash is a signal, a hang a timeout), and a count per outcome.

    python bench/fuzz_campaign.py [--valid 60] [--mutated 400] [--seed 0] [--keep DIR]

Exit 1 when any case ends otherwise than: exit 0 (and, for a build, C-simulation equal to the golden model on
every element), or exit 2 with exactly one `error: ` line; or touches a file outside its --out folder.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz_graphs import mutations, qonnx_graphs  # noqa: E402

TIMEOUT = 600


def fpgaq(*args, cwd=None):
    """(outcome, stderr): 'ok', 'error' (exit 2, one line), or what went wrong."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "fpgaq.cli", "--quiet", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired:
        return "hang", ""
    lines = proc.stderr.strip().splitlines()
    if proc.returncode == 0:
        return "ok", proc.stderr
    if proc.returncode < 0:
        return f"signal {-proc.returncode}", proc.stderr
    one_line = sum(line.startswith("error: ") for line in lines) == 1 and "Traceback" not in proc.stderr
    if proc.returncode == 2 and one_line:
        return "error", proc.stderr
    return f"exit {proc.returncode}", proc.stderr


def tree(root: Path, skip: Path) -> dict:
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != skip]
        for name in files:
            stat = os.lstat(os.path.join(folder, name))
            found[os.path.join(folder, name)] = (stat.st_size, stat.st_mtime_ns)
    return found


def simulate_equals_golden(model: Path, out: Path, shape) -> bool:
    from fpgaq import frontend
    from fpgaq.ir.execute import run

    x = np.random.default_rng(0).normal(0, 2, size=(64, *shape)).astype(np.float32)
    with tempfile.TemporaryDirectory() as io:
        np.save(Path(io) / "x.npy", x)
        outcome, _ = fpgaq("csim", out, "--input", Path(io) / "x.npy", "--output", Path(io) / "y.npy")
        return outcome == "ok" and np.array_equal(np.load(Path(io) / "y.npy"), run(frontend.load(model), x))


def campaign(valid: int, mutated: int, seed: int, keep: Path | None) -> dict:
    counts: dict = collections.Counter()
    failures: list = []
    work = Path(keep or tempfile.mkdtemp(prefix="fpgaq-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    checks = [HealthCheck.too_slow, HealthCheck.data_too_large]
    common = dict(deadline=None, suppress_health_check=checks, database=None, phases=[Phase.generate])

    @settings(max_examples=valid, **common)
    @given(case=qonnx_graphs(), folding=st.sampled_from(["default", "max"]))
    def valid_graphs(case, folding):
        model, shape = case
        folder = Path(tempfile.mkdtemp(dir=work, prefix="valid-"))
        onnx.save(model, str(folder / "m.onnx"))
        extra = ["--target-fps", "max"] if folding == "max" else []
        outcome, err = fpgaq("build", folder / "m.onnx", "--board", "pynq-z2", "--out", folder / "out", *extra)
        if outcome == "ok" and not simulate_equals_golden(folder / "m.onnx", folder / "out", shape):
            outcome = "csim differs from golden"
        counts[f"valid: {outcome}"] += 1
        if outcome != "ok":
            failures.append({"case": str(folder), "outcome": outcome, "stderr": err[-2000:]})

    seeds = [onnx.load(str(p)) for p in sorted((work / "seeds").glob("*.onnx"))] if (work / "seeds").exists() else []
    if not seeds:
        seeds = _export_seeds(work / "seeds")

    @settings(max_examples=mutated, **common)
    @given(data=st.data())
    def mutated_exports(data):
        base = seeds[data.draw(st.integers(0, len(seeds) - 1))]
        kind, blob, extra = data.draw(mutations(base))
        root = Path(tempfile.mkdtemp(dir=work, prefix=f"mut-{kind}-"))
        (root / "in").mkdir()
        (root / "in" / "m.onnx").write_bytes(blob)
        for name, content in extra.items():
            (root / "in" / name).write_bytes(content)
        before = tree(root, root / "out")
        outcome, err = fpgaq("build", root / "in" / "m.onnx", "--board", "pynq-z2", "--out", root / "out")
        touched = tree(root, root / "out") != before
        if outcome == "ok":
            shape = json.loads((root / "out" / "report.json").read_text())["input"]["shape"]
            if not simulate_equals_golden(root / "in" / "m.onnx", root / "out", shape):
                outcome = "csim differs from golden"
        if touched and outcome in ("ok", "error"):
            outcome = "touched a file outside --out"
        counts[f"mutated {kind}: {outcome}"] += 1
        if outcome not in ("ok", "error"):
            failures.append({"case": str(root), "outcome": outcome, "stderr": err[-2000:]})

    np.random.seed(seed)
    valid_graphs()
    mutated_exports()
    return {"counts": dict(sorted(counts.items())), "failures": failures, "work": str(work)}


def _export_seeds(folder: Path) -> list:
    """Real Brevitas exports to mutate: the test suite's MLP and CNN, both exporters."""
    from tests.conftest import export
    from tests.models import build

    folder.mkdir(parents=True, exist_ok=True)
    seeds = []
    for name in ("mlp_float_bias", "cnn", "mlp_rounding_modes"):
        for dynamo in (False, True):
            model, shape = build(name)
            sub = folder / f"{name}_{int(dynamo)}"
            sub.mkdir(exist_ok=True)
            with contextlib.redirect_stdout(sys.stderr):  # the exporter's progress lines stay off the JSON
                path = export(model, shape, sub / "model.onnx", dynamo)
            seeds.append(onnx.load(path))
    return seeds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--valid", type=int, default=60)
    parser.add_argument("--mutated", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temporary one)")
    args = parser.parse_args()
    start = time.perf_counter()
    result = campaign(args.valid, args.mutated, args.seed, args.keep)
    result["seconds"] = round(time.perf_counter() - start)
    print(json.dumps(result, indent=1))
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
