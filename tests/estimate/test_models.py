"""The kernel models: FINN-R's memory table, cycle formulas, and the properties the folding search relies on."""

from __future__ import annotations

import math

from hypothesis import assume, given, settings
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
    buffer = models.memory(8, 8 * 4).lut  # MW / SIMD = 8 words of SIMD lanes
    assert cost.lut == round(300 + 1.1 * 2 * (mult + adder + 11)) + c2 + buffer
    assert cost.bram18 == 0 and cost.dsp == 0


def test_width_converter_moves_gcd_elements_per_cycle():
    assert models.dwc(num=96, in_w=4, out_w=8, in_bits=4, out_bits=4).cycles == 24
    assert models.dwc(num=96, in_w=8, out_w=4, in_bits=4, out_bits=4).cycles == 24
    assert models.dwc(num=96, in_w=4, out_w=6, in_bits=4, out_bits=4).cycles == 48
    assert models.dwc(num=96, in_w=1, out_w=96, in_bits=4, out_bits=4).cycles == 96


def _replay(*, h, oh, sh, pt, span, rows, row_words, out_row_words) -> list[tuple[bool, bool]]:
    """The window generator's loop (swg.h) one iteration at a time, (reads, writes) per cycle: the reference
    for swg_schedule."""
    trace = []
    rows_in = filled = done = written = 0
    while rows_in < h or done < oh:
        top = done * sh - pt
        reading = rows_in < h and rows_in < (max(top, 0) + rows if done < oh else h)
        writing = done < oh and rows_in >= min(top + span, h)
        assert reading or writing
        trace.append((reading, writing))
        if reading:
            filled += 1
            if filled == row_words:
                filled, rows_in = 0, rows_in + 1
        if writing:
            written += 1
            if written == out_row_words:
                written, done = 0, done + 1
    return trace


@given(
    h=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2), pt=st.integers(0, 2),
    pb=st.integers(0, 2), row_words=st.integers(1, 5), per_pixel=st.integers(1, 6), ow=st.integers(1, 4),
)  # fmt: skip
@settings(max_examples=300, deadline=None)
def test_line_buffer_schedule_equals_its_cycle_by_cycle_replay(h, k, s, d, pt, pb, row_words, per_pixel, ow):
    span = (k - 1) * d + 1
    assume(pt < span and pb < span and h + pt + pb >= span)
    oh = (h + pt + pb - span) // s + 1
    geometry = dict(h=h, oh=oh, sh=s, pt=pt, span=span, rows=span + s, row_words=row_words,
                    out_row_words=ow * k * per_pixel)  # fmt: skip
    schedule = models.swg_schedule(**geometry)
    trace = _replay(**geometry)
    assert schedule.cycles == len(trace)
    assert [flags for step, *flags in schedule.phases for _ in range(step)] == [list(t) for t in trace]
    first = schedule.first_word
    assert first == row_words * max(min(span - pt, h), 0)  # the first window waits for its last row only


def test_line_buffer_overlaps_filling_with_windows_and_grows_with_the_width():
    # 8x8x16, 3x3 stride 1 padding 1, 8 channels per word: two rows (32 cycles) before the first window, then
    # 144 window words per output row while the next rows arrive (16 words each): 32 + 8 * 144 cycles
    cost = models.swg(c=16, h=8, w=8, kh=3, kw=3, sh=1, dh=1, pt=1, oh=8, ow=8, simd=8, bits=4, rows=4)
    assert cost.cycles == 32 + 8 * 144
    # memory: 4 rows of 8 pixels x 2 words = 64 words of 32 bits (LUTRAM at <= 128 words)
    assert cost.bram18 == 0 and cost.lut == 300 + models.memory(64, 32).lut + 8 * 4 + 120
    bram = [models.swg(c=64, h=n, w=n, kh=3, kw=3, sh=1, dh=1, pt=1, oh=n, ow=n, simd=8, bits=8, rows=4).bram18
            for n in (32, 64, 128, 256)]  # fmt: skip
    assert bram == [models.bram18(4 * n * 8, 64) for n in (32, 64, 128, 256)]
    assert bram[2] <= 4 * bram[0] and bram[3] <= 2 * bram[2] + 1  # the width, not the area


def test_pool_reducers_read_one_window_word_per_cycle():
    pool = models.pool(c=16, kh=2, kw=2, oh=4, ow=4, lanes=2, in_bits=4, out_bits=4)
    assert pool.cycles == 16 * 8 * 4 and pool.bram18 == 0
    assert models.pool(c=16, kh=3, kw=3, oh=4, ow=4, lanes=16, in_bits=4, out_bits=4).cycles == 16 * 9
