"""The timed dataflow simulation of a generated design, and FIFO sizing with it.

The C-simulation library (csim.py) is compiled with fpgaq's own hls_stream.h (hls/sim): untimed it is Vitis
csim's unbounded queue; in a timed run (fpgaq_simulate in bridge.cpp) every kernel of the top is a coroutine
(all on the calling thread) over FIFOs bounded at given depths, with a clock per kernel (hls/sim/fpgaq_sim.h
says how time is kept).
One library serves both, so sizing the FIFOs never recompiles anything.

FIFO sizing (fpgaq build): small depths that keep the design's full throughput without deadlock. A trial is a
timed run of 4 frames at given depths, the input as fast as the design takes it; it passes with no deadlock and
an interval of at most T. Runs go `jobs` at a time on parallel threads (a run's state is per thread).
1. Unbounded FIFOs: the steady-state interval T (the bottleneck), and every FIFO's largest occupancy: at those
   depths no write of that run waits, so a run there is the same run (the first committed depths).
2. At once: unbounded FIFOs with the input's words spread evenly over T cycles a frame (the rate the bottleneck
   lets in; a source that floods the first FIFOs would make them look deep), every FIFO's largest occupancy the
   start depths; and every FIFO at depth 2 (Vitis's minimum), which ends the sizing where it passes (many chains
   do: no kernel's bursts outrun its neighbour's rate). The start depths, where a trial passes, are committed.
3. The FIFOs above 2, deepest first (they free the most memory), each shrunk with the others at their committed
   depths. After a FIFO that passed at 2, the next ones are tried at 2 in a row, 1 and 2 at once, then 4 and 8,
   and so on while they pass; in a row that fails, the longest prefix that passes is found by a k-ary search,
   and the FIFO after it searched. A FIFO's search: its committed depth less one (many FIFOs need all the depth
   the paced run gave them) and 2 first (or, where a FIFO searched before started as deep, as the same kernels'
   FIFOs in repeated blocks do, that one's result and the depth a 32nd below it); then, once two depths failed
   without a deadlock, the depth where the line through them reaches T (near the answer a frame's cycles often
   fall about linearly with the depth) and the depth a 32nd below it, while such steps halve the interval left,
   else depths that cut it evenly and into equal ratios. It ends when the deepest depth seen to fail is within
   1/32 of the committed one (exact below 64 words).
Every trial holds all the depths committed so far, and only a passing trial is committed, so the committed
depths always passed a run together. A deeper FIFO never slows the design, so a depth that failed fails again
once others are shallower: what a failing trial teaches stays true. After each passing trial, a FIFO whose
writer never waited takes its largest occupancy in that run (the same run again); where that changed the last
committed trial's depths, one more run confirms the final ones (else that trial's are kept).
Measured on a 2-core machine (docs/benchmarks.md, Build time), against the former search (each FIFO from
[2, start depth] cut k + 1 ways on k cores): CNV-w1a1 67 runs (89), 2.3 s (2.7); MobileNet-v1 0.25 at 128 137 runs
(171), 24.7 s (27.3); the depths' total 0.8% and 0.4% deeper, the same estimated LUTs, flip-flops and BRAM.
MobileNet-v1 1.0 at 224: 198 runs, 432 s (runs of 3 to 7 s each; the former search took about half an hour).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fpgaq.backends.hls import target
from fpgaq.errors import FpgaqError

SIZING_FRAMES = 4  # frames 0 and 1 fill the pipeline; 1 -> 3 measure the steady state
MIN_DEPTH = 2  # Vitis's default and smallest stream depth
SEARCH_TOLERANCE = 32  # a FIFO's search ends within 1/32 of its depth (exact below 64 words)
_STREAM_PRAGMA = re.compile(r"^\s*#pragma HLS STREAM variable = (\w+) depth = (\d+)\s*$", re.MULTILINE)


class SimulationError(FpgaqError):
    """The timed simulation could not run."""


class Deadlock(FpgaqError):
    """The design deadlocked in the timed simulation (a finding about the design, exit 3)."""

    exit_code = 3

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report


def declared_depths(top_cpp: str) -> dict[str, int]:
    """Stream name -> depth, as the STREAM pragmas of a generated top.cpp declare them."""
    return {name: int(depth) for name, depth in _STREAM_PRAGMA.findall(top_cpp)}


@dataclass
class Run:
    """One timed run: the output bytes and the simulation's report."""

    output: np.ndarray
    report: dict

    @property
    def deadlock(self) -> bool:
        return bool(self.report["deadlock"])

    def interval(self) -> int | None:
        """Cycles per frame in steady state (None with fewer than two frames)."""
        done = self.report["done"]
        if len(done) < 2 or min(done) < 0:
            return None
        first = 1 if len(done) >= 3 else 0  # frame 0 includes the pipeline's fill
        return round((done[-1] - done[first]) / (len(done) - 1 - first))

    def latency(self) -> int | None:
        """Cycles from the first input word of frame 0 to its last output word."""
        start, done = self.report["started"][0], self.report["done"][0]
        return done - start if done >= 0 and start >= 0 else None

    def fifos(self) -> dict[str, dict]:
        return {f["name"]: f for f in self.report["fifos"]}


