"""fpgaq.plan.requant: exact requantizers clip((M * y + B) >> S, 0, L) in place of threshold rows.

Every check compares against an independent count: numpy's searchsorted over the thresholds, or the
quantizer's rounding evaluated in exact fractions, on every integer of small ranges and on the boundaries and
a random sample of wide ones.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq.plan.requant import (
    Requant,
    derive_row,
    derive_table,
    equivalent,
    implied_thresholds,
    minimal_form,
    product_bits,
)

ROUNDINGS = {
    "floor": math.floor,
    "ceil": math.ceil,
    "half_up": lambda v: math.floor(v + Fraction(1, 2)),
    "half_even": round,  # Fraction.__round__ rounds half to even
}


def table_count(t_row, ys: np.ndarray) -> np.ndarray:
    """#{l : y >= t[l]} for every y."""
    return np.searchsorted(np.sort(np.asarray(t_row, dtype=np.int64)), ys, side="right")


def requant_count(M: int, B: int, S: int, L: int, ys: np.ndarray) -> np.ndarray:
    """clip((M * y + B) >> S, 0, L) in int64 (the callers' products fit 62 bits)."""
    return np.clip((np.int64(M) * ys + np.int64(B)) >> np.int64(S), 0, L)


def codes(scale: Fraction, zero: Fraction, mode: str, L: int, y: int) -> int:
    """The quantizer itself: clip(round(scale * y + zero), 0, L)."""
    return min(max(ROUNDINGS[mode](scale * y + zero), 0), L)


def thresholds_by_evaluation(scale, zero, mode, L, ylo, yhi) -> list[int]:
    """Each level's smallest y in [ylo, yhi] reaching it (yhi + 1 when none does), as fpgaq clips them."""
    values = [codes(scale, zero, mode, L, y) for y in range(ylo, yhi + 1)]
    return [next((ylo + i for i, v in enumerate(values) if v >= k), yhi + 1) for k in range(1, L + 1)]


def thresholds_by_formula(scale: Fraction, zero: Fraction, mode: str, L: int) -> list[int]:
    """Unclipped thresholds of clip(round(scale * y + zero), 0, L), scale > 0: the smallest integer y with
    round(v) >= k, solved for each rounding mode."""
    out = []
    for k in range(1, L + 1):
        edge = (k - zero) / scale  # floor(v) >= k  <=>  v >= k
        half = (k - Fraction(1, 2) - zero) / scale  # the tie point k - 1/2
        if mode == "floor":
            out.append(math.ceil(edge))
        elif mode == "ceil":  # ceil(v) >= k  <=>  v > k - 1
            out.append(math.floor((k - 1 - zero) / scale) + 1)
        elif mode == "half_up":
            out.append(math.ceil(half))
        else:  # half to even: the tie reaches k only when k is even
            out.append(math.ceil(half) if k % 2 == 0 else math.floor(half) + 1)
    return out


def assert_exact_on_every_input(t_row, form, ylo: int, yhi: int) -> None:
    M, B, S = form
    assert M > 0
    assert product_bits(M, B, ylo, yhi) <= 62
    ys = np.arange(ylo, yhi + 1, dtype=np.int64)
    np.testing.assert_array_equal(requant_count(M, B, S, len(t_row), ys), table_count(t_row, ys))


def boundary_and_sample(t_row, ylo: int, yhi: int, n: int, seed: int) -> np.ndarray:
    """Both ends of the range, both sides of every threshold inside it, and n random inputs."""
    t = np.asarray(t_row, dtype=np.int64)
    ys = np.concatenate([[ylo, yhi], t - 1, t, np.random.default_rng(seed).integers(ylo, yhi + 1, n)])
    return ys[(ys >= ylo) & (ys <= yhi)]


# ---- the requantizer's thresholds and the proof --------------------------------------------------------------


@given(st.integers(1, 1000), st.integers(-5000, 5000), st.integers(0, 12), st.integers(1, 20))
def test_implied_thresholds_are_the_first_inputs_reaching_each_level(M, B, S, L):
    for k, tau in enumerate(implied_thresholds(M, B, S, L), start=1):
        assert (M * tau + B) >> S >= k
        assert (M * (tau - 1) + B) >> S < k


@st.composite
def near_requantizers(draw):
    """A requantizer, a range and a row: its own thresholds (some pushed past the range) or a perturbed copy."""
    M, B = draw(st.integers(1, 40)), draw(st.integers(-150, 150))
    S, L = draw(st.integers(0, 5)), draw(st.integers(1, 8))
    ylo = draw(st.integers(-40, 40))
    yhi = ylo + draw(st.integers(0, 60))
    row = implied_thresholds(M, B, S, L)
    row = [t - 100 if t <= ylo and draw(st.booleans()) else t for t in row]  # the same count on the range
    if draw(st.booleans()):
        i = draw(st.integers(0, L - 1))
        row[i] += draw(st.sampled_from([-3, -1, 1, 2]))
        row.sort()
    return row, (M, B, S), ylo, yhi


