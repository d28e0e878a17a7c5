"""The sweep of docs/sweeps.md, timed with 1 and with 2 workers: the same spec run into two folders, the rows
compared (every number but the build times must match: the points are seeded and single-threaded), the wall times
and the Pareto points written to docs/sweeps.md.

    python bench/sweep.py [--spec examples/sweep_digits.yaml] [--workers 1 2] [--out /tmp/fpgaq-sweep]
                          [--doc docs/sweeps.md]

A folder that already holds finished points is resumed, not rerun: remove it to time a sweep from scratch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fpgaq.sweep import load_spec  # noqa: E402
from fpgaq.sweep.report import fronts  # noqa: E402
from fpgaq.sweep.runner import sweep  # noqa: E402

MARKER = "## Measured example"
TIMES = ("build_s", "report", "point")


def _row_key(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in TIMES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=str(ROOT / "examples" / "sweep_digits.yaml"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default="/tmp/fpgaq-sweep")
    parser.add_argument("--doc", default=None, help="write the measured section into this file (docs/sweeps.md)")
    args = parser.parse_args()
    spec = load_spec(args.spec)
    walls, results = {}, {}
    for workers in args.workers:
        out = Path(args.out) / f"workers{workers}"
        start = time.perf_counter()

        def show(kind: str, counts: dict, row: dict) -> None:
            print(f"  {kind} {row.get('point', '')} {counts}", flush=True)

        rows = sweep(spec, out, workers=workers, on_event=show)
        walls[workers] = time.perf_counter() - start
        results[workers] = rows
        print(f"{workers} worker(s): {len(rows)} points in {walls[workers]:.0f} s", flush=True)
    first = args.workers[0]
    same = all([_row_key(r) for r in results[w]] == [_row_key(r) for r in results[first]] for w in results)
    print(f"identical results across worker counts: {same}")
    rows = results[first]
    front = fronts(rows)
    table = ["| point | method | W | P | C-sim accuracy | widest accumulator | LUT | FF | BRAM18 | FPS |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for i in front["accuracy"]:
        r = rows[i]
        table.append(f"| {r['point']} | {r['method']} | {r['weight_bits']} | {r['accumulator_bits']} | "
                     f"{r['csim_accuracy']:.4f} | {r['widest_accumulator']} | {r['lut']:,} | {r['ff']:,} | "
                     f"{r['bram18']} | {r['fps']:,.0f} |")  # fmt: skip
    failed = [r for r in rows if r["status"] != "ok"]
    lines = [MARKER, "", f"`python bench/sweep.py --workers {' '.join(map(str, args.workers))}` on this 2-core "
             f"machine, spec `{Path(args.spec).name}` ({len(rows)} points, {len(failed)} failed):", ""]  # fmt: skip
    lines += [f"- {w} worker{'s' if w > 1 else ''}: {walls[w] / 60:.1f} min wall" for w in args.workers]
    if len(walls) > 1:
        lines.append(f"- speed-up {walls[first] / walls[args.workers[-1]]:.2f}x; identical results: {same}")
    lines += ["", "The accuracy-vs-LUT Pareto front (estimated LUTs):", "", *table, ""]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.doc:
        doc = Path(args.doc)
        old = doc.read_text()
        head, _, rest = old.partition(MARKER)
        tail = rest.split("\n## ", 1)
        doc.write_text(head + text + ("\n## " + tail[1] if len(tail) > 1 else ""))


if __name__ == "__main__":
    main()
