"""The latency of one frame: first input word to last output word, the kernels overlapping as they stream.

Every stream is an arrival curve: T[i] is the cycle by which a fraction i / G of its frame's words has been
written (T[0]: its first word). A kernel turns its input curves into its output curve: output fraction p needs
input fraction q(p) (one vector for a matrix-vector unit, the whole frame for a global pool), comes one cycle
after that input at the earliest, and no sooner than the kernel's own pace allows after the earlier fractions
(_span: its first output word to its last). The window generator is replayed phase by phase (its loop reads and
writes in one iteration, so a slow input also slows its windows: estimate.models.swg_schedule's phases).
The input arrives one word per cycle. Checked against the timed dataflow simulation (docs/benchmarks.md);
FINN reports the sum of the kernels' cycles instead, which assumes no overlap.
"""

from __future__ import annotations

import numpy as np

from fpgaq.estimate.costs import swg_timing
from fpgaq.plan import kernels as k
from fpgaq.plan.kernels import Plan

G = 256  # points of an arrival curve
_P = np.arange(G + 1) / G


def _at(curve: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """The cycle by which `fraction` of a stream has arrived (linear between the curve's points)."""
    return np.interp(np.clip(fraction, 0.0, 1.0) * G, np.arange(G + 1), curve)


def _need(kernel: k.Kernel) -> np.ndarray:
    """q(p) on the grid: the input fraction each output fraction needs (the output comes one cycle after it)."""
    if isinstance(kernel, k.Mvu):
        nv = kernel.vectors
        vector = np.minimum(np.floor(_P * nv * (1 - 1e-9)), nv - 1)  # the vector an output fraction belongs to
        return (vector + 1) / nv  # the first output of a vector comes with its last input word
    if isinstance(kernel, (k.MaxPool, k.SumPool)):
        w = kernel.window
        if w.is_global:
            return np.ones(G + 1)
        return np.minimum(1.0, _P + 1.0 / (w.oh * w.ow))
    if isinstance(kernel, k.Reorder):
        return np.ones(G + 1)
    return _P


def _span(kernel: k.Kernel, c: int) -> float:
    """Cycles from a kernel's first output word to its last when its input is never late: the words of a kernel
    that reads a whole frame first leave one per cycle; the others' leave evenly over its cycles, c / words apart."""
    words = max([1, *(s.words for s in kernel.outputs())])
    if isinstance(kernel, k.Reorder) or (isinstance(kernel, (k.MaxPool, k.SumPool)) and kernel.window.is_global):
        return words - 1
    return c - c / words


def _swg_curve(kernel: k.SlidingWindow, inp: np.ndarray) -> np.ndarray:
    """The window generator's output curve, its loop replayed phase by phase against its input's arrival."""
    schedule = swg_timing(kernel)
    in_words = kernel.inp.words
    out_words = max(1, sum(step for step, _, writing in schedule.phases if writing))
    t, read, written = float(inp[0]), 0, 0
    times, fractions = [], []
    for step, reading, writing in schedule.phases:
        end = t + step
        if reading:
            read += step
            end = max(end, float(_at(inp, np.array([read / in_words]))[0]) + 1)
        if writing:
            if not times:
                times.append(t + 1)
                fractions.append(0.0)
            written += step
            times.append(end)
            fractions.append(written / out_words)
        t = end
    return np.interp(_P, fractions, times)


def curves(plan: Plan, cycles: list[int]) -> list[np.ndarray]:
    """Each kernel's output arrival curve for frame 0 (module docstring), in plan order."""
    words = plan.input.num // plan.input.pack
    source = 1 + _P * (words - 1)
    by_stream: dict[str, np.ndarray] = {}
    result = []
    for kernel, c in zip(plan.kernels, cycles, strict=True):
        inputs = [by_stream.get(s.name, source) for s in kernel.inputs()] or [source]
        inp = np.maximum.reduce(inputs)
        if isinstance(kernel, k.SlidingWindow):
            out = _swg_curve(kernel, inp)
        else:
            ready = _at(inp, _need(kernel)) + 1
            span = _span(kernel, c)  # no faster than its own pace: out[i] >= out[j] + (p_i - p_j) * span
            out = np.maximum.accumulate(ready - _P * span) + _P * span
        for s in kernel.outputs():
            by_stream[s.name] = out
        result.append(out)
    return result


def latency(plan: Plan, cycles: list[int]) -> int:
    """Cycles from the first input word of a frame to its last output word (module docstring)."""
    return int(round(curves(plan, cycles)[-1][-1]))
