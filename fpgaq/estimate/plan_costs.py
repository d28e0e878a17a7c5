"""Estimates of a kernel plan: every kernel's cycles and resources, per-layer sums, totals against the board,
frames per second and latency. The plan is what a backend emits, so the estimate describes that design."""

from __future__ import annotations

import math

from fpgaq.boards import Board
from fpgaq.estimate import models
from fpgaq.estimate.costs import kernel_cost, stream_cost, swg_timing
from fpgaq.plan import kernels as k
from fpgaq.plan.kernels import Plan

RESOURCES = ("lut", "ff", "bram18", "dsp")


def _stream_shape(kernel) -> tuple[float, int, int]:
    """(need, lead, tail) of a streaming kernel: the fraction of its input frame it reads before its first output,
    the cycles from its first input to its first output when the input is there, and from its last input to its
    last output (from each kernel's loop, hls/fpgaq)."""
    if isinstance(kernel, k.Mvu):
        sf, nf = kernel.k // kernel.simd, kernel.oc // kernel.pe
        return 1 / kernel.vectors, sf, (nf - 1) * sf + 1  # one vector in; the other neuron folds reuse it
    if isinstance(kernel, k.SlidingWindow):  # it reads and writes in one loop: reads gate writes until the last
        t = swg_timing(kernel)
        return t.read_first / kernel.inp.words, 1, max(1, t.cycles - t.last_read)
    if isinstance(kernel, (k.MaxPool, k.SumPool)):
        w = kernel.window
        if w.is_global:
            return 1.0, 1, max(1, kernel.out.words)  # every pixel first; then the channel results leave
        return 1 / (w.oh * w.ow), w.kh * w.kw, 1
    if isinstance(kernel, k.Reorder):
        return 1.0, 1, kernel.num  # a buffered frame
    return 0.0, 1, 1


def _latency(plan: Plan, cycles: list[int]) -> int:
    """Cycles from the first input word of a frame to its last output word, kernels overlapping as they stream:
    each stream's first and last word times of frame 0, kernel by kernel in dataflow order. A kernel's first
    output comes `lead` cycles after its first input, and no earlier than it has read `need` of its input; its last
    `tail` cycles after its last input, and no earlier than its own cycles per frame after its first. The input
    arrives one word per cycle. (FINN reports the sum of the kernels' cycles instead, which assumes no overlap.)"""
    source = (1, plan.input.num // plan.input.pack)
    times: dict[str, tuple[int, int]] = {}
    last = source[1]
    for kernel, c in zip(plan.kernels, cycles):
        inputs = [times.get(s.name, source) for s in kernel.inputs()] or [source]
        first_in, last_in = max(t[0] for t in inputs), max(t[1] for t in inputs)
        need, lead, tail = _stream_shape(kernel)
        first = first_in + max(lead, math.ceil(need * (last_in - first_in)))
        last = max(last_in + tail, first_in + c, first)
        for s in kernel.outputs():
            times[s.name] = (first, last)
    return last


def _fraction(used: int, capacity: int) -> float | None:
    """used / capacity; None when the board has none of a resource that the design needs."""
    if capacity:
        return used / capacity
    return 0.0 if used == 0 else None


def estimate_plan(plan: Plan, board: Board, clock_ns: float) -> dict:
    """{"kernels": [...], "layers": {layer: cost}, "totals": {...}} for a plan on a board at a clock."""
    costs = [kernel_cost(kernel) for kernel in plan.kernels]
    seen: set[str] = set()
    for i, kernel in enumerate(plan.kernels):  # each FIFO is counted with the kernel that first touches it
        for s in kernel.inputs() + kernel.outputs():
            if s.name not in seen:
                seen.add(s.name)
                costs[i] = costs[i] + stream_cost(s, plan.depth(s.name))
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
    latency = _latency(plan, [c.cycles for c in costs])
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
    return {"kernels": kernels, "layers": layers, "totals": totals}
