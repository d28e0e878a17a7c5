"""The thresholds of a chain (fpgaq.ir.chain.threshold_levels), for every element and level at once.

The same pull-back of `code >= k` through the chain's steps, in the same exact arithmetic: every rational is an
integer numerator over a positive integer denominator, held in numpy object arrays of Python ints (unbounded),
so each step is a few array operations over all elements and levels instead of Fraction arithmetic per element
and level. fpgaq.ir.chain keeps the per-element functions; tests/ir/test_levels.py checks both give the same
numbers. A condition is an op code array (GE, GT, LE, LT: "x >= t" ...; ALL, NONE: always, never) with the
numerator and denominator of t.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fpgaq.ir.chain import Affine, Chain, Clamp, Round, Sign01, _levels_by_evaluation
from fpgaq.ir.types import Rounding

GE, GT, LE, LT, ALL, NONE = range(6)


def _ratio(arr: np.ndarray, shape: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(present, numerator, denominator) of a parameter array (Fractions, ints or None) broadcast to `shape`."""
    flat = arr.reshape(-1).tolist()
    present = np.array([v is not None for v in flat], dtype=bool).reshape(arr.shape)
    values = [Fraction(0) if v is None else v if isinstance(v, Fraction) else Fraction(v) for v in flat]
    num = _objects([v.numerator for v in values], arr.shape)
    den = _objects([v.denominator for v in values], arr.shape)
    return tuple(np.broadcast_to(x, shape) for x in (present, num, den))


def _objects(values: list, shape: tuple) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


def _holds(op, vn, vd, n, d) -> np.ndarray:
    """Whether value vn / vd satisfies (op, n / d), elementwise (denominators positive)."""
    diff = vn * d - n * vd
    return np.where(op == GE, diff >= 0, np.where(op == GT, diff > 0, np.where(op == LE, diff <= 0, diff < 0)))


# ---- one pull-back per step: the arrays' counterpart of each step's `pre` --------------------------------------


def _pre_affine(step: Affine, shape, op, n, d):
    _, an, ad = (x[..., None] for x in _ratio(step.a, shape))
    _, bn, bd = (x[..., None] for x in _ratio(step.b, shape))
    active = op < ALL
    zero = active & (an == 0)
    rn, rd = (n * bd - bn * d) * ad, d * bd * an  # (t - b) / a
    negative = an < 0
    rn, rd = np.where(negative, -rn, rn), np.where(negative, -rd, rd)
    new = np.where(active & negative, op ^ 2, op)  # a < 0 flips the comparison: GE <-> LE, GT <-> LT
    new = np.where(zero, np.where(_holds(op, bn, bd, n, d), ALL, NONE), new)
    solved = new < ALL
    return new, np.where(solved, rn, 0), np.where(solved, rd, 1)


def _pre_clamp(step: Clamp, shape, op, n, d):
    has_lo, lon, lod = (x[..., None] for x in _ratio(step.lo, shape))
    has_hi, hin, hid = (x[..., None] for x in _ratio(step.hi, shape))
    lo_holds, hi_holds = has_lo & _holds(op, lon, lod, n, d), has_hi & _holds(op, hin, hid, n, d)
    upward = (op == GE) | (op == GT)
    always = np.where(upward, lo_holds, hi_holds)
    never = ~always & np.where(upward, has_hi & ~hi_holds, has_lo & ~lo_holds)
    active = op < ALL
    return np.where(active & always, ALL, np.where(active & never, NONE, op)), n, d


def _pre_round(step: Round, shape, op, n, d):
    active = op < ALL
    n, d = np.where(active, n, 0), np.where(active, d, 1)
    floor, ceil = n // d, -((-n) // d)
    k = np.where((op == GE) | (op == LT), ceil, floor + 1)
    new, tn, td = at_least(step.mode, k)
    negate = (op == LE) | (op == LT)
    new = np.where(negate, np.where(new == GE, LT, LE), new)  # not (y >= t) is y < t; not (y > t) is y <= t
    return np.where(active, new, op), np.where(active, tn, 0), np.where(active, td, 1)


def _pre_sign01(step: Sign01, shape, op, n, d):
    ok0, ok1 = _holds(op, 0, 1, n, d), _holds(op, 1, 1, n, d)
    new = np.where(ok0 & ok1, ALL, np.where(ok1, GE, np.where(ok0, LT, NONE)))
    active = op < ALL
    return np.where(active, new, op), np.where(active, 0, n), np.where(active, 1, d)


_PRE = {Affine: _pre_affine, Clamp: _pre_clamp, Round: _pre_round, Sign01: _pre_sign01}


def at_least(mode: Rounding, k: np.ndarray):
    """Rounding.at_least for an object array of integers k: (op, numerator, denominator) of the condition."""
    one = np.ones_like(k)
    if mode is Rounding.FLOOR:
        return np.full(k.shape, GE), k, one
    if mode is Rounding.CEIL:
        return np.full(k.shape, GT), k - 1, one
    if mode in (Rounding.ROUND_TO_ZERO, Rounding.UP):
        positive = k >= 1
        up = positive if mode is Rounding.ROUND_TO_ZERO else ~positive
        return np.where(up, GE, GT), np.where(up, k, k - 1), one
    if mode is Rounding.ROUND:
        tie_rounds_up = (k % 2) == 0
    elif mode is Rounding.HALF_UP:
        tie_rounds_up = k >= 1
    else:
        tie_rounds_up = k <= 0
    return np.where(tie_rounds_up, GE, GT), 2 * k - 1, one * 2


