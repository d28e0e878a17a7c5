"""Estimates of a kernel plan: every kernel's cycles and resources, per-layer sums, totals against the board,
frames per second and latency. The plan is what a backend emits, so the estimate describes that design: for the
HLS backend the formulas of models.py (Vivado), for the RTL backend the same calibrated per kernel class to Yosys
synth_xilinx on the RTL library (fpgaq.estimate.calibration)."""

from __future__ import annotations

from fpgaq.boards import Board
from fpgaq.estimate import models
from fpgaq.estimate.calibration import FIFO, calibrate, kernel_class
from fpgaq.estimate.costs import kernel_cost, stream_cost
from fpgaq.estimate.latency import latency as frame_latency
from fpgaq.plan.kernels import Plan

RESOURCES = ("lut", "ff", "bram18", "dsp", "uram")
HLS_SOURCE = "formulas of fpgaq/estimate/models.py (Vivado on the HLS kernels)"
RTL_SOURCE = "formulas of fpgaq/estimate/models.py, LUT and FF calibrated to Yosys (estimate/calibration.py)"


def _fraction(used: int, capacity: int) -> float | None:
    """used / capacity; None when the board has none of a resource that the design needs."""
    if capacity:
        return used / capacity
    return 0.0 if used == 0 else None


def estimate_plan(plan: Plan, board: Board, clock_ns: float, backend: str = "hls") -> dict:
    """{"kernels": [...], "layers": {layer: cost}, "totals": {...}, "resources_from": ...} for a plan on a board
    at a clock, built by `backend` ("rtl": LUT and FF calibrated to Yosys per kernel class, the rest unchanged)."""
    rtl = backend == "rtl"
    costs = [kernel_cost(kernel, board.device) for kernel in plan.kernels]
    if rtl:
        costs = [calibrate(cost, kernel_class(kernel)) for kernel, cost in zip(plan.kernels, costs)]
    seen: set[str] = set()
    for i, kernel in enumerate(plan.kernels):  # each FIFO is counted with the kernel that first touches it
        for s in kernel.inputs() + kernel.outputs():
            if s.name not in seen:
                seen.add(s.name)
                fifo = stream_cost(s, plan.depth(s.name))
                costs[i] = costs[i] + (calibrate(fifo, FIFO) if rtl else fifo)
    ii = max(c.cycles for c in costs)
    kernels = []
    layers: dict[str, dict] = {}
    for kernel, cost in zip(plan.kernels, costs):
        row = {"kernel": kernel.kind, "layer": kernel.layer, "name": kernel.name, **cost.asdict()}
        row["bottleneck"] = cost.cycles == ii
        kernels.append(row)
        layer = layers.setdefault(kernel.layer, {"cycles": 0, **{r: 0 for r in RESOURCES}})
        layer["cycles"] = max(layer["cycles"], cost.cycles)
        for r in RESOURCES:
            layer[r] += getattr(cost, r)
    total = sum(costs, models.CONTROL)
    clock_mhz = 1000.0 / clock_ns
    latency = frame_latency(plan, [c.cycles for c in costs])
    capacity = {r: getattr(board, r) for r in RESOURCES}
    bottleneck = next(k for k in kernels if k["bottleneck"])
    totals = {
        **{r: getattr(total, r) for r in RESOURCES},
        "cycles_per_frame": ii,
        "fps": clock_mhz * 1e6 / ii,
        "latency_cycles": latency,
        "latency_us": latency / clock_mhz,
        "clock_mhz": clock_mhz,
        "bottleneck": {"layer": bottleneck["layer"], "kernel": bottleneck["kernel"], "cycles": ii},
        "capacity": capacity,
        "utilization": {r: _fraction(getattr(total, r), capacity[r]) for r in RESOURCES},
    }
    source = RTL_SOURCE if rtl else HLS_SOURCE
    return {"kernels": kernels, "layers": layers, "totals": totals, "resources_from": source}
