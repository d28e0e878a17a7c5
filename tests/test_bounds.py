"""Accumulator bounds: brute force over every input on small shapes, and qonnx's own range function."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq.bounds import accumulator_range, bits_for_range, datatype_bound_bits, l1_bound
from fpgaq.ir.types import IntType

small_layers = st.tuples(
    st.integers(1, 3),  # output channels
    st.integers(1, 4),  # K
    st.integers(1, 4),  # weight bits
    st.sampled_from([(0, 3), (0, 1), (-2, 1), (-4, 3), (-3, 3), (-1, 1)]),  # input range [mu, nu]
    st.integers(0, 2**31 - 1),
)


def brute_force(w, mu, nu, bias=None):
    values = np.array(list(itertools.product(range(mu, nu + 1), repeat=w.shape[1])), dtype=np.int64)
    acc = values @ w.T + (0 if bias is None else np.asarray(bias))
    return acc.min(axis=0).tolist(), acc.max(axis=0).tolist()


@settings(max_examples=150, deadline=None)
@given(small_layers, st.booleans())
def test_exact_range_equals_brute_force(layer, with_bias):
    oc, k, bits, (mu, nu), seed = layer
    rng = np.random.default_rng(seed)
    w = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(oc, k))
    bias = rng.integers(-50, 50, size=oc) if with_bias else None
    assert accumulator_range(w, mu, nu, bias) == brute_force(w, mu, nu, bias)


@settings(max_examples=100, deadline=None)
@given(small_layers, st.integers(1, 3))
def test_tiled_range_is_the_widest_tile(layer, tile):
    oc, k, bits, (mu, nu), seed = layer
    w = np.random.default_rng(seed).integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(oc, k))
    tiles = [brute_force(w[:, i : i + tile], mu, nu) for i in range(0, k, tile)]
    expect = ([min(t[0][o] for t in tiles) for o in range(oc)], [max(t[1][o] for t in tiles) for o in range(oc)])
    assert accumulator_range(w, mu, nu, tile=tile) == expect


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 64), st.integers(1, 8), st.integers(1, 8), st.booleans(), st.integers(0, 2**31 - 1))
def test_range_matches_qonnx(k, wbits, xbits, signed, seed):
    from qonnx.core.datatype import DataType
    from qonnx.util.basic import calculate_matvec_accumulator_range

    w = np.random.default_rng(seed).integers(-(2 ** (wbits - 1)), 2 ** (wbits - 1), size=(5, k))
    dt = DataType[f"{'INT' if signed else 'UINT'}{xbits}"] if xbits > 1 or not signed else DataType["BIPOLAR"]
    lo, hi = accumulator_range(w, int(dt.min()), int(dt.max()))
    ref_lo, ref_hi = calculate_matvec_accumulator_range(w.T, dt)
    assert (min(lo), max(hi)) == (ref_lo, ref_hi)


@given(st.integers(-(2**40), 2**40), st.integers(0, 2**40))
def test_bits_for_range_is_the_narrowest_type(lo, width):
    hi = lo + width
    bits = bits_for_range(lo, hi)
    t = IntType.for_range(lo, hi)
    assert t.bits == bits and t.min <= lo and hi <= t.max
    if bits > 1:
        narrower = IntType(bits - 1, t.signed)
        assert lo < narrower.min or hi > narrower.max


def test_bits_conventions():
    assert bits_for_range(-128, 127) == 8
    assert bits_for_range(-128, 127, symmetric=True) == 9
    assert bits_for_range(-127, 127, symmetric=True) == 8
    assert bits_for_range(0, 255) == 8 and bits_for_range(0, 0) == 1
    with pytest.raises(ValueError, match=r"empty range \[3, 2\]"):
        bits_for_range(3, 2)


def test_datatype_bound_examples_from_algorithms_md():
    assert datatype_bound_bits(128, 4, 4, input_signed=False) == 16
    assert datatype_bound_bits(256, 8, 4, input_signed=False) == 21
    # the exact data-type worst case is one bit narrower there: 256 * 255 * 8 needs 20 bits
    assert bits_for_range(-256 * 255 * 8, 256 * 255 * 7) == 20


@given(st.integers(2, 32), st.integers(1, 16), st.booleans())
def test_l1_bound_guarantees_no_overflow(p, n, signed):
    budget = l1_bound(p, n, signed)
    worst = budget * (2 ** (n - 1) if signed else 2**n - 1)
    assert worst <= 2 ** (p - 1) - 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="weights must be integers"):
        accumulator_range(np.ones((2, 2)), 0, 1)
    with pytest.raises(ValueError, match=r"empty input range \[2, 1\]"):
        accumulator_range(np.ones((2, 2), dtype=int), 2, 1)
    with pytest.raises(ValueError, match="tile must be a positive integer, not 0"):
        accumulator_range(np.ones((2, 2), dtype=int), 0, 1, tile=0)


@given(st.integers(0, 5000), st.integers(1, 10), st.booleans())
def test_l1_bound_bits_is_the_least_safe_width(l1, n, signed):
    from fpgaq.bounds import l1_bound_bits

    p = l1_bound_bits(l1, n, signed)
    assert l1 <= l1_bound(p, n, signed)
    if p > 2:
        assert l1 > l1_bound(p - 1, n, signed)


@given(st.integers(0, 5000), st.integers(1, 10))
def test_a2q_plus_bits_is_the_least_width(l1, n):
    from fpgaq.bounds import a2q_plus_bits

    p = a2q_plus_bits(l1, n)
    assert l1 * (2**n - 1) <= 2**p - 2
    if p > 1:
        assert l1 * (2**n - 1) > 2 ** (p - 1) - 2


@settings(max_examples=100, deadline=None)
@given(small_layers, st.integers(1, 3), st.booleans())
def test_prefix_range_brute_force(layer, tile, with_bias):
    """Every value the running (tile by tile) accumulator takes, by brute force over all inputs."""
    from fpgaq.bounds import prefix_range

    oc, k, bits, (mu, nu), seed = layer
    rng = np.random.default_rng(seed)
    w = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(oc, k))
    bias = rng.integers(-50, 50, size=oc) if with_bias else np.zeros(oc, dtype=int)
    values = np.array(list(itertools.product(range(mu, nu + 1), repeat=k)), dtype=np.int64)
    seen_lo, seen_hi = list(bias), list(bias)
    for end in range(tile, k + tile, tile):
        partial = values[:, : min(end, k)] @ w[:, : min(end, k)].T + bias
        seen_lo = np.minimum(seen_lo, partial.min(axis=0)).tolist()
        seen_hi = np.maximum(seen_hi, partial.max(axis=0)).tolist()
    assert prefix_range(w, mu, nu, bias, tile) == (seen_lo, seen_hi)


def _python_prefix_range(rows, mu, nu, bias, tile):
    """The reference: per row, tile by tile, with Python ints only (the original loop)."""
    los, his = [], []
    for row, b in zip(rows, bias):
        lo = hi = run_lo = run_hi = b
        for i in range(0, len(row), tile):
            part = row[i : i + tile]
            p, n = sum(v for v in part if v > 0), sum(v for v in part if v < 0)
            run_lo, run_hi = run_lo + mu * p + nu * n, run_hi + nu * p + mu * n
            lo, hi = min(lo, run_lo), max(hi, run_hi)
        los.append(lo)
        his.append(hi)
    return los, his


wide_layers = st.tuples(
    st.integers(1, 4),  # output channels
    st.integers(1, 9),  # K
    st.integers(1, 40),  # weight bits: past 2**31, so that some draws leave the int64 fast path
    st.integers(1, 40),  # input bits
    st.booleans(),  # signed input
    st.integers(1, 4),  # tile
    st.integers(0, 2**31 - 1),
)


@settings(max_examples=200, deadline=None)
@given(wide_layers)
def test_fast_int64_path_equals_the_exact_python_path(layer):
    """bounds computes in int64 when nothing can overflow, else with Python ints: both give identical ints."""
    from fpgaq import bounds

    oc, k, wbits, xbits, signed, tile, seed = layer
    rng = np.random.default_rng(seed)
    w = np.array([[int(v) for v in rng.integers(-(2 ** (wbits - 1)), 2 ** (wbits - 1), size=k)] for _ in range(oc)])
    bias = [int(v) for v in rng.integers(-(2**40), 2**40, size=oc)]
    mu, nu = (-(2 ** (xbits - 1)), 2 ** (xbits - 1) - 1) if signed else (0, 2**xbits - 1)
    expect = _python_prefix_range(w.tolist(), mu, nu, bias, tile)
    assert bounds.prefix_range(w, mu, nu, np.array(bias), tile) == expect
    fast, exact = w.astype(np.int64), w.astype(object)
    if bounds.exact_array(w, mu, nu, np.array(bias)).dtype == np.int64:  # the fast path is taken: same ints
        for f, e in zip(bounds._tile_sums(fast, mu, nu, tile), bounds._tile_sums(exact, mu, nu, tile)):
            assert f.tolist() == e.tolist() and all(type(v) is int for v in f.reshape(-1).tolist())
    assert bounds.prefix_range(exact, mu, nu, np.array(bias, dtype=object), tile) == expect
    assert bounds.tile_prefix_range(fast, mu, nu, tile) == bounds.tile_prefix_range(exact, mu, nu, tile)
    # mu <= 0 <= nu here, so a tile's range from 0 (the reference) is the range of its sum
    tiles = [_python_prefix_range(w[:, i : i + tile].tolist(), mu, nu, [0] * oc, tile) for i in range(0, k, tile)]
    widest = ([min(t[0][o] for t in tiles) for o in range(oc)], [max(t[1][o] for t in tiles) for o in range(oc)])
    assert bounds.accumulator_range(fast, mu, nu, tile=tile) == widest


def test_the_exact_path_is_taken_past_int64():
    from fpgaq.bounds import exact_array, prefix_range

    w = np.array([[2**40, -(2**40)]], dtype=np.int64)
    assert exact_array(w, -(2**30), 2**30).dtype == object
    assert exact_array(w, -(2**10), 2**10).dtype == np.int64
    assert prefix_range(w, -(2**30), 2**30) == ([-(2**71)], [2**71])


@settings(max_examples=100, deadline=None)
@given(small_layers, st.integers(1, 3))
def test_tile_prefix_range_brute_force(layer, tile):
    """Every partial sum inside one tile (from 0, element by element), by brute force over all inputs."""
    from fpgaq.bounds import tile_prefix_range

    oc, k, bits, (mu, nu), seed = layer
    w = np.random.default_rng(seed).integers(-(2 ** (bits - 1)), 2 ** (bits - 1), size=(oc, k))
    values = np.array(list(itertools.product(range(mu, nu + 1), repeat=k)), dtype=np.int64)
    lo, hi = [0] * oc, [0] * oc
    for start in range(0, k, tile):
        for end in range(start + 1, min(start + tile, k) + 1):
            partial = values[:, start:end] @ w[:, start:end].T
            lo = np.minimum(lo, partial.min(axis=0)).tolist()
            hi = np.maximum(hi, partial.max(axis=0)).tolist()
    assert tile_prefix_range(w, mu, nu, tile) == (lo, hi)