@settings(max_examples=300, deadline=None)
@given(near_requantizers())
def test_equivalent_is_exactly_equality_on_the_range(case):
    row, (M, B, S), ylo, yhi = case
    ys = np.arange(ylo, yhi + 1, dtype=np.int64)
    same = bool(np.array_equal(requant_count(M, B, S, len(row), ys), table_count(row, ys)))
    assert equivalent(row, M, B, S, ylo, yhi) == same


def test_equivalent_sees_a_one_step_difference_and_ignores_the_order():
    row = implied_thresholds(3, -1, 3, 3)  # floor(y / 3), three levels
    assert row == [3, 6, 9]
    assert equivalent(row, 3, -1, 3, 0, 20)
    assert equivalent([9, 3, 6], 3, -1, 3, 0, 20)
    assert not equivalent([3, 7, 9], 3, -1, 3, 0, 20)  # differs at y = 6 only
    assert not equivalent([3, 7, 9], 3, -1, 3, 0, 6)
    assert equivalent([3, 7, 9], 3, -1, 3, 0, 5)  # the range ends before the difference
    assert equivalent([3, 7, 9], 3, -1, 3, 7, 20)
    assert equivalent(row, 3, -1, 3, 6, 6)
    assert not equivalent([3, 7, 9], 3, -1, 3, 6, 6)
    with pytest.raises(ValueError):
        equivalent(row, 3, -1, 3, 5, 4)


# ---- one row --------------------------------------------------------------------------------------------------


@st.composite
def quantizers(draw):
    """A uniform quantizer clip(round(scale * y + zero), 0, L) with rational scale and zero point, and a range."""
    scale = Fraction(draw(st.integers(1, 60)), draw(st.integers(1, 60)))
    zero = Fraction(draw(st.integers(-300, 300)), draw(st.integers(1, 12)))
    L = draw(st.integers(1, 24))
    ylo = draw(st.integers(-150, 100))
    yhi = ylo + draw(st.integers(0, 220))
    return scale, zero, L, ylo, yhi


@settings(max_examples=250, deadline=None)
@given(quantizers(), st.sampled_from(sorted(ROUNDINGS)), st.booleans())
def test_rows_of_uniform_quantizers(quantizer, mode, unclip):
    """floor, ceil and half-up rows always have an exact form; a half-to-even row has one or None, never a
    wrong one. Thresholds clipped to the range (as fpgaq stores them) or not give the same answer."""
    scale, zero, L, ylo, yhi = quantizer
    row = thresholds_by_evaluation(scale, zero, mode, L, ylo, yhi)
    ys = np.arange(ylo, yhi + 1, dtype=np.int64)
    quantized = np.array([codes(scale, zero, mode, L, int(y)) for y in ys])
    np.testing.assert_array_equal(table_count(row, ys), quantized)  # the generator itself
    if unclip:
        row = [min(row[0], t) if t <= ylo else t for t in row]
        row = [t - 7 if t <= ylo else t + 7 if t > yhi else t for t in row]
    form = derive_row(row, ylo, yhi)
    if mode != "half_even":
        assert form is not None, (row, ylo, yhi)
    if form is not None:
        assert_exact_on_every_input(row, form, ylo, yhi)
        np.testing.assert_array_equal(requant_count(*form, L, ys), quantized)


def brute_force_form_at(row, ylo: int, yhi: int, shift: int) -> bool:
    """Whether some M, B make the requantizer equal to the row at this shift, by trying every M and B that
    can matter: M * (y_q - y_p) < (K_q - K_p) * 2**shift bounds M by L * 2**shift once the row has an inner
    step, and an offset outside the window gives a constant output (a constant row needs no shift)."""
    L = len(row)
    ys = np.arange(ylo, yhi + 1, dtype=np.int64)
    want = table_count(row, ys)
    reach = max(abs(ylo), abs(yhi)) + 1
    for M in range(1, (L + 1) << shift):
        window = M * reach + ((L + 1) << shift)
        offsets = np.arange(-window, window + 1, dtype=np.int64)
        got = np.clip((M * ys[None, :] + offsets[:, None]) >> shift, 0, L)
        if np.any(np.all(got == want[None, :], axis=1)):
            return True
    return False


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-14, 16), min_size=1, max_size=3).map(sorted),
    st.integers(-12, 0),
    st.integers(0, 12),
)
def test_the_shift_is_the_smallest(row, ylo, yhi):
    form = minimal_form(row, ylo, yhi)
    if form is None:
        assert not any(brute_force_form_at(row, ylo, yhi, s) for s in range(6))
        return
    assert_exact_on_every_input(row, form, ylo, yhi)
    if form[2] > 0:
        assert not brute_force_form_at(row, ylo, yhi, form[2] - 1)


