"""Exact integer requantizers in place of threshold tables.

A row of an IR Threshold node counts the levels its input has crossed: count(y) = #{l : y >= t[l]} with y =
sign * x an integer in [ylo, yhi] and t sorted ascending. A uniform quantizer's thresholds follow a line, so a
wide activation (255 or 65535 levels) can often be computed instead of looked up:

    count(y) = clip((M * y + B) >> S, 0, L)        M > 0, >> the arithmetic shift (floor division by 2**S)

This module finds the smallest shift S (and at that shift the smallest multiplier M) for which the requantizer
equals the table on every integer of the range, or says that none exists, and proves every answer with
`equivalent` before returning it. All arithmetic is exact: Python integers and fractions.Fraction.

The derivation is a digital-straight-line recognition. Write K = l + 1 and c[l] = clamp(t[l], ylo, yhi + 1).
The requantizer reaches level K at y exactly when M * y + B >= K * 2**S, so equality with the table means:
the line z = (M * y + B) / 2**S lies on or above every point P = (c[l], K) with c[l] <= yhi (level K is
reached at c[l]) and strictly below every point Q = (c[l] - 1, K) with c[l] - 1 >= ylo (it is not reached
one step earlier). Only the upper convex hull of the P points and the lower convex hull of the Q points
constrain a line; for a fixed M an integer B exists exactly when every pair (p, q) of hull vertices has
M * (y_p - y_q) >= (K_p - K_q) * 2**S + 1. Those pairwise bounds give the interval of M at each shift, and
over the reals (S -> infinity) the open interval (m_lo, m_hi) of slopes of separating lines: the table has an
affine form exactly when that interval is not empty, and then a shift with 2**S * (m_hi - m_lo) >= 3 always
works. A solution at S gives one at S + 1 (double M and B), so the first shift that works is the smallest.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from fpgaq.bounds import bits_for_range
from fpgaq.ir import graph as ir
from fpgaq.ir.types import IntType
from fpgaq.passes.clip_thresholds import input_ranges
from fpgaq.plan.tables import LINEAR_MAX_LEVELS

DEFAULT_MAX_BITS = 62
"""Widest product M * y + B (and M * y) a requantizer may need: a C-simulation in 64-bit integers is safe."""


@dataclass(frozen=True)
class Requant:
    """count = clip((mult[row] * (sign[row] * x) + offset[row]) >> shift, 0, levels), per row of a table.

    `product_bits` is the width of a two's complement (or, when never negative, unsigned) integer holding
    mult * y and mult * y + offset for every row and every y in its range: the hardware accumulator type.
    """

    mult: np.ndarray
    offset: np.ndarray
    shift: int
    levels: int
    product_bits: int


# ---- the requantizer's thresholds and the proof --------------------------------------------------------------


def implied_thresholds(M: int, B: int, S: int, L: int) -> list[int]:
    """The thresholds of clip((M * y + B) >> S, 0, L): tau[l] = the smallest integer y with
    (M * y + B) >> S >= l + 1, i.e. ceil(((l + 1) * 2**S - B) / M), in exact integers."""
    M, B, S = int(M), int(B), int(S)
    if M <= 0:
        raise ValueError(f"the multiplier must be positive, not {M}")
    return [-((B - (k << S)) // M) for k in range(1, int(L) + 1)]


def _clamp(value: int, ylo: int, yhi: int) -> int:
    """A threshold as the range sees it: below ylo every input crosses it, above yhi none does."""
    return min(max(value, ylo), yhi + 1)


def _check_range(ylo: int, yhi: int) -> tuple[int, int]:
    ylo, yhi = int(ylo), int(yhi)
    if ylo > yhi:
        raise ValueError(f"empty input range [{ylo}, {yhi}]")
    return ylo, yhi


def equivalent(t_row, M: int, B: int, S: int, ylo: int, yhi: int) -> bool:
    """Whether clip((M * y + B) >> S, 0, L) == #{l : y >= t_row[l]} for every integer y in [ylo, yhi].

    Proof (exact, O(L)). On the range, y >= t holds exactly when y >= clamp(t, ylo, yhi + 1): below ylo every
    y crosses t and so does every y >= ylo; above yhi no y crosses t and none is >= yhi + 1. With M > 0,
    q(y) = (M * y + B) >> S is non-decreasing, and for an integer q, clip(q, 0, L) = #{l < L : q >= l + 1} =
    #{l : y >= tau[l]} with tau = implied_thresholds (the smallest y reaching each level). Both sides are
    therefore counts of clamped thresholds, and equal clamped sorted thresholds give equal counts everywhere.
    Conversely a sorted clamped row is determined by its count function (its l-th entry is the smallest y in
    the range whose count exceeds l, or yhi + 1 when none does), so a difference in any clamped threshold is a
    difference of the functions: the test is necessary and sufficient. t_row need not be sorted (a count does
    not depend on the order of its thresholds); it is sorted here.
    """
    ylo, yhi = _check_range(ylo, yhi)
    row = sorted(int(t) for t in np.asarray(t_row).reshape(-1))
    if int(M) <= 0:
        return False
    taus = implied_thresholds(M, B, S, len(row))
    return all(_clamp(tau, ylo, yhi) == _clamp(t, ylo, yhi) for tau, t in zip(taus, row))


def product_bits(M: int, B: int, ylo: int, yhi: int) -> int:
    """Bits of the narrowest integer holding M * y and M * y + B for every y in [ylo, yhi] (M > 0)."""
    M, B = int(M), int(B)
    lo, hi = M * int(ylo), M * int(yhi)
    return bits_for_range(min(lo, lo + B), max(hi, hi + B))


# ---- the derivation -------------------------------------------------------------------------------------------


def _points(row: list[int], ylo: int, yhi: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The P points (level K reached at y, keep the highest K per y) and the Q points (level K not yet reached
    at y, keep the lowest K per y), each sorted by y, for a sorted row."""
    below: dict[int, int] = {}
    above: dict[int, int] = {}
    for level, t in enumerate(row, start=1):
        c = _clamp(t, ylo, yhi)
        if c <= yhi:
            below[c] = level  # ascending levels: the last one written is the highest
        if c - 1 >= ylo:
            above.setdefault(c - 1, level)  # the first one written is the lowest
    return sorted(below.items()), sorted(above.items())


