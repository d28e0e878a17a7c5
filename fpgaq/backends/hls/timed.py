"""The timed dataflow simulation of a generated design, and FIFO sizing with it.

The C-simulation library (csim.py) is compiled with fpgaq's own hls_stream.h (hls/sim): untimed it is Vitis
csim's unbounded queue; in a timed run (fpgaq_simulate in bridge.cpp) every kernel of the top is a coroutine
(all on the calling thread) over FIFOs bounded at given depths, with a clock per kernel (hls/sim/fpgaq_sim.h
says how time is kept).
One library serves both, so sizing the FIFOs never recompiles anything.

FIFO sizing (fpgaq build): small depths that keep the design's full throughput without deadlock.
1. Unbounded FIFOs: the steady-state interval T (the bottleneck).
2. Unbounded FIFOs again, the input's words spread evenly over T cycles a frame (the rate the bottleneck lets in;
   a source that floods the first FIFOs would make them look deep): every FIFO's largest occupancy. At depths
   of at least those occupancies no write of that run waits; a run at those depths with the input as fast as the
   design takes it confirms interval T (else step 1's occupancies, at which no write ever waits, are taken).
   First, one run with every FIFO at depth 2: where it keeps interval T without a deadlock (many chains do: no
   kernel's bursts outrun its neighbour's rate) those are the depths, the least there are, in one run.
3. The deepest FIFO first, each is shrunk to the smallest depth at which a timed run still has no deadlock and
   interval T, the others held at their current depths: a search over [2, current depth] (2 is Vitis's minimum)
   that tries as many depths at once as there are cores, in runs on parallel threads (a run's state is per
   thread), and keeps the smallest that passes. A deeper FIFO never slows the design, so what passes is an upper
   interval of depths: with one core this is a binary search, with k cores each round cuts the interval k + 1
   ways. Every accepted depth was confirmed by a run of the design with all the final depths up to that point.
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
    sim: TimedSim, streams: list[str], frame_bytes: int, jobs: int | None = None
) -> tuple[dict[str, int], dict]:
    """(stream name -> depth, {"interval", "runs"}): depths found to keep full throughput without deadlock, each
    shrunk as far as a timed run confirms (module docstring), `jobs` runs at a time (default: every core)."""
    words = np.zeros((SIZING_FRAMES, frame_bytes), dtype=np.uint8)  # the kernels' timing does not depend on data
    unbounded = {name: 0 for name in streams}
    free = sim.run(words, unbounded)
    if free.deadlock:
        raise SimulationError(deadlock_message(free.report) + " with unbounded FIFOs (a library defect)")
    interval = free.interval()
    paced = sim.run(words, unbounded, pace=interval).fifos()
    depths = {name: max(MIN_DEPTH, paced[name]["max_occupancy"]) for name in streams}
    runs = 2
    jobs = max(1, jobs or os.cpu_count() or 1)

    def keep(trials: list[dict[str, int]]) -> list[bool]:
        nonlocal runs
        runs += len(trials)
        if len(trials) == 1:
            checks = [sim.run(words, trials[0], load=False)]
        else:
            with ThreadPoolExecutor(len(trials)) as pool:
                checks = list(pool.map(lambda d: sim.run(words, d, load=False), trials))
        return [not c.deadlock and c.interval() <= interval for c in checks]

    sim.load()  # the UltraRAM tables, once: the runs below only read them
    floor = dict.fromkeys(streams, MIN_DEPTH)
    if depths != floor and keep([floor])[0]:  # every FIFO at the least depth keeps the rate (many chains): done
        return floor, {"interval": interval, "runs": runs}
    if not keep([depths])[0]:
        need = free.fifos()
        depths = {name: max(MIN_DEPTH, need[name]["max_occupancy"]) for name in streams}  # the unbounded schedule
    for name in sorted(streams, key=lambda n: -depths[n]):  # the deepest first: they free the most memory
        lo, hi = MIN_DEPTH, depths[name]  # hi keeps throughput; find the smallest depth that does
        first = True
        while lo < hi:
            if first:  # 2 among them: often the answer
                tries = sorted({lo + (hi - lo) * i // jobs for i in range(jobs)})
            else:
                tries = sorted({lo + (hi - lo) * i // (jobs + 1) for i in range(1, jobs + 1)})
            first = False
            passed = keep([{**depths, name: d} for d in tries])
            below = [d for d, ok in zip(tries, passed) if not ok]
            above = [d for d, ok in zip(tries, passed) if ok]
            hi = min(above, default=hi)
            lo = max((d + 1 for d in below if d < hi), default=lo)
        depths[name] = hi
    return depths, {"interval": interval, "runs": runs}


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