def test_floor_division_by_three():
    assert derive_row([3, 6, 9], 0, 20) == (3, -1, 3)  # floor((3 y - 1) / 8) = floor(y / 3) up to 3 levels
    assert_exact_on_every_input([3, 6, 9], (3, -1, 3), 0, 20)


@pytest.mark.parametrize(
    "row, ylo, yhi",
    [
        ([0, 1, 5, 6], -10, 20),  # steps of 1 ask for a threshold spacing r < 2, the step of 4 for r > 3
        ([0, 1, 5, 6], -10, 4),  # level 3 not reached by 4 still asks for r > 3
        ([0, 1, 5, 6], 2, 20),  # two levels at once, then steps of 3 and 1
        ([2, 2, 2, 5, 5, 9], -8, 12),  # a triple asks for r < 1 / 2, the step to 5 for r > 2 / 3
    ],
)
def test_no_affine_form(row, ylo, yhi):
    assert derive_row(row, ylo, yhi) is None
    assert derive_row(row, ylo, yhi, max_bits=None) is None
    assert not any(brute_force_form_at(row, ylo, yhi, s) for s in range(4))


def test_a_line_once_the_range_cuts_the_break():
    form = derive_row([0, 1, 5, 6], -10, 2)  # levels 3 and 4 only need to stay unreached by 2
    assert form == (3, 5, 2)
    assert_exact_on_every_input([0, 1, 5, 6], form, -10, 2)


def test_half_to_even_ties_break_the_line():
    """round(y / 2) to even: ties at odd y go down, then up, so the thresholds step by 1, 3, 1, 3."""
    row = thresholds_by_evaluation(Fraction(1, 2), Fraction(0), "half_even", 7, -50, 50)
    assert row == [2, 3, 6, 7, 10, 11, 14]
    assert derive_row(row, -50, 50) is None
    half_up = thresholds_by_evaluation(Fraction(1, 2), Fraction(0), "half_up", 7, -50, 50)
    assert_exact_on_every_input(half_up, derive_row(half_up, -50, 50), -50, 50)


@pytest.mark.parametrize(
    "row, ylo, yhi",
    [
        ([-100, -5, -3], -3, 40),  # every level always reached: constant L
        ([50, 60, 70], -3, 40),  # never reached: constant 0
        ([-3, -3, 41], -3, 40),  # constant 2
        ([7], -20, 20),  # one level
        ([7], 7, 7),  # one input
        ([-3, -3, 41], -3, 40),  # constant 2: M * y must stay within one step of the shift
        ([2, 2, 3, 3, 4, 4], -8, 12),  # duplicates
        ([-5, -5, -4, -4, 30, 30], -4, 12),  # duplicates, clamped at both ends: constant 4
        ([-38, -35, -32, -29, -26, -23], -40, -25),  # a negative range, the last level never reached
        ([], -5, 5),  # no level at all
    ],
)
def test_special_rows(row, ylo, yhi):
    form = derive_row(row, ylo, yhi)
    assert form is not None
    assert_exact_on_every_input(row, form, ylo, yhi)


# ---- wide activations -----------------------------------------------------------------------------------------


def float32_fraction(value: float) -> Fraction:
    return Fraction(float(np.float32(value)))


@pytest.mark.parametrize("mode", ["floor", "ceil", "half_up", "half_even"])
def test_255_levels_on_a_24_bit_range(mode):
    """An 8-bit activation of a 24-bit accumulator: float32 scale ratio, zero point and a float bias."""
    ylo, yhi = -(1 << 23), (1 << 23) - 1
    scale = float32_fraction(0.0123) / float32_fraction(394.8)  # a ratio of float32 scales: not dyadic
    zero = 128 + float32_fraction(0.37)
    row = thresholds_by_formula(scale, zero, mode, 255)
    assert sum(ylo < t <= yhi for t in row) == 255  # every level is a real step inside the range
    form = derive_row(row, ylo, yhi)
    assert form is not None  # no tie falls on an integer input here, so half to even is a line too
    M, B, S = form
    assert equivalent(row, M, B, S, ylo, yhi)
    assert product_bits(M, B, ylo, yhi) <= 62
    ys = boundary_and_sample(row, ylo, yhi, 100_000, seed=1)
    np.testing.assert_array_equal(requant_count(M, B, S, 255, ys), table_count(row, ys))
    for y in boundary_and_sample(row, ylo, yhi, 0, seed=0)[::7]:  # the quantizer itself, in exact fractions
        assert requant_count(M, B, S, 255, np.int64(y)) == codes(scale, zero, mode, 255, int(y))


