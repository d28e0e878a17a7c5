"""fpgaq simulate: a built design's timed dataflow simulation on the user's input, checked against the
C-simulation and recorded in report.json (the "simulation" section, beside the estimate it checks)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from fpgaq import outdir
from fpgaq.backends.hls.csim import CSim
from fpgaq.backends.hls.timed import Deadlock, SimulationError, deadlock_message, declared_depths, summary
from fpgaq.report.files import read_report, write_report


def simulate(build_dir: str | os.PathLike, x: np.ndarray, frames: int | None = None, source: str = ""):
    """(float32 outputs, the report's simulation section) of `frames` frames (default: one per sample of x,
    cycling through x when more). A deadlock is recorded in report.json and raised as Deadlock (exit 3)."""
    out = Path(build_dir)
    report = read_report(out)
    if report.backend == "rtl":
        return _verilated(out, report, x, frames, source)
    if report.backend != "hls":
        raise SimulationError(f"the timed simulation runs HLS builds; {str(out)!r} was built for {report.backend!r}")
    csim = CSim(out)
    frames, words = _cycled(csim.host, csim.input_codes(x), frames)
    with outdir.locked(out, exclusive=False):
        depths = declared_depths((out / "hls" / "top.cpp").read_text(encoding="utf-8", errors="replace"))
    run = csim.timed().run(words, depths)
    clock_mhz = 1000.0 / report.board["clock_ns"]
    if run.deadlock:
        message = deadlock_message(run.report, (report.fifos or {}).get("streams"))
        section = {"deadlock": True, "message": message, "frames": frames, "source": source,
                   "blocked": run.report["blocked"], "fifos": run.report["deadlock_fifos"]}  # fmt: skip
        _record(out, section)
        raise Deadlock(f"{message}; report.json lists the blocked kernels and the full and empty FIFOs", section)
    _check(run.output, csim.run_words(words), "the timed simulation's output differs from the C-simulation's")
    section = _beside_estimate({**summary(run, clock_mhz), "deadlock": False, "source": source}, report.totals)
    _record(out, section)
    return csim.host.dequantize(csim.host.unpack_output(run.output)), section


def _verilated(out: Path, report, x: np.ndarray, frames: int | None, source: str):
    """An RTL build: the Verilated design cycle by cycle (source and sink never wait). Latency: the cycles of one
    frame alone; cycles per frame: what each further frame adds."""
    from fpgaq.backends.rtl.backend import RtlSim

    sim = RtlSim(out)
    frames, words = _cycled(sim.host, sim.input_codes(x), frames)
    data = sim.run_words(words)
    total = sim.cycles
    y = sim.host.dequantize(sim.host.unpack_output(data))
    model = out / "model.onnx"
    if model.is_file():  # the build's copy of the model: the golden executor checks every element
        from fpgaq import frontend
        from fpgaq.ir.execute import run

        expected = run(frontend.load(model), x[np.arange(frames) % len(x)])
        _check(y, expected, "the Verilated design's output differs from the golden model")
    sim.run_words(words[:1])
    latency = sim.cycles - 1  # from the first input word's cycle to the last output word's
    interval = round((total - sim.cycles) / (frames - 1)) if frames > 1 else None
    section = {"simulator": "verilator", "checked_against": "the golden model" if model.is_file() else None,
               "deadlock": False, "source": source, "frames": frames, "cycles_per_frame": interval,
               "latency_cycles": latency}  # fmt: skip
    section = _beside_estimate(section, report.totals)
    _record(out, section)
    return y, section


def _cycled(host, codes: np.ndarray, frames: int | None) -> tuple[int, np.ndarray]:
    """(frames, their AXI-Stream bytes): one frame per sample by default, cycling through the samples when more."""
    frames = len(codes) if frames is None else frames
    return frames, host.pack_input(codes)[np.arange(frames) % len(codes)]


def _check(got: np.ndarray, expected: np.ndarray, what: str) -> None:
    """A SimulationError naming the first frame where `got` (batch first) differs from `expected`."""
    if not np.array_equal(got, expected):
        frame = int(np.argwhere((got != expected).reshape(len(got), -1).any(axis=1))[0, 0])
        raise SimulationError(f"{what} at frame {frame}")


def _beside_estimate(section: dict, totals: dict) -> dict:
    """The section with the estimate it checks and their ratio (cycles per frame, latency)."""
    estimate = {key: totals[key] for key in ("cycles_per_frame", "latency_cycles")}
    ratio = {key: (estimate[key] / section[key] if section[key] else None) for key in estimate}
    return {**section, "estimate": estimate, "ratio_estimate_to_simulation": ratio}


def _record(out: Path, section: dict) -> None:
    with outdir.updating(out):
        write_report(out, read_report(out).replace(simulation=section))