def load_weights(lib: ctypes.CDLL, weights: tuple[bytes, ...]) -> None:
    """Write the UltraRAM tables (host.json "weights" order, the bytes of fpgaq.host.pack_rows) into a compiled
    library, as the host writes them over AXI4-Lite. Done before every run: libraries of identical sources are one
    loaded library, which builds that differ only in these weights share."""
    if not weights:
        return
    fill = lib.fpgaq_load_weights
    fill.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_longlong]
    fill.restype = ctypes.c_int
    for index, data in enumerate(weights):
        if fill(index, data, len(data)) != 0:
            raise SimulationError(f"weight table {index} ({len(data)} bytes) does not match the compiled design; "
                                  "rebuild the folder")  # fmt: skip


class TimedSim:
    """The timed simulation entry points of a compiled C-simulation library (a ctypes.CDLL); `weights`: its
    UltraRAM tables' bytes (load_weights)."""

    def __init__(self, lib: ctypes.CDLL, in_bytes: int, out_bytes: int, weights: tuple[bytes, ...] = ()):
        self._simulate = lib.fpgaq_simulate
        self._simulate.argtypes = [ctypes.POINTER(ctypes.c_ubyte), ctypes.POINTER(ctypes.c_ubyte), ctypes.c_int,
                                   ctypes.c_longlong, ctypes.c_char_p]  # fmt: skip
        self._simulate.restype = ctypes.c_int
        self._report = lib.fpgaq_sim_report
        self._report.argtypes = [ctypes.c_char_p, ctypes.c_longlong]
        self._report.restype = ctypes.c_longlong
        self.in_bytes, self.out_bytes = in_bytes, out_bytes
        self._lib, self._weights = lib, weights

    def load(self) -> None:
        """Write this design's UltraRAM tables into the library (load_weights)."""
        load_weights(self._lib, self._weights)

    def run(self, words: np.ndarray, depths: dict[str, int], pace: int = 0, load: bool = True) -> Run:
        """Raw input bytes (N, input bytes per frame) through the design with FIFO depths (0: unbounded; streams
        not named get 2); with pace > 0 a frame's words are spread evenly over `pace` cycles (word w of frame f
        not before cycle f * pace + w * pace / words per frame), else they come as fast as the design takes them."""
        words = np.ascontiguousarray(words, dtype=np.uint8)
        if words.ndim != 2 or words.shape[1] != self.in_bytes or len(words) == 0:
            raise SimulationError(f"input words must be (N >= 1, {self.in_bytes}) bytes, not {words.shape}")
        out = np.zeros((len(words), self.out_bytes), dtype=np.uint8)
        spec = "".join(f"{name} {int(depth)}\n" for name, depth in depths.items()).encode()
        pointer = ctypes.POINTER(ctypes.c_ubyte)
        if load:  # runs on several threads at once share the tables: the caller loads them once before
            self.load()
        status = self._simulate(words.ctypes.data_as(pointer), out.ctypes.data_as(pointer), len(words), pace, spec)
        if status == 4:
            raise SimulationError("this C-simulation library was built without fpgaq's simulation streams; rebuild")
        size = self._report(None, 0)
        buf = ctypes.create_string_buffer(size + 1)
        self._report(buf, size + 1)
        report = json.loads(buf.value.decode())
        if report["faults"]:
            raise SimulationError(f"a kernel read {report['faults']} words from empty streams (a library defect)")
        return Run(out, report)