def test_65535_levels():
    """A 16-bit activation of a 23-bit accumulator: proven exactly, checked at both sides of every threshold,
    the ends of the range and a random sample."""
    ylo, yhi = -(1 << 22), (1 << 22) - 1
    scale = float32_fraction(0.2173) / float32_fraction(12.93)
    zero = 32768 + float32_fraction(-0.21)
    row = thresholds_by_formula(scale, zero, "half_up", 65535)
    assert sum(ylo < t <= yhi for t in row) == 65535
    form = derive_row(row, ylo, yhi)
    assert form is not None
    M, B, S = form
    assert equivalent(row, M, B, S, ylo, yhi)
    assert not equivalent(row, M + 1, B, S, ylo, yhi)
    assert 50 < product_bits(M, B, ylo, yhi) <= 62
    ys = boundary_and_sample(row, ylo, yhi, 200_000, seed=2)
    np.testing.assert_array_equal(requant_count(M, B, S, 65535, ys), table_count(row, ys))


def test_too_wide_a_product_is_refused_and_its_width_reported():
    """65535 levels spread over 2**26 inputs: the line exists, but its product needs more than 62 bits."""
    ylo, yhi = -(1 << 26), (1 << 26) - 1
    scale = float32_fraction(0.0123) / float32_fraction(9.87)
    row = thresholds_by_formula(scale, Fraction(37), "half_up", 65535)
    assert derive_row(row, ylo, yhi) is None
    M, B, S = derive_row(row, ylo, yhi, max_bits=None)
    assert product_bits(M, B, ylo, yhi) > 62
    assert equivalent(row, M, B, S, ylo, yhi)
    assert derive_row(row, ylo, yhi, max_bits=product_bits(M, B, ylo, yhi)) == (M, B, S)


# ---- a table --------------------------------------------------------------------------------------------------


def test_table_with_signs_shared_shift_and_per_row_ranges():
    """Rows of decreasing chains (sign -1) and increasing ones, with their own x ranges; the count of every x
    is the quantizer's code of the row."""
    L = 15
    quantizers = [  # (scale of x, zero point, rounding, x range)
        (Fraction(3, 7), Fraction(5, 2), "floor", (-40, 60)),
        (Fraction(-2, 9), Fraction(7), "half_up", (-50, 30)),
        (Fraction(1, 4), Fraction(0), "ceil", (-10, 70)),  # a dyadic step: a small shift
        (Fraction(-5, 3), Fraction(1, 3), "floor", (-3, 20)),
    ]
    rows, signs, y_ranges = [], [], []
    for scale, zero, mode, (xlo, xhi) in quantizers:
        sign = 1 if scale > 0 else -1
        ylo, yhi = (xlo, xhi) if sign > 0 else (-xhi, -xlo)
        rows.append(thresholds_by_evaluation(abs(scale), zero, mode, L, ylo, yhi))
        signs.append(sign)
        y_ranges.append((ylo, yhi))
    lo, hi = np.array([q[3] for q in quantizers]).T
    req = derive_table(np.array(rows), np.array(signs), lo, hi)
    assert isinstance(req, Requant)
    assert req.levels == L and req.mult.dtype == np.int64 and req.offset.dtype == np.int64
    shifts = [minimal_form(r, ylo, yhi)[2] for r, (ylo, yhi) in zip(rows, y_ranges)]
    assert req.shift == max(shifts) and min(shifts) < req.shift  # some rows were scaled up to the shared shift
    for i, (scale, zero, mode, (xlo, xhi)) in enumerate(quantizers):
        xs = np.arange(xlo, xhi + 1, dtype=np.int64)
        got = requant_count(req.mult[i], req.offset[i], req.shift, L, signs[i] * xs)
        np.testing.assert_array_equal(got, [codes(scale, zero, mode, L, int(x)) for x in xs])
        assert product_bits(req.mult[i], req.offset[i], *y_ranges[i]) <= req.product_bits
    with pytest.raises(AttributeError):
        req.shift = 0


def test_table_refuses_a_row_without_a_line_and_a_too_narrow_product():
    rows = np.array([[0, 3, 6, 9], [0, 1, 5, 6]])
    assert derive_table(rows, np.array([1, 1]), -10, 20) is None
    assert derive_table(rows[:1], np.array([1]), -10, 20) is not None
    req = derive_table(rows[:1], np.array([1]), -10, 20)
    assert derive_table(rows[:1], np.array([1]), -10, 20, max_bits=req.product_bits - 1) is None
    same = derive_table(rows[:1], np.array([1]), -10, 20, max_bits=req.product_bits)
    assert same is not None and (same.shift, int(same.mult[0]), int(same.offset[0])) == (
        req.shift,
        int(req.mult[0]),
        int(req.offset[0]),
    )
