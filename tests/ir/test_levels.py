"""The vectorized thresholds (fpgaq.ir.levels: integer numerators and denominators over every element and
level at once) against the per-element Fraction reference of fpgaq.ir.chain, on hypothesis' chains."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq.ir import chain as reference
from fpgaq.ir import levels
from fpgaq.ir.chain import Affine, Chain, Clamp, Round, Sign01, frac_array, none_array
from fpgaq.ir.types import Rounding
from tests.ir.test_chain import quant_chains


@st.composite
def wide_chains(draw):
    """Chains the Brevitas-shaped quant_chains do not reach: a Trunc-like second rounding, a zero or negative
    slope, a Clamp with one open side, rank 2 parameters, narrow input ranges (thresholds by evaluation)."""
    rank = 2
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    fractions = st.fractions(min_value=-6, max_value=6, max_denominator=16)

    def param():
        arr = np.empty(shape, dtype=object)
        arr[...] = [[draw(fractions) for _ in range(shape[1])] for _ in range(shape[0])]
        return arr

    chain = Chain(rank).then(Affine(param(), param()))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["affine", "round", "clamp_lo", "clamp_hi", "clamp"]))
        if kind == "affine":
            chain = chain.then(Affine(param(), param()))
        elif kind == "round":
            chain = chain.then(Round(draw(st.sampled_from(list(Rounding)))))
        elif kind == "clamp_lo":
            chain = chain.then(Clamp(param(), none_array(rank)))
        elif kind == "clamp_hi":
            chain = chain.then(Clamp(none_array(rank), param()))
        else:
            lo = draw(fractions)
            chain = chain.then(Clamp(frac_array(lo, rank), frac_array(lo + draw(st.integers(0, 9)), rank)))
    if draw(st.booleans()):
        return chain.then(Sign01()), 0, 1, *_inputs(draw)
    code_min = draw(st.integers(-8, 2))
    code_max = code_min + draw(st.integers(0, 20))
    end = chain.then(Clamp(frac_array(code_min, rank), frac_array(code_max, rank)))
    return end.then(Round(draw(st.sampled_from(list(Rounding))))), code_min, code_max, *_inputs(draw)


def _inputs(draw):
    x_lo = draw(st.integers(-60, 20))
    return x_lo, x_lo + draw(st.integers(0, 60))


def _reference_or_error(case):
    try:
        return reference.threshold_levels(*case)
    except AssertionError as exc:  # a non-monotone chain (a step with a zero or mixed-sign slope): same refusal
        return exc


def _check(case):
    chain, _, _, x_lo, _ = case
    expect = _reference_or_error(case)
    if isinstance(expect, AssertionError):
        with pytest.raises(AssertionError, match=str(expect)):
            levels.threshold_levels(*case)
        return
    thresholds, sign = levels.threshold_levels(*case)
    assert thresholds.dtype == expect[0].dtype and sign.dtype == expect[1].dtype
    np.testing.assert_array_equal(thresholds, expect[0])
    np.testing.assert_array_equal(sign, expect[1])
    for x in (x_lo, x_lo + 1, -x_lo):
        n, d = levels.chain_values(chain, x)
        for index in np.ndindex(*chain.param_shape()):
            assert Fraction(n[index], d[index]) == chain.evaluate(x, index)


@settings(max_examples=300, deadline=None)
@given(quant_chains())
def test_vectorized_thresholds_equal_the_reference_on_quant_chains(case):
    _check(case)


@settings(max_examples=300, deadline=None)
@given(wide_chains())
def test_vectorized_thresholds_equal_the_reference_on_wide_chains(case):
    _check(case)


@given(st.fractions(min_value=-40, max_value=40, max_denominator=12), st.sampled_from(list(Rounding)),
       st.integers(-45, 45))  # fmt: skip
def test_rounding_and_its_preimage_equal_the_reference(y, mode, k):
    n, d = np.array([y.numerator], dtype=object), np.array([y.denominator], dtype=object)
    assert levels.apply_rounding(mode, n, d)[0] == mode.apply(y)
    op, tn, td = levels.at_least(mode, np.array([k], dtype=object))
    ref_op, ref_t = mode.at_least(k)
    assert ({levels.GE: ">=", levels.GT: ">"}[int(op[0])], Fraction(tn[0], td[0])) == (ref_op, ref_t)
