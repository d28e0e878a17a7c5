"""The HLS C++ backend: the plan as Jinja-rendered glue over the hand-written kernel library (hls/ at the
repository root, copied into every project), compiled with g++ into a C-simulation library (csim.py)."""

from __future__ import annotations

import os
from pathlib import Path

from fpgaq.backends.hls.csim import LIBRARY, CSim, compile_library
from fpgaq.backends.hls.emit import DRIVER, deploy_scripts, render
from fpgaq.backends.hls.lint import check_sources
from fpgaq.backends.hls.timed import TimedSim, check_depths, load, size_fifos
from fpgaq.boards import Board
from fpgaq.host import pack_rows
from fpgaq.outdir import write_atomic
from fpgaq.plan.kernels import Plan
from fpgaq.resources import data_dir


class HlsBackend:
    name = "hls"

    def emit(self, plan: Plan, board: Board, clock_ns: float, model_name: str) -> dict[str, str | bytes]:
        files: dict[str, str | bytes] = {
            f"hls/{name}": text for name, text in render(plan, board, clock_ns, model_name).items()
        }
        library = data_dir("hls")
        for path in sorted(library.rglob("*")):
            if path.is_file() and path.name != "README.md":
                files[f"hls/lib/{path.relative_to(library).as_posix()}"] = path.read_bytes()
        check_sources(files)  # the kernel library and the generated sources: no divider in a pipelined loop
        axis = {"input": {"word": plan.input.word}, "output": {"word": plan.output.word}}
        files.update(deploy_scripts(board, clock_ns, axis, model_name))
        for t in plan.runtime_tables:  # what the host writes into UltraRAM (and the C-simulation reads)
            files[f"deploy/weights/{t.name}.bin"] = pack_rows(t.values, t.elem.bits)
        return files

    def compile(self, folder: Path, check_overflow: bool) -> dict:
        """The C-simulation library; and the PYNQ driver's copy of host.json (written by the build only after
        emit), so that DIR/deploy is complete when the build ends."""
        if (folder / DRIVER[0]).is_file():
            write_atomic(folder / DRIVER[2], (folder / "host.json").read_bytes())
        defines = ("FPGAQ_CHECK_OVERFLOW",) if check_overflow else ()
        return compile_library(folder / "hls", folder / "csim" / LIBRARY, defines)

    def finish(self, folder: Path, compiled: dict) -> dict:
        """Nothing to add: the C-simulation ignores the FIFO depths (its cache ignores HLS pragmas)."""
        return compiled

    def simulator(self, build_dir: str | os.PathLike, jobs: int | None = None) -> CSim:
        return CSim(build_dir, jobs)

    def size_fifos(self, compiled: dict, plan: Plan, board: Board | None = None, clock_ns: float | None = None,
                   model_name: str = ""):  # fmt: skip
        """FIFO depths for a plan whose sources `compiled` (this backend's compile result) was built from."""
        sim = self.timed(Path(compiled["library"]), plan)
        return size_fifos(sim, [s.name for s in plan.streams], sim.in_bytes)

    def check_fifos(self, compiled: dict, plan: Plan, depths: dict[str, int], streams: dict) -> str | None:
        """A warning when the FIFOs at `depths` deadlock or slow the design (fpgaq.backends.hls.timed; `streams`:
        name -> its "writer" and "reader" kernels)."""
        sim = self.timed(Path(compiled["library"]), plan)
        return check_depths(sim, depths, sim.in_bytes, streams)

    @staticmethod
    def timed(library: Path, plan: Plan) -> TimedSim:
        def frame_bytes(b):
            return b.num // b.pack * b.word // 8

        weights = tuple(pack_rows(t.values, t.elem.bits) for t in plan.runtime_tables)
        return TimedSim(load(library), frame_bytes(plan.input), frame_bytes(plan.output), weights)
