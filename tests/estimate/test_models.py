"""The kernel models: FINN-R's memory table, cycle formulas, and the properties the folding search relies on."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from fpgaq.estimate import models


def test_bram18_follows_the_sdp_aspect_ratios():
    # (depth, width) -> RAMB18s: 16K x 1, 8K x 2, 4K x 4, 2K x 9, 1K x 18, 512 x 36 (UG573 table 1-10, FINN-R)
    cases = {
        (16384, 1): 1,
        (16385, 1): 2,
        (8192, 2): 1,
        (4096, 4): 1,
        (4096, 8): 2,
        (2048, 9): 1,
        (2049, 9): 2,
        (1024, 18): 1,
        (1025, 18): 2,
        (512, 36): 1,
        (512, 72): 2,
        (600, 36): 2,  # deeper than 512: 1K x 18 words, two wide
        (0, 36): 0,
    }
    for (depth, width), expected in cases.items():
        assert models.bram18(depth, width) == expected, (depth, width)


def test_small_memories_go_to_lutram():
    assert models.memory(128, 32) == models.Cost(lut=64)  # 32 bits x ceil(128 / 64)
    assert models.memory(129, 32).lut == 0 and models.memory(129, 32).bram18 == 1


def test_port_limited_reads():
    assert [models.port_cycles(n) for n in (1, 2, 3, 8, 9)] == [1, 1, 2, 4, 5]


folds = st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16, 24, 48])


@settings(max_examples=200, deadline=None)
@given(
    pe=folds,
    simd=folds,
    oc_mult=st.integers(1, 4),
    k_mult=st.integers(1, 4),
    vectors=st.integers(1, 16),
    groups=st.integers(1, 3),
    w=st.integers(1, 8),
    a=st.integers(1, 8),
)
def test_mvu_cycles_and_work(pe, simd, oc_mult, k_mult, vectors, groups, w, a):
    oc, k = pe * oc_mult, simd * k_mult
    cost = models.mvu(
        vectors=vectors,
        groups=groups,
        k=k,
        oc=oc,
        pe=pe,
        simd=simd,
        input_bits=a,
        weight_bits=w,
        acc_bits=w + a + 4,
        out_bits=4,
    )
    # FINN: (MH / PE) * (MW / SIMD) * vectors, per group
    assert cost.cycles == vectors * groups * (oc // pe) * (k // simd)
    # every multiply-accumulate of the frame happens exactly once: cycles * PE * SIMD = MACs
    assert cost.cycles * pe * simd == vectors * groups * oc * k
    # products are either LUTs or DSPs, never both nor neither
    assert (cost.dsp > 0) == models.uses_dsp(w, a)


@settings(max_examples=100, deadline=None)
@given(
    pe=st.sampled_from([1, 2, 4, 8]), simd=st.sampled_from([1, 2, 4, 8, 16]), w=st.integers(1, 4), a=st.integers(1, 4)
)
def test_more_parallelism_costs_more_logic(pe, simd, w, a):
    """Doubling PE or SIMD never makes the unit's logic (LUT + FF) cheaper: the search's cost ordering."""
    base = dict(vectors=1, groups=1, k=64, oc=64, input_bits=a, weight_bits=w, acc_bits=12, out_bits=4)
    cost = models.mvu(pe=pe, simd=simd, **base)
    for wider in (models.mvu(pe=2 * pe, simd=simd, **base), models.mvu(pe=pe, simd=2 * simd, **base)):
        assert wider.lut + wider.ff >= cost.lut + cost.ff
        assert wider.cycles * 2 == cost.cycles


def test_mvu_luts_match_finn_r_by_hand():
    # W=4, A=4, PE=2, SIMD=8, MW=64, MH=32 -> omega = 64*32/16 = 128 words: LUTRAM (c2 = P*Q*W*ceil(128/64))
    cost = models.mvu(
        vectors=1, groups=1, k=64, oc=32, pe=2, simd=8, input_bits=4, weight_bits=4, acc_bits=11, out_bits=11
    )
    mult = 8 * (2 * math.ceil(8 / 6) - 1) * 8  # Q * (2 ceil((W+A)/6) - 1) * (W+A)
    adder = 8 * (2 * 8 - 1)  # (W+A) * (2Q - 1)
    c2 = 2 * 8 * 4 * 2
    buffer = 8 * models.memory(8, 4).lut  # SIMD lanes of MW / SIMD = 8 words
    assert cost.lut == round(300 + 1.1 * 2 * (mult + adder + 11)) + c2 + buffer
    assert cost.bram18 == 0 and cost.dsp == 0


def test_width_converter_moves_gcd_elements_per_cycle():
    assert models.dwc(num=96, in_w=4, out_w=8, in_bits=4, out_bits=4).cycles == 24
    assert models.dwc(num=96, in_w=8, out_w=4, in_bits=4, out_bits=4).cycles == 24
    assert models.dwc(num=96, in_w=4, out_w=6, in_bits=4, out_bits=4).cycles == 48
    assert models.dwc(num=96, in_w=1, out_w=96, in_bits=4, out_bits=4).cycles == 96


def test_frame_buffered_kernels_count_fill_and_reads():
    # 8x8x16 frame, one element per cycle into 8 banks; 8x8 windows of 144 elements, 8 consecutive channels per
    # word (one word per cycle)
    swg = models.swg(c=16, h=8, w=8, kh=3, kw=3, oh=8, ow=8, win=1, simd=8, bits=4)
    assert swg.cycles == 1024 + 64 * 18
    # 32x32x3 frame from 8-element words (converted to gcd(8, 27) = 1 per cycle); SIMD 27 spans kernel rows
    wide = models.swg(c=3, h=32, w=32, kh=3, kw=3, oh=30, ow=30, win=8, simd=27, bits=8)
    assert wide.cycles == 3072 + 900 * 14
    # SIMD 9 = one kernel row of 3 pixels x 3 channels: consecutive; words of 3 fill rows of 9
    row = models.swg(c=3, h=32, w=32, kh=3, kw=3, oh=30, ow=30, win=3, simd=9, bits=8)
    assert row.cycles == 3072 // 3 + 900 * 3
    # words of 16 into rows of 4: 4 cycles per word
    assert models.swg(c=16, h=8, w=8, kh=3, kw=3, oh=8, ow=8, win=16, simd=4, bits=4).cycles == 64 * 4 + 64 * 36
    # grouped: 4 channels per group, SIMD 2 divides it; SIMD 8 crosses groups
    assert models.swg_contiguous(c=8, kw=3, simd=2, groups=2, dw=1)
    assert not models.swg_contiguous(c=8, kw=3, simd=8, groups=2, dw=1)
    assert not models.swg_contiguous(c=2, kw=2, simd=4, groups=1, dw=2)  # dilated columns are not neighbours
    # pooling: 8x8x16 frame, 2 channels per word in and out, every bank read once per output word
    pool = models.pool(c=16, h=8, w=8, kh=2, kw=2, oh=4, ow=4, win=2, in_bits=4, out_bits=4)
    assert pool.cycles == 512 + 16 * 8
    dilated = models.pool(c=16, h=8, w=8, kh=2, kw=2, oh=4, ow=4, win=2, in_bits=4, out_bits=4, dilated=True)
    assert dilated.cycles == 512 + 16 * 8 * 2
