"""Backends: a kernel plan -> files on disk -> a compiled, runnable design.

A backend implements the Backend protocol; the pipeline (fpgaq.pipeline) calls nothing else of it. The HLS C++
backend is the first; a Verilog backend goes beside it (backends/rtl/) without touching the frontend, the IR,
the planner or the estimator.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from fpgaq.boards import Board
from fpgaq.errors import FpgaqError
from fpgaq.plan.kernels import Plan


class Simulator(Protocol):
    """A compiled design of a build folder, run on whole batches."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 input in the model's layout (batch first) -> float32 output in the model's layout."""

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """int64 input codes -> int64 output codes (the hardware's view)."""


class Backend(Protocol):
    name: str

    def emit(self, plan: Plan, board: Board, clock_ns: float, model_name: str) -> dict[str, str | bytes]:
        """Build-folder path -> content of every file the design needs (sources, scripts)."""

    def compile(self, folder: Path, check_overflow: bool) -> dict:
        """Compile what emit wrote into `folder` for simulation; returns {cached, warnings, command}."""

    def size_fifos(
        self, compiled: dict, plan: Plan, board: Board, clock_ns: float, model_name: str
    ) -> tuple[dict[str, int], dict]:
        """(stream -> FIFO depth, {"interval", "runs", "sized_by"?}): the smallest depths that keep full
        throughput without deadlock."""

    def check_fifos(self, compiled: dict, plan: Plan, depths: dict[str, int], streams: dict) -> str | None:
        """A warning when forced FIFO depths (--fifo-depth) deadlock or lose throughput, else None."""

    def finish(self, folder: Path, compiled: dict) -> dict:
        """After the last emit (the sources with their FIFO depths): what compile returned, completed."""

    def simulator(self, build_dir: str | os.PathLike) -> Simulator:
        """The compiled design of a complete build folder."""


def get_backend(name: str) -> Backend:
    from fpgaq.backends.hls import HlsBackend
    from fpgaq.backends.rtl.backend import RtlBackend

    backends = {"hls": HlsBackend(), "rtl": RtlBackend()}
    if name not in backends:
        raise FpgaqError(f"unknown backend {name!r}; known: {', '.join(backends)}")
    return backends[name]
