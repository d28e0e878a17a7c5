"""Estimates of a built stream plan: every kernel call's cycles and resources, per-layer sums, totals against
the board, frames per second and latency. The calls' template arguments are read back in the order of the
kernel signatures in hls/ (the plan is what the C++ instantiates, so the estimate describes that design)."""

from __future__ import annotations

import re

from fpgaq.boards import Board
from fpgaq.estimate import models
from fpgaq.estimate.models import Cost
from fpgaq.hls.plan_data import Call, Plan

RESOURCES = ("lut", "ff", "bram18", "dsp")
_AP = re.compile(r"ap_u?int<(\d+)>")
_ACT = re.compile(r"ThresholdActivation<(\d+), (\d+), (\w+) >")
_CONST_ARG = re.compile(r"\((-?\d+)\)$")


class _Types:
    """Bit widths of the type names in a plan (ap types and constant-table types name_t)."""

    def __init__(self, plan: Plan):
        self.tables = {c.type_name: c.ctype for c in plan.consts if c.storage}

    def bits(self, name: str) -> int:
        match = _AP.fullmatch(self.tables.get(name, name))
        if not match:
            raise ValueError(f"not an integer type: {name!r}")
        return int(match.group(1))


def _ints(targs, n):
    return [int(v) for v in targs[:n]]


def call_cost(call: Call, types: _Types) -> Cost:
    f, t = call.func, call.targs
    if f == "mvu":
        _, nv, g, kg, ocg, simd, pe = _ints(t, 7)
        act = _ACT.search(t[13])
        levels, thr_bits = (int(act.group(2)), types.bits(act.group(3))) if act else (0, 0)
        return models.mvu(
            vectors=nv,
            groups=g,
            k=kg,
            oc=ocg,
            pe=pe,
            simd=simd,
            input_bits=types.bits(t[7]),
            weight_bits=types.bits(t[8]),
            acc_bits=types.bits(t[11]),
            out_bits=types.bits(t[12]),
            levels=levels,
            threshold_bits=thr_bits,
        )
    if f == "threshold":
        num, win, rows, levels = _ints(t, 4)
        return models.threshold(
            num=num, win=win, rows=rows, levels=levels, threshold_bits=types.bits(t[5]), out_bits=types.bits(t[6])
        )
    if f == "swg":
        c, h, w, kh, kw, _, _, _, dw, _, _, oh, ow, groups, win, simd = _ints(t, 16)
        return models.swg(
            c=c, h=h, w=w, kh=kh, kw=kw, oh=oh, ow=ow, win=win, simd=simd, bits=types.bits(t[16]), groups=groups, dw=dw
        )
    if f in ("maxpool", "sumpool"):
        dilated = False
        if f == "maxpool":
            c, h, w, kh, kw, _, _, dh, dw, _, _, oh, ow, win = _ints(t, 14)
            ti, to, dilated = t[14], t[15], dh > 1 or dw > 1
        else:
            _, c, h, w, kh, kw, _, _, _, _, oh, ow, win = _ints(t, 13)
            ti, to = t[13], t[14]
        bits_in, bits_out = types.bits(ti), types.bits(to)
        return models.pool(
            c=c, h=h, w=w, kh=kh, kw=kw, oh=oh, ow=ow, win=win, in_bits=bits_in, out_bits=bits_out, dilated=dilated
        )
    if f == "dwc":
        num, in_w, out_w = _ints(t, 3)
        return models.dwc(num=num, in_w=in_w, out_w=out_w, in_bits=types.bits(t[3]), out_bits=types.bits(t[4]))
    if f == "add":
        _, num, win = _ints(t, 3)
        mults = tuple(int(_CONST_ARG.search(a).group(1)) for a in call.args[3:5])
        return models.add(num=num, win=win, out_bits=types.bits(t[5]), multipliers=mults)
    if f == "fork2":
        return models.passthrough(words=int(t[0]), bits=int(t[2]) * types.bits(t[1]))
    if f in ("unpack_axis", "pack_axis"):
        num, pack, _, word = _ints(t, 4)
        return models.passthrough(words=num // pack, bits=word)
    if f == "concat2":
        outer, n0, n1 = _ints(t, 3)
        return models.concat(num=outer * (n0 + n1), out_bits=types.bits(t[5]))
    if f == "reorder":
        return models.reorder(num=int(t[0]), bits=types.bits(t[1]))
    raise ValueError(f"no estimate for kernel {f!r}")


def _critical_path(plan: Plan, cycles: list[int]) -> int:
    """Longest chain of kernel cycles from input to output: streams connect a call to the later calls that
    use them (calls are in dataflow order). FINN's convention for the latency of the first frame."""
    streams = {s.name for s in plan.streams}
    producer: dict[str, int] = {}
    finish = []
    for i, call in enumerate(plan.calls):
        used = [a for a in call.args if a in streams]
        start = max((finish[producer[s]] for s in used if s in producer), default=0)
        finish.append(start + cycles[i])
        for s in used:
            producer.setdefault(s, i)
    return max(finish, default=0)


def _fraction(used: int, capacity: int) -> float | None:
    """used / capacity; None when the board has none of a resource that the design needs."""
    if capacity:
        return used / capacity
    return 0.0 if used == 0 else None


def estimate_plan(plan: Plan, board: Board, clock_ns: float) -> dict:
    """{"kernels": [...], "layers": {layer: cost}, "totals": {...}} for a plan on a board at a clock."""
    types = _Types(plan)
    costs = [call_cost(call, types) for call in plan.calls]
    stream_bits = {s.name: s.width * types.bits(s.ctype) for s in plan.streams}
    seen: set[str] = set()
    for i, call in enumerate(plan.calls):  # each FIFO is counted with the kernel that writes it (first use)
        for name in call.args:
            if name in stream_bits and name not in seen:
                seen.add(name)
                costs[i] = costs[i] + models.fifo(bits=stream_bits[name])
    ii = max(c.cycles for c in costs)
    kernels = []
    layers: dict[str, dict] = {}
    for call, cost in zip(plan.calls, costs):
        row = {"kernel": call.func, "layer": call.layer, **cost.asdict(), "bottleneck": cost.cycles == ii}
        kernels.append(row)
        layer = layers.setdefault(call.layer, {"cycles": 0, **{r: 0 for r in RESOURCES}})
        layer["cycles"] = max(layer["cycles"], cost.cycles)
        for r in RESOURCES:
            layer[r] += getattr(cost, r)
    total = sum(costs, models.CONTROL)
    clock_mhz = 1000.0 / clock_ns
    latency = _critical_path(plan, [c.cycles for c in costs])
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