# ---- values of the chain ------------------------------------------------------------------------------------


def apply_rounding(mode: Rounding, n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Rounding.apply for the rationals n / d (object arrays, d > 0): an object array of integers."""
    floor = n // d
    rest = n - floor * d  # 0 <= rest < d: the fraction is rest / d
    above = rest > 0
    if mode is Rounding.FLOOR:
        return floor
    if mode is Rounding.CEIL:
        return floor + above
    if mode is Rounding.ROUND_TO_ZERO:
        return np.where(n >= 0, floor, floor + above)
    if mode is Rounding.UP:
        return np.where(n > 0, floor + above, floor)
    tie = 2 * rest == d
    nearest = floor + (2 * rest > d)
    if mode is Rounding.ROUND:
        at_tie = floor + (floor % 2 != 0)
    elif mode is Rounding.HALF_UP:
        at_tie = np.where(n > 0, floor + 1, floor)
    else:
        at_tie = np.where(n > 0, floor, floor + 1)
    return np.where(tie, at_tie, nearest)


def chain_values(chain: Chain, x: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact value of the chain at integer input x for every element of param_shape(): (numerators,
    positive denominators), object arrays; chain.evaluate(x, index) == Fraction(n[index], d[index])."""
    shape = chain.param_shape()
    n, d = np.full(shape, int(x), dtype=object), np.ones(shape, dtype=object)
    for step in chain.steps:
        if isinstance(step, Affine):
            _, an, ad = _ratio(step.a, shape)
            _, bn, bd = _ratio(step.b, shape)
            n, d = an * n * bd + bn * ad * d, ad * d * bd
        elif isinstance(step, Clamp):
            has_lo, lon, lod = _ratio(step.lo, shape)
            has_hi, hin, hid = _ratio(step.hi, shape)
            below = has_lo & (n * lod < lon * d)
            n, d = np.where(below, lon, n), np.where(below, lod, d)
            above = has_hi & (n * hid > hin * d)
            n, d = np.where(above, hin, n), np.where(above, hid, d)
        elif isinstance(step, Round):
            n, d = apply_rounding(step.mode, n, d), np.ones(shape, dtype=object)
        else:
            n, d = _objects([int(v) for v in (n >= 0).reshape(-1)], shape), np.ones(shape, dtype=object)
    return n, d


# ---- thresholds ---------------------------------------------------------------------------------------------


def threshold_levels(chain: Chain, code_min: int, code_max: int, x_lo: int, x_hi: int):
    """fpgaq.ir.chain.threshold_levels (the same thresholds and signs, the same errors), vectorized."""
    shape = chain.param_shape()
    ends = [chain_values(chain, x) for x in (x_lo, x_hi)]
    first_lower = ends[0][0] * ends[1][1] <= ends[1][0] * ends[0][1]
    low_n, low_d = (np.where(first_lower, ends[0][i], ends[1][i]) for i in (0, 1))
    high_n, high_d = (np.where(first_lower, ends[1][i], ends[0][i]) for i in (0, 1))
    low, high = low_n // low_d, high_n // high_d
    solve = np.maximum(0, np.minimum(high, code_max) - np.maximum(low, code_min))
    by_evaluation = (x_hi - x_lo + 1) < solve  # fewer inputs than levels to solve: evaluate at every input
    k = _objects(list(range(code_min + 1, code_max + 1)), (code_max - code_min,))
    reached = k * low_d[..., None] <= low_n[..., None]  # every x in range reaches this level
    unreached = k * high_d[..., None] > high_n[..., None]
    op = np.where(reached, ALL, np.where(unreached, NONE, GE))
    n, d = np.broadcast_to(k, op.shape), np.ones(op.shape, dtype=object)
    for step in reversed(chain.steps):
        op, n, d = _PRE[type(step)](step, shape, op, n, d)
    thresholds, signs = _rows(op, n, d, x_lo, x_hi, by_evaluation)
    for index in np.ndindex(*shape):
        if by_evaluation[index]:
            thresholds[index], signs[index] = _levels_by_evaluation(chain, index, code_min, code_max, x_lo, x_hi)
    return thresholds, signs


def _rows(op, n, d, x_lo: int, x_hi: int, skip: np.ndarray):
    """Thresholds and signs from the pulled-back conditions (chain.integer_condition and the clipping of
    chain._levels_by_preimage); elements where `skip` holds are left for evaluation."""
    ge, le = (op == GE) | (op == GT), (op == LE) | (op == LT)
    d = np.where(ge | le, d, 1)
    floor, ceil = n // d, -((-n) // d)
    t = np.where(op == GE, ceil, np.where(op == GT, floor + 1, np.where(op == LE, floor, ceil - 1)))
    any_ge, any_le = ge.any(axis=-1), le.any(axis=-1)
    if (any_ge & any_le & ~skip).any():
        raise AssertionError("a monotone chain produced thresholds in both directions")
    sign = np.where(any_le & ~any_ge, -1, 1)
    lo = np.where(sign == 1, x_lo, -x_hi)[..., None].astype(object)
    hi = np.where(sign == 1, x_hi, -x_lo)[..., None].astype(object)
    clipped = np.minimum(np.maximum(sign[..., None] * t, lo), hi + 1)
    row = np.where(op == ALL, lo, np.where(op == NONE, hi + 1, clipped))
    row[skip] = 0
    row = row.astype(np.int64)
    if (row[..., 1:] < row[..., :-1]).any():
        raise AssertionError("thresholds of a monotone chain are not sorted")
    return row, sign.astype(np.int64)