def deadlock_message(report: dict, streams: dict | None = None) -> str:
    """One line naming a deadlock: preferably a join, one of whose inputs is full while its reader waits for data
    on another (a fork whose branches buffer differently). `streams`: name -> {"writer", "reader"} of the build
    (a reader that never got to read a FIFO is known only from it)."""
    streams = streams or {}
    blocked = {b["process"]: b for b in report["blocked"]}
    for f in report["deadlock_fifos"]:
        reader = f["reader"] or streams.get(f["name"], {}).get("reader") or ""
        waits = blocked.get(reader)
        if f["present"] >= f["depth"] > 0 and waits and waits["waits_for"] == "data" and waits["fifo"] != f["name"]:
            return (f"deadlock: {f['writer']} waits for space in {f['name']} (full at depth {f['depth']}), which "
                    f"{reader} reads only after data arrives in {waits['fifo']} (empty)")  # fmt: skip
    if not report["blocked"]:
        return "deadlock"
    first = report["blocked"][0]
    depth = {f["name"]: f["depth"] for f in report["deadlock_fifos"]}.get(first["fifo"], "?")
    state = "full" if first["waits_for"] == "space" else "empty"
    return f"deadlock: {first['process']} waits for {first['waits_for']} in {first['fifo']} ({state}, depth {depth})"


def size_fifos(
    sim: TimedSim, streams: list[str], frame_bytes: int, jobs: int | None = None, exact: bool = False
) -> tuple[dict[str, int], dict]:
    """(stream name -> depth, {"interval", "runs"}): depths found to keep full throughput without deadlock, each
    shrunk as far as a timed run confirms (module docstring), `jobs` runs at a time (default: every core)."""
    words = np.zeros((SIZING_FRAMES, frame_bytes), dtype=np.uint8)  # the kernels' timing does not depend on data
    unbounded = dict.fromkeys(streams, 0)
    free = sim.run(words, unbounded)
    if free.deadlock:
        raise SimulationError(deadlock_message(free.report) + " with unbounded FIFOs (a library defect)")
    interval = free.interval()
    jobs = max(1, jobs or os.cpu_count() or 1)
    floor = dict.fromkeys(streams, MIN_DEPTH)
    sim.load()  # the UltraRAM tables, once: the runs below only read them
    with ThreadPoolExecutor(jobs) as pool:
        search = _Search(sim, words, interval, pool, 0 if exact else SEARCH_TOLERANCE)
        paced, least = search.runs([(unbounded, interval), (floor, 0)])
        if search.passes(least):  # every FIFO at the least depth keeps the rate (many chains): done
            return floor, {"interval": interval, "runs": search.count + 1}
        search.commit(unbounded, free)
        occupancy = paced.fifos()
        start = {n: min(search.best[n], max(MIN_DEPTH, occupancy[n]["max_occupancy"])) for n in streams}
        if start != search.best:
            search.first_passing([start])
        order = sorted((n for n in streams if search.best[n] > MIN_DEPTH), key=lambda n: -search.best[n])
        i, gallop = 0, 0  # gallop: how many FIFOs in a row to try at the least depth at once (0: one, searched)
        while i < len(order):
            name = order[i]
            if search.best[name] <= search.lo[name]:
                i += 1
            elif gallop == 0 or search.lo[name] > MIN_DEPTH:
                search.depth(name, jobs)
                gallop = int(search.best[name] == MIN_DEPTH)
                i += 1
            else:  # the next `gallop` FIFOs in order at the least depth at once, and twice as many, ...
                ends = sorted({min(len(order), i + gallop * 2**j) for j in range(jobs)})
                passed = search.first_passing([{**search.best, **dict.fromkeys(order[i:e], MIN_DEPTH)} for e in ends])
                if passed == len(ends):
                    i, gallop = ends[-1], gallop * 2**jobs
                    continue
                if passed:
                    i = ends[passed - 1]
                group = order[i : ends[passed]]  # fails at the least depth; its longest prefix that does not
                if len(group) > 1:
                    i += search.prefix(group, jobs)
                search.lo[order[i]] = MIN_DEPTH + 1
                gallop = 0
        if search.best != search.last:  # the last commit's shortening, confirmed by a run at every final depth
            search.first_passing([search.best], confirm=True)
    return search.best, {"interval": interval, "runs": search.count + 1}