def _cross(o: tuple[int, int], a: tuple[int, int], b: tuple[int, int]) -> int:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _hull(points: list[tuple[int, int]], upper: bool) -> list[tuple[int, int]]:
    """Upper (or lower) convex hull of points sorted by x (Andrew's monotone chain, collinear points dropped):
    a line above (below) the hull's vertices is above (below) every point, since each is between two."""
    hull: list[tuple[int, int]] = []
    turn = 1 if upper else -1  # keep clockwise turns on the upper hull, counter-clockwise on the lower
    for p in points:
        while len(hull) >= 2 and turn * _cross(hull[-2], hull[-1], p) >= 0:
            hull.pop()
        hull.append(p)
    return hull


def _pairs(low: list[tuple[int, int]], high: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """(dK, dy) = (K_p - K_q, y_p - y_q) for every pair of a P hull vertex and a Q hull vertex; the line's
    slope m must have m * dy > dK. None when a pair with dy == 0 rules out every line."""
    pairs = []
    for yp, kp in low:
        for yq, kq in high:
            if yp == yq and kq <= kp:
                return None
            if yp != yq:
                pairs.append((kp - kq, yp - yq))
    return pairs


def _slope_interval(pairs: list[tuple[int, int]]) -> tuple[Fraction, Fraction | None]:
    """The open interval (m_lo, m_hi) of real slopes m > 0 with m * dy > dK for every pair (m_hi None: no
    upper bound)."""
    m_lo, m_hi = Fraction(0), None
    for dk, dy in pairs:
        bound = Fraction(dk, dy)
        if dy > 0:
            m_lo = max(m_lo, bound)
        elif m_hi is None or bound < m_hi:
            m_hi = bound
    return m_lo, m_hi


def _multiplier_range(pairs: list[tuple[int, int]], shift: int) -> tuple[int, int | None]:
    """Integers M >= 1 with M * dy >= dK * 2**shift + 1 for every pair: [M_lo, M_hi] (M_hi None: unbounded)."""
    m_lo, m_hi = 1, None
    for dk, dy in pairs:
        need = (dk << shift) + 1
        if dy > 0:
            m_lo = max(m_lo, -(-need // dy))
        else:
            cap = need // dy  # floor(need / dy): dividing by a negative dy flips the inequality
            m_hi = cap if m_hi is None else min(m_hi, cap)
    return m_lo, m_hi


def _offset(low, high, M: int, shift: int) -> int:
    """The offset nearest 0 in [max_P K * 2**S - M * y, min_Q K * 2**S - M * y - 1] (nearest 0 keeps the
    product M * y + B as narrow as M * y allows)."""
    b_lo = max(((k << shift) - M * y for y, k in low), default=None)
    b_hi = min(((k << shift) - M * y - 1 for y, k in high), default=None)
    b = 0 if b_hi is None else min(0, b_hi)
    b = b if b_lo is None else max(b, b_lo)
    if b_hi is not None and b > b_hi:
        raise AssertionError("the multiplier admits no offset (the pairwise bounds are wrong)")
    return b


def _max_shift(m_lo: Fraction, m_hi: Fraction | None) -> int:
    """A shift at which a solution surely exists: M may range over [2**S m_lo + 1, 2**S m_hi - 1], which holds
    an integer once 2**S (m_hi - m_lo) >= 3."""
    if m_hi is None:
        return 0
    shift = 0
    while (m_hi - m_lo) * (1 << shift) < 3:
        shift += 1
    return shift


def minimal_form(t_row, ylo: int, yhi: int) -> tuple[int, int, int] | None:
    """(M, B, S) with the smallest shift S, at that shift the smallest M and the B nearest 0, such that the
    requantizer equals the row on [ylo, yhi]; None when the row has no affine form. No limit on widths."""
    ylo, yhi = _check_range(ylo, yhi)
    row = sorted(int(t) for t in np.asarray(t_row).reshape(-1))
    points_p, points_q = _points(row, ylo, yhi)
    low, high = _hull(points_p, upper=True), _hull(points_q, upper=False)
    pairs = _pairs(low, high)
    if pairs is None:
        return None
    m_lo, m_hi = _slope_interval(pairs)
    if m_hi is not None and m_hi <= m_lo:
        return None
    for shift in range(_max_shift(m_lo, m_hi) + 1):
        first, last = _multiplier_range(pairs, shift)
        if last is None or first <= last:
            form = (first, _offset(low, high, first, shift), shift)
            if not equivalent(row, *form, ylo, yhi):
                raise AssertionError(f"derived requantizer {form} differs from its thresholds")
            return form
    raise AssertionError("no shift up to the bound works although the slope interval is open")


def derive_row(t_row, ylo: int, yhi: int, max_bits: int | None = DEFAULT_MAX_BITS) -> tuple[int, int, int] | None:
    """(M, B, S) such that clip((M * y + B) >> S, 0, L) == #{l : y >= t_row[l]} for every integer y in
    [ylo, yhi], proven by `equivalent`; None when no such form exists (the thresholds do not follow a line,
    as half-to-even rounding ties can make them) or when M * y + B needs more than max_bits bits (None: no
    limit; product_bits(M, B, ylo, yhi) gives the bits a form needs).

    Only thresholds inside (ylo, yhi] fix anything exactly; one at or below ylo (above yhi) only asks that
    the level is reached at ylo (not reached at yhi). Constant rows, one level and duplicates need no special
    case: the point sets are then one-sided, small or merged."""
    form = minimal_form(t_row, ylo, yhi)
    if form is None or (max_bits is not None and product_bits(form[0], form[1], ylo, yhi) > max_bits):
        return None
    return form


# ---- a whole table --------------------------------------------------------------------------------------------


def _row_ranges(sign: np.ndarray, lo, hi, rows: int) -> list[tuple[int, int]]:
    """(ylo, yhi) of y = sign * x per row, from the range of x (scalars or one per row)."""
    lo = np.broadcast_to(np.asarray(lo, dtype=object), (rows,))
    hi = np.broadcast_to(np.asarray(hi, dtype=object), (rows,))
    return [(int(a), int(b)) if s > 0 else (-int(b), -int(a)) for s, a, b in zip(sign, lo, hi)]


def _table_bits(mult: list[int], offset: list[int], ranges: list[tuple[int, int]]) -> int:
    """Bits of one integer type holding M * y and M * y + B of every row over its range."""
    lo, hi = 0, 0
    for m, b, (ylo, yhi) in zip(mult, offset, ranges):
        lo = min(lo, m * ylo, m * ylo + b)
        hi = max(hi, m * yhi, m * yhi + b)
    return bits_for_range(lo, hi)


def derive_table(thresholds, sign, lo, hi, max_bits: int = DEFAULT_MAX_BITS) -> Requant | None:
    """One requantizer per row of thresholds [rows, L] (y = sign[row] * x, x in [lo, hi], scalars or per row)
    sharing one shift, the largest any row needs (a row found at a smaller shift d bits lower has its M and B
    multiplied by 2**d, which changes nothing). None when a row has no affine form or the product needs more
    than max_bits bits. Every row is proven with `equivalent` on its own range before the table is returned."""
    if max_bits > DEFAULT_MAX_BITS:
        raise ValueError(f"max_bits is at most {DEFAULT_MAX_BITS} (M and B are stored as int64), not {max_bits}")
    table = np.asarray(thresholds)
    table = table.reshape(int(np.prod(table.shape[:-1])), table.shape[-1])
    rows, levels = table.shape
    signs = np.broadcast_to(np.asarray(sign).reshape(-1), (rows,))
    ranges = _row_ranges(signs, lo, hi, rows)
    known: dict = {}
    forms = []
    for t_row, (ylo, yhi) in zip(table, ranges):
        key = (tuple(int(t) for t in t_row), ylo, yhi)
        if key not in known:
            known[key] = minimal_form(t_row, ylo, yhi)
        if known[key] is None:
            return None
        forms.append(known[key])
    shift = max((s for _, _, s in forms), default=0)
    mult = [m << (shift - s) for m, _, s in forms]
    offset = [b << (shift - s) for _, b, s in forms]
    for t_row, (ylo, yhi), m, b in zip(table, ranges, mult, offset):
        if not equivalent(t_row, m, b, shift, ylo, yhi):
            raise AssertionError("a scaled requantizer differs from its thresholds")
    bits = _table_bits(mult, offset, ranges)
    if bits > max_bits:
        return None
    mult_arr, offset_arr = np.array(mult, dtype=np.int64), np.array(offset, dtype=np.int64)
    mult_arr.setflags(write=False)
    offset_arr.setflags(write=False)
    return Requant(mult_arr, offset_arr, shift, levels, bits)


# ---- the planner's entry: a threshold node's rows ----------------------------------------------------------


@dataclass(frozen=True)
class Requantizer:
    """An exact requantizer for the rows of a threshold: per-row multiplier and offset, one shift, and the type
    of mult * y + offset over the input range."""

    mult: np.ndarray
    offset: np.ndarray
    shift: int
    product: IntType


_REQUANTIZERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def requantizer(graph: ir.Graph, node: ir.Threshold, rows: np.ndarray) -> Requantizer | None:
    """The exact requantizer that replaces a threshold of more than 64 levels on the given rows, or None where
    thresholds stay (64 levels or fewer: parallel comparators need no multiplier; or no affine form, e.g.
    half-to-even ties on integer inputs). Derived once per threshold node and rows (fpgaq.plan.requant proves
    every row) and cached, since the folding search plans a layer many times."""
    levels = node.thresholds.shape[-1]
    if levels <= LINEAR_MAX_LEVELS:
        return None
    cache = _REQUANTIZERS.setdefault(node, {})
    key = rows.tobytes()
    if key not in cache:
        lead = node.thresholds.shape[:-1]
        thr = node.thresholds.reshape(-1, levels)[rows]
        sign = np.broadcast_to(node.sign, lead).reshape(-1)[rows]
        lo, hi = (np.broadcast_to(r, lead).reshape(-1)[rows] for r in input_ranges(graph, node))
        found = derive_table(thr, sign, lo, hi)
        if found is None:
            cache[key] = None
        else:
            ys = [(int(a), int(b)) if v >= 0 else (-int(b), -int(a)) for v, a, b in zip(sign, lo, hi, strict=True)]
            # the kernel converts m and b to the product type before it multiplies: it holds them too
            values = [v for m, b, (ylo, yhi) in zip(found.mult.tolist(), found.offset.tolist(), ys, strict=True)
                      for v in (m, b, m * ylo, m * yhi, m * ylo + b, m * yhi + b)]  # fmt: skip
            product = IntType.for_range(min(values), max(values))
            cache[key] = Requantizer(found.mult, found.offset, found.shift, product)
    return cache[key]
