"""Exact monotone per-channel value chains and the integer thresholds they induce.

Between two hardware layers the frontend (fpgaq.frontend) tracks every float tensor of the QONNX graph as an
integer tensor of the IR followed by a chain of monotone scalar maps (affine, clamp, rounding, sign), whose
parameters are exact rationals (`fractions.Fraction` of the float32 constants in the file) stored as numpy
object arrays broadcastable to the tensor's per-sample shape. A Quant op ends a chain with rounding and a
clip; because every map is monotone, the resulting integer code is a count of crossed thresholds on the
integer input, one threshold per output level, found by pulling the condition `code >= k` back through the
chain (`threshold_levels`). Nothing here uses floats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from fpgaq.ir.types import Rounding

ALL, NONE = ("all", None), ("none", None)


def frac_array(values, rank: int) -> np.ndarray:
    """Exact Fractions of float constants, as an object array of the given rank (leading axes of size 1)."""
    arr = np.asarray(values)
    if arr.ndim > rank:
        raise ValueError(f"parameter of rank {arr.ndim} does not fit a tensor of rank {rank}")
    flat = [v if isinstance(v, (Fraction, int)) else Fraction(float(v)) for v in arr.reshape(-1).tolist()]
    flat = [Fraction(v) for v in flat]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return compress(out.reshape((1,) * (rank - arr.ndim) + arr.shape))


def none_array(rank: int) -> np.ndarray:
    """An unbounded Clamp side: an object array holding None, of the given rank."""
    arr = np.empty((1,) * rank, dtype=object)
    arr[...] = None
    return arr


def compress(arr: np.ndarray) -> np.ndarray:
    """Shrink every axis along which all slices are equal to size 1 (keeps parameter arrays small)."""
    for axis in range(arr.ndim):
        if arr.shape[axis] > 1:
            first = np.take(arr, [0], axis=axis)
            if np.asarray(arr == first).all():  # every slice equals the first (one comparison, broadcast)
                arr = first
    return arr


@dataclass(frozen=True, eq=False)
class Affine:
    """y = a * x + b."""

    a: np.ndarray
    b: np.ndarray

    def arrays(self):
        return (self.a, self.b)

    def rebuild(self, arrays):
        return Affine(*arrays)

    def value(self, x, i):
        return _at(self.a, i) * x + _at(self.b, i)

    def pre(self, cond, i):
        op, t = cond
        if op in ("all", "none"):
            return cond
        a, b = _at(self.a, i), _at(self.b, i)
        if a == 0:
            return ALL if _holds(op, b, t) else NONE
        r = (t - b) / a
        return (op, r) if a > 0 else (_FLIP[op], r)


@dataclass(frozen=True, eq=False)
class Clamp:
    """y = min(max(x, lo), hi); a None entry is unbounded on that side."""

    lo: np.ndarray
    hi: np.ndarray

    def arrays(self):
        return (self.lo, self.hi)

    def rebuild(self, arrays):
        return Clamp(*arrays)

    def value(self, x, i):
        lo, hi = _at(self.lo, i), _at(self.hi, i)
        if lo is not None and x < lo:
            x = lo
        if hi is not None and x > hi:
            x = hi
        return x

    def pre(self, cond, i):
        op, t = cond
        if op in ("all", "none"):
            return cond
        lo, hi = _at(self.lo, i), _at(self.hi, i)
        # The clamped value always satisfies the condition when its whole range does, never when none of it
        # does; otherwise the condition is the same on x (inside the range x and y agree).
        if op in (">=", ">"):
            if lo is not None and _holds(op, lo, t):
                return ALL
            if hi is not None and not _holds(op, hi, t):
                return NONE
        else:
            if hi is not None and _holds(op, hi, t):
                return ALL
            if lo is not None and not _holds(op, lo, t):
                return NONE
        return cond


@dataclass(frozen=True, eq=False)
class Round:
    """y = round(x) with a QONNX rounding mode."""

    mode: Rounding

    def arrays(self):
        return ()

    def rebuild(self, arrays):
        return self

    def value(self, x, i):
        return Fraction(self.mode.apply(x))

    def pre(self, cond, i):
        op, t = cond
        if op in ("all", "none"):
            return cond
        if op == ">=":
            return self.mode.at_least(math.ceil(t))
        if op == ">":
            return self.mode.at_least(math.floor(t) + 1)
        if op == "<=":
            return _negate(self.mode.at_least(math.floor(t) + 1))
        return _negate(self.mode.at_least(math.ceil(t)))


@dataclass(frozen=True, eq=False)
class Sign01:
    """y = 1 if x >= 0 else 0 (BipolarQuant and 1-bit signed Quant, before mapping to -1/+1)."""

    def arrays(self):
        return ()

    def rebuild(self, arrays):
        return self

    def value(self, x, i):
        return Fraction(1 if x >= 0 else 0)

    def pre(self, cond, i):
        op, t = cond
        if op in ("all", "none"):
            return cond
        ok0, ok1 = _holds(op, 0, t), _holds(op, 1, t)
        if ok0 and ok1:
            return ALL
        if ok1:
            return (">=", Fraction(0))
        if ok0:
            return ("<", Fraction(0))
        return NONE


_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}


def _negate(cond):
    return ({">=": "<", ">": "<="}[cond[0]], cond[1])


def _holds(op, value, t) -> bool:
    return {">=": value >= t, ">": value > t, "<=": value <= t, "<": value < t}[op]


@dataclass(frozen=True, eq=False)
class Chain:
    """A composition of monotone maps applied, in order, to an integer tensor of the given per-sample rank."""

    rank: int
    steps: tuple = ()

    def then(self, step) -> Chain:
        if isinstance(step, Affine) and self.steps and isinstance(self.steps[-1], Affine):
            prev = self.steps[-1]
            merged = Affine(compress(prev.a * step.a), compress(prev.b * step.a + step.b))
            return Chain(self.rank, self.steps[:-1] + (merged,))
        return Chain(self.rank, self.steps + (step,))

    def affine(self) -> Affine | None:
        """The chain as one affine map, or None when it clamps or rounds. The empty chain is identity."""
        if not self.steps:
            one = frac_array(1.0, self.rank)
            return Affine(one, frac_array(0.0, self.rank))
        if len(self.steps) == 1 and isinstance(self.steps[0], Affine):
            return self.steps[0]
        return None

    def param_shape(self) -> tuple[int, ...]:
        shapes = [arr.shape for step in self.steps for arr in step.arrays()]
        return tuple(np.broadcast_shapes((1,) * self.rank, *shapes))

    def map_params(self, fn, rank: int | None = None) -> Chain:
        """Apply fn to every parameter array (after broadcasting it to param_shape()), e.g. a transpose."""
        shape = self.param_shape()
        steps = tuple(s.rebuild(tuple(compress(fn(np.broadcast_to(a, shape))) for a in s.arrays())) for s in self.steps)
        return Chain(self.rank if rank is None else rank, steps)

    def scalar_steps(self, index: tuple[int, ...]):
        return [(s, index) for s in self.steps]

    def evaluate(self, x: int, index: tuple[int, ...]) -> Fraction:
        """Exact value of the chain at one element (index into param_shape())."""
        y = Fraction(x)
        for step, i in self.scalar_steps(index):
            y = step.value(y, i)
        return y


def _at(arr: np.ndarray, index: tuple[int, ...]):
    """The element of a broadcastable parameter array at a full index."""
    return arr[tuple(0 if n == 1 else k for n, k in zip(arr.shape, index))]


def integer_condition(cond):
    """Turn a condition on a real x into one on an integer x: ("ge", T), ("le", T), ALL or NONE."""
    op, r = cond
    if op in ("all", "none"):
        return cond
    if op == ">=":
        return ("ge", math.ceil(r))
    if op == ">":
        return ("ge", math.floor(r) + 1)
    if op == "<=":
        return ("le", math.floor(r))
    return ("le", math.ceil(r) - 1)


def threshold_levels(chain: Chain, code_min: int, code_max: int, x_lo: int, x_hi: int):
    """Thresholds of an integer-valued monotone chain over integer inputs in [x_lo, x_hi].

    Returns (thresholds, sign) with thresholds of shape param_shape() + (code_max - code_min,) and sign of
    shape param_shape(), such that for every x in range and every element e:
        chain(x) == code_min + count_l(sign[e] * x >= thresholds[e, l]).
    Thresholds are clipped to the reachable range of sign * x (a level that is always crossed sits at the
    minimum, one never crossed at the maximum + 1).
    """
    shape = chain.param_shape()
    levels = code_max - code_min
    thresholds = np.zeros(shape + (levels,), dtype=np.int64)
    signs = np.ones(shape, dtype=np.int64)
    for index in np.ndindex(*shape):
        ends = [chain.evaluate(x, index) for x in (x_lo, x_hi)]
        low, high = math.floor(min(ends)), math.floor(max(ends))
        solve = max(0, min(high, code_max) - max(low, code_min))  # levels k with low < k <= high
        if x_hi - x_lo + 1 < solve:  # fewer inputs than levels to solve: evaluate the chain at every input
            thresholds[index], signs[index] = _levels_by_evaluation(chain, index, code_min, code_max, x_lo, x_hi)
        else:
            thresholds[index], signs[index] = _levels_by_preimage(chain, index, ends, code_min, code_max, x_lo, x_hi)
    return thresholds, signs


def _levels_by_preimage(chain: Chain, index, ends, code_min: int, code_max: int, x_lo: int, x_hi: int):
    """One element's thresholds, each level's condition pulled back through the chain's steps."""
    steps = chain.scalar_steps(index)
    low_end, high_end = min(ends), max(ends)
    conds = []
    for k in range(code_min + 1, code_max + 1):
        if k <= low_end:  # every x in range reaches this level; no need to solve
            conds.append(ALL)
            continue
        if k > high_end:
            conds.append(NONE)
            continue
        cond = (">=", Fraction(k))
        for step, i in reversed(steps):
            cond = step.pre(cond, i)
        conds.append(integer_condition(cond))
    kinds = {c[0] for c in conds} - {"all", "none"}
    if kinds == {"ge", "le"}:
        raise AssertionError("a monotone chain produced thresholds in both directions")
    sign = -1 if kinds == {"le"} else 1
    lo, hi = (x_lo, x_hi) if sign == 1 else (-x_hi, -x_lo)
    row = []
    for kind, t in conds:
        if kind == "all":
            row.append(lo)
        elif kind == "none":
            row.append(hi + 1)
        else:
            row.append(min(max(sign * t, lo), hi + 1))
    if any(b < a for a, b in zip(row, row[1:])):
        raise AssertionError("thresholds of a monotone chain are not sorted")
    return row, sign


def _levels_by_evaluation(chain: Chain, index, code_min: int, code_max: int, x_lo: int, x_hi: int):
    """One element's thresholds from the chain's exact value at every integer input: level k's threshold is the
    smallest (sign * x) whose code reaches k. The same numbers as _levels_by_preimage, found faster when the
    input range is narrower than the number of levels (a 16-bit quantizer after a small accumulator)."""
    codes = np.array([int(chain.evaluate(x, index)) for x in range(x_lo, x_hi + 1)], dtype=np.int64)
    steps = np.diff(codes)
    if (steps > 0).any() and (steps < 0).any():
        raise AssertionError("a monotone chain produced thresholds in both directions")
    sign = -1 if (steps < 0).any() else 1
    lo = x_lo if sign == 1 else -x_hi
    ascending = codes if sign == 1 else codes[::-1]  # the codes as sign * x increases
    wanted = np.arange(code_min + 1, code_max + 1, dtype=np.int64)
    return lo + np.searchsorted(ascending, wanted, side="left"), sign