class _Search:
    """The state of a FIFO sizing: the depths that passed (`best`), per FIFO the least depth not seen to fail
    (`lo`: below it, that FIFO failed with every other FIFO at least as deep as now, so it still would), the runs."""

    def __init__(self, sim: TimedSim, words: np.ndarray, interval: int, pool: ThreadPoolExecutor, tolerance: int):
        self.sim, self.words, self.interval, self.pool = sim, words, interval, pool
        self.tolerance = tolerance  # a search ends within depth // tolerance words (0: exact)
        self.count = 0
        self.best: dict[str, int] = {}
        self.last: dict[str, int] = {}  # the depths of the run that `best` comes from
        self.lo: dict[str, int] = {}
        self.found: dict[int, int] = {}  # a searched FIFO's depth before -> after

    def runs(self, calls: list[tuple[dict[str, int], int]]) -> list[Run]:
        """Timed runs at (depths, pace), on parallel threads."""
        self.count += len(calls)
        if len(calls) == 1:
            return [self.sim.run(self.words, calls[0][0], pace=calls[0][1], load=False)]
        return list(self.pool.map(lambda c: self.sim.run(self.words, c[0], pace=c[1], load=False), calls))

    def slack(self, depth: int) -> int:
        """How far above the least passing depth a search may end."""
        return depth // self.tolerance if self.tolerance else 0

    def passes(self, run: Run) -> bool:
        return not run.deadlock and run.interval() <= self.interval

    def commit(self, depths: dict[str, int], run: Run) -> None:
        self.best, self.last = _same_run(depths, run), depths
        for name, depth in self.best.items():
            self.lo[name] = min(self.lo.get(name, MIN_DEPTH), depth)

    def first_passing(self, trials: list[dict[str, int]], confirm: bool = False, seen: dict | None = None) -> int:
        """Runs `trials` (each no deeper than the one before) at once and commits the last of the leading ones
        that pass; returns how many lead. `confirm`: a run of `best`, whose failure restores the depths that ran.
        `seen`: trial index -> its run's interval, filled for the runs that failed without a deadlock."""
        checks = self.runs([(t, 0) for t in trials])
        passed = [self.passes(c) for c in checks]
        lead = passed.index(False) if False in passed else len(passed)
        if lead:
            self.commit(trials[lead - 1], checks[lead - 1])
        elif confirm:
            self.best = self.last
        if seen is not None:
            seen.update({i: c.interval() for i, c in enumerate(checks) if not passed[i] and not c.deadlock})
        return lead

    def depth(self, name: str, jobs: int) -> None:
        """The least depth of one FIFO that passes with the others as they are, to within 1 / SEARCH_TOLERANCE,
        `jobs` depths at once between the least not seen to fail (lo) and the current (hi): first hi - 1 (many
        FIFOs need all the depth the paced run gave them) and 2 (many need none), or the depth a FIFO that started
        as deep ended at and the one a slack below; then, once two depths have failed without a deadlock, the
        depth where the line through the deepest of them and one at least 3 shallower reaches the interval (near
        the answer a frame's cycles often fall about linearly with the depth) and the depth a slack below it,
        while such steps halve [lo, hi]; else depths that cut [lo, hi] evenly and into equal ratios."""
        first, failed, width = True, {}, 0  # failed: depth -> interval; width: the last line's interval
        start = self.best[name]
        while self.best[name] - self.lo[name] > self.slack(self.best[name]):
            lo, hi = self.lo[name], self.best[name]
            arithmetic = [lo + (hi - lo) * i // (jobs + 1) for i in range(jobs, 0, -1)]
            geometric = [round(lo * (hi / lo) ** (i / (jobs + 1))) for i in range(jobs, 0, -1)]
            cuts = [d for pair in zip(arithmetic, geometric) for d in pair]
            guess = _secant(failed, self.interval) if 2 * (hi - lo) <= width or not width else 0
            like = self.found.get(start, 0)  # a FIFO that started as deep (the same kernels, often) ended there
            if first and lo < like < hi:
                tries = [like, like - 1 - self.slack(like), *cuts]
            elif first:
                tries = [hi - 1, lo] if lo == MIN_DEPTH else [hi - 1, *cuts]
            elif lo < guess < hi:
                tries, width = [guess, guess - 1 - self.slack(guess), *cuts], hi - lo
            else:
                tries, width = cuts, 0
            first = False
            tries = sorted({min(max(d, lo), hi - 1) for d in tries[:jobs]}, reverse=True)
            seen: dict[int, int] = {}
            lead = self.first_passing([{**self.best, name: d} for d in tries], seen=seen)
            failed.update({tries[i]: t for i, t in seen.items()})
            if lead < len(tries):
                self.lo[name] = max(self.lo[name], tries[lead] + 1)
        self.found[start] = self.best[name]

    def prefix(self, group: list[str], jobs: int) -> int:
        """The longest prefix of `group` (which fails at the least depth) that passes at the least depth, committed;
        returns its length."""
        lo, hi = 0, len(group) - 1  # lo: passes (committed); hi + 1: fails
        while lo < hi:
            tries = sorted({lo + ((hi - lo) * i + jobs) // (jobs + 1) for i in range(1, jobs + 1)})
            lead = self.first_passing([{**self.best, **dict.fromkeys(group[:p], MIN_DEPTH)} for p in tries])
            if lead:
                lo = tries[lead - 1]
            if lead < len(tries):
                hi = tries[lead] - 1
        return lo


def _secant(failed: dict[int, int], interval: int) -> int:
    """The depth where the line through two failed (depth, interval) points reaches `interval`: the deepest point
    and the deepest one at least 3 shallower (else the shallowest); 0 without two points on a falling line."""
    points = sorted(failed.items())
    if len(points) < 2:
        return 0
    d2, t2 = points[-1]
    apart = [p for p in points if d2 - p[0] >= 3]
    d1, t1 = apart[-1] if apart else points[0]
    if not t1 > t2 > interval:
        return 0
    return d2 + -(-(t2 - interval) * (d2 - d1) // (t1 - t2))


def _same_run(depths: dict[str, int], run: Run) -> dict[str, int]:
    """`depths`, where `run` ran, with every FIFO whose writer never waited for a slot at its largest occupancy (at
    least 2): a write waits only for an entry `depth` places earlier that was not read before, so the run at these
    depths is the same run."""
    fifos = run.fifos()
    out = dict(depths)
    for name, depth in depths.items():
        f = fifos[name]
        least = max(MIN_DEPTH, f["max_occupancy"])
        if f["full_stalls"] == 0 and (depth == 0 or least < depth):
            out[name] = least
    return out


def check_depths(sim: TimedSim, depths: dict[str, int], frame_bytes: int, streams: dict | None = None) -> str | None:
    """A warning when FIFOs at `depths` (e.g. forced by --fifo-depth) deadlock or cost throughput, else None
    (`streams`: as deadlock_message's)."""
    words = np.zeros((SIZING_FRAMES, frame_bytes), dtype=np.uint8)
    forced = sim.run(words, depths)
    if forced.deadlock:
        where = "timed simulation at these FIFO depths; sized depths do not"
        return f"{deadlock_message(forced.report, streams)} ({where})"
    free = sim.run(words, dict.fromkeys(depths, 0))
    if forced.interval() > free.interval():
        return (f"these FIFO depths cost throughput: {forced.interval():,} cycles per frame in the timed simulation "
                f"against {free.interval():,} with deep enough FIFOs")  # fmt: skip
    return None


def summary(run: Run, clock_mhz: float) -> dict:
    """The "simulation" section of report.json for one run."""
    interval, latency = run.interval(), run.latency()
    return {
        "frames": len(run.report["done"]),
        "cycles_per_frame": interval,
        "fps": clock_mhz * 1e6 / interval if interval else None,
        "latency_cycles": latency,
        "latency_us": latency / clock_mhz if latency is not None else None,
        "kernels": [
            {k: p[k] for k in ("name", "busy", "stall_in", "stall_out")} for p in run.report["processes"] if p["kernel"]
        ],
        "fifos": [{k: f[k] for k in ("name", "depth", "max_occupancy", "full_stalls")} for f in run.report["fifos"]],
    }


def load(lib_path: Path) -> ctypes.CDLL:
    return target.load(lib_path)
