"""`fpgaq sweep`: the points of a spec as Ray tasks, each result written to the sweep folder the moment it arrives.

The folder (DIR):
    sweep.json            the spec's shared settings; a folder holding another spec's sweep is refused
    points/ID/            one folder per point: model.onnx, build/ (report.html), point.json (its row), error.txt
    points.csv            one row per finished point, in the spec's order (rewritten atomically after each)
    sweep.html            the report (fpgaq.sweep.report), rewritten with the CSV

A point is finished when its point.json exists, holding the same parameters and settings: a rerun skips it, so
an interrupted sweep (Ctrl-C, a lost node) resumes where it stopped with no point lost or computed twice; a failed
point is finished too (its error recorded) unless --retry-failed. At most `workers` points run at once, locally (a
Ray instance with that many CPUs) or on a cluster (--address), each as one single-threaded process seeded from
the spec, so the numbers do not depend on the number of workers (only the build times do).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path

from fpgaq import escape
from fpgaq.outdir import write_atomic
from fpgaq.sweep.point import COLUMNS, run_point
from fpgaq.sweep.spec import Point, Spec, SweepError

MARKER = "sweep.json"


def _prepare(spec: Spec, out: Path) -> None:
    """Make `out` a sweep folder of this spec: a new or empty folder, or one a previous run of it wrote."""
    marker = out / MARKER
    settings = {"fpgaq_sweep": 1, **spec.settings()}
    if marker.is_file():
        try:
            recorded = json.loads(marker.read_text())
        except (OSError, ValueError):
            recorded = None
        if recorded != settings:
            differ = [k for k in settings if not isinstance(recorded, dict) or recorded.get(k) != settings[k]]
            raise SweepError(f"{escape.terminal(str(out))} holds a sweep of another spec ({', '.join(differ)} "
                             "differ); use another --out")  # fmt: skip
        return
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SweepError(f"{escape.terminal(str(out))} is not empty and holds no fpgaq sweep; use another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(marker, json.dumps(settings, indent=1) + "\n")


def _finished(out: Path, point: Point, retry_failed: bool) -> dict | None:
    path = out / "points" / point.ident / "point.json"
    try:
        row = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(row, dict) or any(row.get(k) != v for k, v in point.params().items()):
        return None
    if retry_failed and row.get("status") != "ok":
        return None
    return row


def _cell(value) -> str | int | float:
    return escape.csv(value) if isinstance(value, str) else value


def write_csv(out: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")  # RFC 4180: CR LF, CR and LF quoted
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k, "")) for k in COLUMNS})
    write_atomic(out / "points.csv", buffer.getvalue())


def _write(spec: Spec, out: Path, points: list[Point], rows: dict[str, dict]) -> None:
    from fpgaq.sweep.report import render_sweep

    ordered = [rows[p.ident] for p in points if p.ident in rows]
    write_csv(out, ordered)
    write_atomic(out / "sweep.html", render_sweep(spec, ordered))


def _probe(address: str) -> None:
    """A cluster address (HOST:PORT or ray://HOST:PORT) that accepts no connection is refused at once: Ray itself
    waits minutes for an absent head node."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise SweepError(f"--address {escape.terminal(address)} is not auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except (OSError, ValueError) as exc:
        raise SweepError(f"the Ray cluster at {escape.terminal(address)} is unreachable ({exc})") from None


def connect(address: str | None, workers: int | None) -> int:
    """Start (or join, with `address`) Ray; the number of points to run at once."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network calls of its own
    try:
        import ray
    except ImportError:
        raise SweepError("fpgaq sweep needs Ray: pip install 'fpgaq[sweep]' (or pip install ray)") from None
    try:
        if address is None:
            cpus = workers or os.cpu_count() or 1
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     object_store_memory=200 << 20)  # fmt: skip
        else:
            if address != "auto":
                _probe(address)
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            cpus = workers or int(ray.cluster_resources().get("CPU", 1))
    except SweepError:
        raise
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError, TimeoutError...
        ray.shutdown()
        where = f"the Ray cluster at {escape.terminal(address)}" if address else "a local Ray instance"
        raise SweepError(
            f"cannot start {where}: {escape.terminal(str(exc).splitlines()[0] if str(exc) else exc)}"
        ) from None
    return max(1, cpus)


def sweep(
    spec: Spec,
    out: str | os.PathLike,
    *,
    address: str | None = None,
    workers: int | None = None,
    retry_failed: bool = False,
    on_event: Callable[[str, dict, dict], None] | None = None,
) -> list[dict]:
    """Run every unfinished point of `spec` into `out`; the rows of all points, in the spec's order.
    on_event(kind, counts, row): "start" (row empty), "done" and "failed" as each point ends; counts has done,
    failed, running, total."""
    out = Path(out)
    _prepare(spec, out)
    points = spec.points()
    rows: dict[str, dict] = {}
    for point in points:
        row = _finished(out, point, retry_failed)
        if row is not None:
            rows[point.ident] = row
    todo = [p for p in points if p.ident not in rows]
    counts = {"done": sum(r.get("status") == "ok" for r in rows.values()), "total": len(points), "running": 0}
    counts["failed"] = len(rows) - counts["done"]
    event = on_event or (lambda kind, counts, row: None)
    event("start", dict(counts), {})
    if not todo:
        _write(spec, out, points, rows)
        return [rows[p.ident] for p in points]

    import ray

    limit = connect(address, workers)
    task = ray.remote(num_cpus=1, max_retries=0)(run_point)
    settings = spec.settings()
    pending: dict = {}
    try:
        queue = list(todo)
        while queue or pending:
            while queue and len(pending) < limit:
                point = queue.pop(0)
                folder = out.resolve() / "points" / point.ident
                pending[task.remote(settings, point.params(), str(folder))] = point
            counts["running"] = len(pending)
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=5.0)
            for ref in ready:
                point = pending.pop(ref)
                try:
                    row = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - the worker died (killed, out of memory): the point failed
                    row = {**point.params(), "status": "failed", "error": f"the worker failed: {exc}".splitlines()[0]}
                row["point"] = point.ident
                folder = out / "points" / point.ident
                folder.mkdir(parents=True, exist_ok=True)
                write_atomic(folder / "point.json", json.dumps(row, indent=1, sort_keys=True) + "\n")
                rows[point.ident] = row
                counts["done" if row["status"] == "ok" else "failed"] += 1
                counts["running"] = len(pending)
                _write(spec, out, points, rows)
                event("done" if row["status"] == "ok" else "failed", dict(counts), row)
    finally:
        for ref in pending:  # Ctrl-C or an error: finished points are on disk, the rest stop
            ray.cancel(ref, force=True)
        ray.shutdown()
    return [rows[p.ident] for p in points]
