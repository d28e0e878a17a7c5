"""tiled_ranges from running sums (fpgaq.bounds.running_sums, computed once per layer and remembered by
fpgaq.plan.layer_cache) against the per-tile reference (prefix_range and tile_prefix_range), exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq import bounds
from fpgaq.ir import graph as ir
from fpgaq.ir.types import IntType
from fpgaq.plan import layer_cache
from fpgaq.plan.layout import divisors


def reference(w, mu, nu, bias, tile):
    o_lo, o_hi = bounds.prefix_range(w, mu, nu, bias, tile)
    i_lo, i_hi = bounds.tile_prefix_range(w, mu, nu, tile)
    return (min(o_lo), max(o_hi)), (min(i_lo), max(i_hi))


@st.composite
def layers(draw):
    oc, k = draw(st.integers(1, 5)), draw(st.integers(0, 24))
    scale = draw(st.sampled_from([1, 1, 2**40, 2**58]))  # 2**58: the Python-int (object) path of exact_array
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    w = rng.integers(-8, 8, size=(oc, k)) * scale
    mu = draw(st.integers(-20, 20))
    nu = mu + draw(st.integers(0, 30))
    bias = rng.integers(-1000, 1000, size=oc) if draw(st.booleans()) else None
    return w, mu, nu, bias, draw(st.integers(1, 30))


@settings(max_examples=400, deadline=None)
@given(layers())
def test_tiled_ranges_equal_the_per_tile_reference(layer):
    got = bounds.tiled_ranges(*layer)
    assert got == reference(*layer)
    assert all(type(v) is int for register in got for v in register)


@settings(max_examples=100, deadline=None)
@given(layers(), st.permutations(range(24)))
def test_the_layer_cache_answers_per_column_order_and_simd(layer, perm):
    w, mu, nu, bias, _ = layer
    k = w.shape[1]
    node = ir.Dense("fc", ("x",), "y", "Gemm_0", w, bias, IntType(8, True))
    order = np.array([p for p in perm if p < k], dtype=np.int64)
    for columns, rows in ((b"", w), (order.tobytes(), w[:, order])):
        for simd in divisors(k) or [1]:
            expect = reference(rows, mu, nu, bias, simd)
            assert layer_cache.tiled_ranges_of(node, rows, columns, mu, nu, simd) == expect
            assert layer_cache.tiled_ranges_of(node, rows, columns, mu, nu, simd) == expect  # remembered


@given(st.integers(0, 5000))
def test_divisors(n):
    assert divisors(n) == [d for d in range(1, n + 1) if n % d == 0]
