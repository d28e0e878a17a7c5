"""Threshold derivation, checked exhaustively over the reachable input range (hypothesis drives the chains)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq.ir.chain import Affine, Chain, Clamp, Round, Sign01, frac_array, none_array, threshold_levels
from fpgaq.ir.types import Rounding, quant_int_range

f32 = st.floats(min_value=-4.0, max_value=4.0, allow_nan=False, width=32)
positive = st.floats(min_value=2**-10, max_value=2.0, allow_nan=False, width=32)


def channel_params(draw, strategy, channels):
    return frac_array(np.array([draw(strategy) for _ in range(channels)], dtype=np.float32), 1)


@st.composite
def quant_chains(draw):
    """input range, a chain (dot-product scale and bias, maybe BN, Relu/Clip, Mul) and a Quant/Bipolar end."""
    channels = draw(st.integers(1, 3))
    x_lo = draw(st.integers(-300, 50))
    x_hi = x_lo + draw(st.integers(0, 400))
    chain = Chain(1).then(Affine(channel_params(draw, positive, channels) / 64, channel_params(draw, f32, channels)))
    if draw(st.booleans()):  # batch norm: any sign
        chain = chain.then(Affine(channel_params(draw, f32, channels), channel_params(draw, f32, channels)))
    clamp = draw(st.sampled_from(["none", "relu", "clip"]))
    if clamp == "relu":
        chain = chain.then(Clamp(frac_array(0, 1), none_array(1)))
    elif clamp == "clip":
        lo = draw(st.floats(-2, 0, width=32))
        chain = chain.then(Clamp(frac_array(lo, 1), frac_array(lo + draw(st.floats(0, 3, width=32)), 1)))
    if draw(st.booleans()):  # a float Mul by a constant
        chain = chain.then(Affine(channel_params(draw, f32, 1), frac_array(0, 1)))
    scale = channel_params(draw, positive, channels) / 8
    if draw(st.booleans()):
        end = chain.then(Affine(1 / scale, frac_array(0, 1))).then(Sign01())
        return end, 0, 1, x_lo, x_hi
    bits, signed, narrow = draw(st.integers(1, 8)), draw(st.booleans()), draw(st.booleans())
    if bits == 1:
        signed = False
    zero = frac_array(draw(st.integers(-3, 3)) if not signed else 0, 1)
    lo, hi = quant_int_range(bits, signed, narrow)
    mode = draw(st.sampled_from(list(Rounding)))
    end = chain.then(Affine(1 / scale, zero)).then(Clamp(frac_array(lo, 1), frac_array(hi, 1))).then(Round(mode))
    return end, lo, hi, x_lo, x_hi


@settings(max_examples=300, deadline=None)
@given(quant_chains())
def test_thresholds_reproduce_the_chain_on_every_input(case):
    chain, code_min, code_max, x_lo, x_hi = case
    thresholds, sign = threshold_levels(chain, code_min, code_max, x_lo, x_hi)
    assert thresholds.shape == chain.param_shape() + (code_max - code_min,)
    for index in np.ndindex(*chain.param_shape()):
        t, s = thresholds[index], sign[index]
        assert np.all(np.diff(t) >= 0)
        lo, hi = (x_lo, x_hi) if s == 1 else (-x_hi, -x_lo)
        assert np.all((t >= lo) & (t <= hi + 1))
        for x in range(x_lo, x_hi + 1):
            expect = chain.evaluate(x, index)
            assert code_min + int(np.sum(s * x >= t)) == expect, (x, index)


values = st.fractions(min_value=-40, max_value=40, max_denominator=8)


@given(values, st.sampled_from(list(Rounding)))
def test_rounding_matches_numpy(y, mode):
    from fpgaq.ir.hostio import _NUMPY_ROUNDING

    as_float = np.float64(y.numerator) / np.float64(y.denominator)  # exact: small dyadic values
    assert mode.apply(y) == int(_NUMPY_ROUNDING[mode](np.array([as_float]))[0])


@given(values, st.sampled_from(list(Rounding)), st.integers(-45, 45))
def test_at_least_is_the_preimage_of_rounding(y, mode, k):
    op, t = mode.at_least(k)
    assert (mode.apply(y) >= k) == (y >= t if op == ">=" else y > t)


def test_half_even_tie_rule_follows_the_level_parity():
    assert Rounding.ROUND.apply(Fraction(5, 2)) == 2 and Rounding.ROUND.apply(Fraction(7, 2)) == 4
    assert Rounding.ROUND.at_least(2) == (">=", Fraction(3, 2))
    assert Rounding.ROUND.at_least(3) == (">", Fraction(5, 2))
    assert Rounding.parse("half_even") is Rounding.ROUND and Rounding.parse(b"DOWN") is Rounding.ROUND_TO_ZERO


@settings(max_examples=200, deadline=None)
@given(quant_chains())
def test_both_threshold_methods_agree(case):
    """Pulling each level back through the chain and evaluating the chain at every input give the same table."""
    from fpgaq.ir.chain import _levels_by_evaluation, _levels_by_preimage

    chain, code_min, code_max, x_lo, x_hi = case
    for index in np.ndindex(*chain.param_shape()):
        ends = [chain.evaluate(x, index) for x in (x_lo, x_hi)]
        by_preimage = _levels_by_preimage(chain, index, ends, code_min, code_max, x_lo, x_hi)
        by_evaluation = _levels_by_evaluation(chain, index, code_min, code_max, x_lo, x_hi)
        assert by_preimage[1] == by_evaluation[1]
        np.testing.assert_array_equal(by_preimage[0], by_evaluation[0])
