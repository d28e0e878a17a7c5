"""Analytical cycle and resource models of the kernels in hls/, one function per kernel, numbers in and out.

Sources (each formula says which it follows):

[FINN-R]  M. Blott et al., "FINN-R: An End-to-End Deep-Learning Framework for Fast Exploration of Quantized
          Neural Networks", ACM TRETS 2018, section 4 (cost models), as implemented in FINN (finn-plus 1.6.1):
          MVAU_hls.lut_estimation / dsp_estimation and MVAU.bram_estimation (c0 = 300, c1 = 1.1, LUT
          multipliers 2*ceil((W+A)/6)-1 LUTs per product bit, adder tree (W+A)*(2*SIMD-1), weights in LUTRAM
          up to 128 words, BRAM18 by the SDP aspect ratios of UG573 table 1-10).
[FINN]    FINN's other estimators in the same release: the width converter's shift register (StreamingDataWidth-
          Converter.lut_estimation) and the RTL sliding-window generator's base of 300 LUTs
          (ConvolutionInputGenerator_rtl.lut_estimation); cycles = (MH/PE)*(MW/SIMD)*vectors (MVAU.get_exp_cycles).
[UG479]   7 Series DSP48E1 Slice: one multiplier of 25 x 18 signed bits.
[UG579]   UltraScale Architecture DSP Slice: the DSP48E2's multiplier is 27 x 18 signed bits.
[UG573]   UltraScale Architecture Memory Resources: the same RAMB18/RAMB36 aspect ratios as 7 series (UG473); an
          UltraRAM block (UltraScale+) is 4K x 72 bits, cascaded in depth, and cannot be initialized by the
          bitstream (fpgaq writes weights placed there at run time, fpgaq.estimate.placement).
[UG473]   7 Series FPGAs Memory Resources: a block RAM has two ports, so a memory that is not partitioned
          serves at most two accesses per cycle; a RAMB18 holds 16K x 1 ... 512 x 36 bits.
[ours]    Our own rough models where neither FINN nor the papers give one: flip-flops (FINN estimates none),
          DSP binding, stream FIFOs, the line-buffer schedule and the pooling reducers, constant multipliers.
          They are stated here so that `fpgaq synth` (synthesis reports) can calibrate them.

Cycle counts are per frame at II = 1 (the loops in hls/ are flattened and pipelined), with the memory-port
limit of [UG473] applied where a kernel reads several elements of one unpartitioned buffer per cycle.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

from fpgaq.plan.tables import LINEAR_MAX_LEVELS, fifo_storage, storage

LUTRAM_WORDS_PER_LUT = 64  # [FINN-R] c2 = width * ceil(depth / 64): one RAM64X1 per bit and 64 words
URAM_DEPTH, URAM_WIDTH = 4096, 72  # [UG573] one UltraRAM block
DSP_TILE = {"7series": (25, 18), "ultrascale+": (27, 18)}  # [UG479], [UG579]: signed multiplier operand bits
DSP_MIN_OPERAND_BITS = 5  # [ours] a product goes to a DSP48 when both operands have at least 5 bits
BRAM_PORTS = 2  # [UG473] true dual-port block RAM


@dataclass
class Cost:
    cycles: int = 0
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    dsp: int = 0
    uram: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple:
        return (self.cycles, self.lut, self.ff, self.bram18, self.dsp, self.uram)

    def asdict(self) -> dict:
        return dict(zip(("cycles", "lut", "ff", "bram18", "dsp", "uram"), self.astuple()))


def bram18(depth: int, width: int) -> int:
    """RAMB18s for a depth x width memory in simple dual-port mode [FINN-R, UG473 table 1-10]."""
    if depth <= 0 or width <= 0:
        return 0
    if width == 1:
        return math.ceil(depth / 16384)
    if width == 2:
        return math.ceil(depth / 8192)
    if width <= 4:
        return math.ceil(depth / 4096) * math.ceil(width / 4)
    if width <= 9:
        return math.ceil(depth / 2048) * math.ceil(width / 9)
    if width <= 18 or depth > 512:
        return math.ceil(depth / 1024) * math.ceil(width / 18)
    return math.ceil(depth / 512) * math.ceil(width / 36)


def uram(depth: int, width: int) -> int:
    """UltraRAM blocks of a depth x width memory: 72-bit columns of 4K-word blocks [UG573]."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(depth / URAM_DEPTH) * math.ceil(width / URAM_WIDTH)


def memory(depth: int, width: int, kind: str | None = None) -> Cost:
    """A depth x width memory bound to `kind` ("lutram", "bram", "uram"); None: LUTRAM up to LUTRAM_MAX_DEPTH
    words, else block RAM [FINN-R; FINN applies this rule to weights only in its internal_embedded mode - its
    default, internal_decoupled, costs them as BRAM]."""
    if depth <= 0 or width <= 0:
        return Cost()
    if kind == "uram":
        return Cost(uram=uram(depth, width))
    if (kind or storage(depth)) == "lutram":
        return Cost(lut=width * math.ceil(depth / LUTRAM_WORDS_PER_LUT))
    return Cost(bram18=bram18(depth, width))


def port_cycles(accesses: int) -> int:
    """Cycles to serve `accesses` reads of one unpartitioned dual-port memory [UG473]."""
    return max(1, math.ceil(accesses / BRAM_PORTS))


def uses_dsp(weight_bits: int, input_bits: int) -> bool:
    """[ours] HLS binds narrow products (4 bits or fewer on one side) to LUTs, wider ones to DSP48s."""
    return min(weight_bits, input_bits) >= DSP_MIN_OPERAND_BITS


def dsp48_tiles(a_bits: int, b_bits: int, device: str = "7series") -> int:
    """DSP slices of one a x b multiplier: 25 x 18 signed tiles of DSP48E1 on 7 series [UG479], 27 x 18 of
    DSP48E2 on UltraScale+ [UG579]."""
    wide, narrow = DSP_TILE[device]
    return math.ceil(max(a_bits, b_bits) / wide) * math.ceil(min(a_bits, b_bits) / narrow)


def comparators(levels: int, bits: int) -> int:
    """LUTs of one multi-threshold unit: a bits-wide comparator per level [FINN-R: (2^B - 1) * acc_bits]."""
    return levels * bits


def threshold_store(rows_per_lane: int, lanes: int, levels: int, bits: int) -> tuple[Cost, int]:
    """(memory, cycles per element) of the thresholds of `lanes` parallel units with rows_per_lane rows each:
    every level of a row side by side in one word, all levels read at once [FINN-R thr_luts]. Up to 64 levels
    the words are LUTRAM; above (where no exact requantizer replaces them) a word of levels * bits bits by the
    depth rule of `memory` [ours]. One element per cycle either way."""
    if levels <= LINEAR_MAX_LEVELS:
        return Cost(lut=lanes * levels * bits * math.ceil(rows_per_lane / LUTRAM_WORDS_PER_LUT)), 1
    mem = memory(rows_per_lane, levels * bits)
    return Cost(lut=lanes * mem.lut, bram18=lanes * mem.bram18), 1


def mvu(
    *,
    vectors: int,
    groups: int,
    k: int,
    oc: int,
    pe: int,
    simd: int,
    input_bits: int,
    weight_bits: int,
    acc_bits: int,
    out_bits: int,
    levels: int = 0,
    threshold_bits: int = 0,
    depthwise: bool = False,
    weight_memory: str | None = None,
) -> Cost:
    """Matrix-vector unit (hls/fpgaq/mvu.h) with k inputs and oc outputs per group and an optional fused
    threshold of `levels` levels; weights stored at weight_bits.

    cycles = vectors * groups * (oc/pe) * (k/simd) [FINN MVAU.get_exp_cycles]; LUTs [FINN-R] with the exact
    accumulator width of this project in place of FINN's data-type bound; DSPs [FINN-R] P*Q*ceil((W+A)/48)
    when the products are DSP-bound [ours]; BRAM for weights deeper than 128 words [FINN-R]; flip-flops [ours]:
    one pipeline stage of products, the running and the next accumulator, the input word and the output word.
    weight_memory: where the weights are bound ("uram": UltraRAM blocks [UG573]); None: the depth rule.
    """
    w, a = weight_bits, input_bits
    depth = groups * (oc // pe) * (k // simd)  # weight words (omega)
    cycles = vectors * depth
    dsp_bound = uses_dsp(w, a)
    mult_luts = 0 if dsp_bound else simd * (2 * math.ceil((w + a) / 6) - 1) * (w + a)
    adder_luts = (w + a) * (2 * simd - 1)
    thresholds, comp_luts = Cost(), 0
    if levels:
        thresholds, per_output = threshold_store(groups * (oc // pe), pe, levels, threshold_bits)
        comp_luts = comparators(levels, threshold_bits)
        # the activation runs once per neuron fold: it slows the unit only when that exceeds the k/simd folds
        cycles = vectors * groups * (oc // pe) * max(k // simd, per_output)
    weights = memory(depth, pe * simd * w, weight_memory)
    lut = 300 + 1.1 * pe * (mult_luts + adder_luts + acc_bits + comp_luts) + 1.1 * thresholds.lut + weights.lut
    # input buffer: the K/SIMD words of one group's vector, reused by every neuron fold (one word of SIMD lanes);
    # with one neuron fold (PE = outputs, or a depthwise unit) nothing rereads it and the kernel keeps none
    buffer = Cost() if depthwise or oc // pe == 1 else memory(k // simd, simd * a)
    dsp = pe * simd * math.ceil((w + a) / 48) if dsp_bound else 0
    ff = 200 + pe * (simd * (w + a) + 2 * acc_bits + out_bits) + simd * a
    return Cost(
        cycles=cycles,
        lut=round(lut) + buffer.lut,
        ff=ff,
        bram18=weights.bram18 + buffer.bram18 + thresholds.bram18,
        dsp=dsp,
        uram=weights.uram,
    )


def threshold(*, num: int, win: int, rows: int, levels: int, threshold_bits: int, out_bits: int) -> Cost:
    """Standalone multi-threshold over `num` elements, `win` per cycle (hls/fpgaq/threshold.h): comparators and
    threshold memory as the MVAU's fused thresholds (threshold_store); flip-flops [ours]."""
    store, per_element = threshold_store(math.ceil(rows / win), win, levels, threshold_bits)
    return Cost(
        cycles=(num // win) * per_element,
        lut=win * comparators(levels, threshold_bits) + store.lut + 40,
        ff=win * (threshold_bits + out_bits) + 40,
        bram18=store.bram18,
    )


def requant(*, rows_per_lane: int, lanes: int, in_bits: int, mult_bits: int, offset_bits: int,
            product_bits: int, device: str = "7series") -> Cost:  # fmt: skip
    """The exact requantizer of `lanes` parallel units (hls/fpgaq/threshold.h requantized), rows_per_lane rows
    each: per lane a mult_bits x in_bits multiplier (DSP slices tiled by dsp48_tiles for the device when both
    operands have 5 bits or more, else LUTs as [FINN-R]'s LUT multiplier), an adder, a clip comparator pair, and
    the per-row multiplier and offset in a memory [FINN-R: LUTRAM to 128 words]; the shift is wiring [ours]."""
    dsp_bound = uses_dsp(mult_bits, in_bits)
    mult_luts = 0 if dsp_bound else (2 * math.ceil((mult_bits + in_bits) / 6) - 1) * (mult_bits + in_bits)
    table = memory(rows_per_lane, mult_bits + offset_bits + 1)
    return Cost(
        lut=lanes * (mult_luts + 2 * product_bits + table.lut),
        ff=lanes * 2 * product_bits,
        bram18=lanes * table.bram18,
        dsp=lanes * dsp48_tiles(mult_bits, in_bits, device) if dsp_bound else 0,
    )


@functools.lru_cache(maxsize=65536)
def swg_schedule(*, h: int, oh: int, sh: int, pt: int, span: int, rows: int, row_words: int, out_row_words: int):
    """SwgSchedule of the line-buffer window generator (hls/fpgaq/swg.h), replaying its loop one phase at a time:
    every cycle it reads an input word if the row it fills is free (rows_in < first + rows) and writes a window
    word if output row oh's last row is in (rows_in >= need); both conditions change only when a row completes,
    so O(H + OH) phases give the exact count [ours]."""
    cycles, first_word, phases = 0, None, []
    rows_in = filled = done = written = 0
    while rows_in < h or done < oh:
        top = done * sh - pt
        limit = max(top, 0) + rows if done < oh else h
        reading = rows_in < h and rows_in < limit
        writing = done < oh and rows_in >= min(top + span, h)
        if not (reading or writing):
            raise AssertionError("the window generator's schedule stalls")  # the rows invariant forbids it
        step = min(row_words - filled if reading else row_words, out_row_words - written if writing else out_row_words)
        if writing and first_word is None:
            first_word = cycles
        phases.append((step, reading, writing))
        cycles += step
        if reading:
            filled += step
            if filled == row_words:
                filled, rows_in = 0, rows_in + 1
        if writing:
            written += step
            if written == out_row_words:
                written, done = 0, done + 1
    return SwgSchedule(cycles, first_word or 0, tuple(phases))


class SwgSchedule(NamedTuple):
    cycles: int  # per frame, input always there
    first_word: int  # the cycle of the first window word
    phases: tuple = ()  # (cycles, reads, writes) of each phase: the loop's exact shape (fpgaq.estimate.latency)


def swg_timing(*, c, h, w, kh, kw, sh, dh, pt, oh, ow, simd, rows) -> SwgSchedule:
    """The schedule of one window generator (swg_schedule) from its geometry."""
    words_per_pixel = c // simd
    return swg_schedule(
        h=h,
        oh=oh,
        sh=sh,
        pt=pt,
        span=(kh - 1) * dh + 1,
        rows=rows,
        row_words=w * words_per_pixel,
        out_row_words=ow * kh * kw * words_per_pixel,
    )


def swg(*, c, h, w, kh, kw, sh, dh, pt, oh, ow, simd, bits, rows) -> Cost:
    """Line-buffer window generator (hls/fpgaq/swg.h): `rows` image rows of W pixels in words of SIMD channels
    (one word written and one read per cycle: a simple dual-port memory), one window word of SIMD channels per
    cycle; cycles from swg_schedule (filling overlaps emitting). The memory grows with the image width, not its
    area. 300 LUTs base [FINN ConvolutionInputGenerator_rtl]; the padding multiplexer per lane, position counters
    and flip-flops [ours]."""
    cycles = swg_timing(c=c, h=h, w=w, kh=kh, kw=kw, sh=sh, dh=dh, pt=pt, oh=oh, ow=ow, simd=simd, rows=rows).cycles
    buffer = memory(rows * w * (c // simd), simd * bits)
    return Cost(
        cycles=cycles,
        lut=300 + buffer.lut + simd * bits + 120,
        ff=150 + 2 * simd * bits,
        bram18=buffer.bram18,
    )


def pool(*, c, kh, kw, oh, ow, lanes, in_bits, out_bits) -> Cost:
    """Max or sum reduction of a window generator's stream (hls/fpgaq/pool.h): one window word of L = lanes
    channels per cycle, OH*OW*(C/L)*KH*KW cycles; per lane a comparator (or adder) and a multiplexer into the
    running value held in registers [ours]."""
    return Cost(
        cycles=oh * ow * (c // lanes) * kh * kw,
        lut=60 + lanes * 2 * (max(in_bits, out_bits) + 1),
        ff=60 + lanes * (max(in_bits, out_bits) + 1 + out_bits),
    )


def global_pool(*, c, pixels, lanes, bits) -> Cost:
    """Global max or sum pooling (hls/fpgaq/pool.h global_*): the frame in words of L = lanes channels, one per
    cycle (pixels * C / L cycles); C running values of `bits` in registers, each lane choosing its group's value
    through a C/L-input multiplexer (LUT6: four inputs a LUT per bit) and a comparator or adder [ours]."""
    groups = c // lanes
    return Cost(
        cycles=pixels * groups,
        lut=60 + lanes * bits * (2 + math.ceil(groups / 4)),
        ff=60 + c * bits + lanes * bits,
    )


def dwc(*, num: int, in_w: int, out_w: int, in_bits: int, out_bits: int) -> Cost:
    """Width converter (hls/fpgaq/streams.h): num / gcd(in_w, out_w) cycles (num / min(in_w, out_w) when one
    divides the other, as the planner arranges); LUTs as FINN's shift-register converter with the stream widths
    in bits [FINN StreamingDataWidthConverter.lut_estimation]."""
    inw, outw = in_w * in_bits, out_w * out_bits
    lo, hi = min(inw, outw), max(inw, outw)
    intw = lo * hi // math.gcd(lo, hi)
    luts = 0
    if inw != intw:
        luts += abs(math.ceil(math.log2(inw / intw))) + intw
    if intw != outw:
        luts += abs(math.ceil(math.log2(intw / outw))) + outw
    return Cost(cycles=num // math.gcd(in_w, out_w), lut=luts, ff=inw + outw)


def add(*, num: int, win: int, out_bits: int, multipliers: tuple[int, ...]) -> Cost:
    """Residual add out = m0 * a + m1 * b (hls/fpgaq/elementwise.h): one adder plus a shift-add adder per extra
    set bit of each constant multiplier, out_bits wide, per element [ours]."""
    adders = 1 + sum(max(bin(abs(m)).count("1") - 1, 0) for m in multipliers)
    return Cost(cycles=num // win, lut=win * adders * out_bits + 20, ff=win * out_bits + 20)


def passthrough(*, words: int, bits: int) -> Cost:
    """Kernels that move one word per cycle without arithmetic (fork, AXI-Stream pack/unpack) [ours]."""
    return Cost(cycles=words, lut=16, ff=bits)


def concat(*, num: int, out_bits: int) -> Cost:
    """Concatenation, one element per cycle (hls/fpgaq/streams.h) [ours]."""
    return Cost(cycles=num, lut=out_bits + 20, ff=out_bits + 20)


def reorder(*, num: int, bits: int) -> Cost:
    """Reorder buffer: write the frame, then read it permuted (2 * num cycles) [ours]; a permutation ROM."""
    buf = memory(num, bits)
    perm = memory(num, max(1, math.ceil(math.log2(max(num, 2)))))
    return Cost(cycles=2 * num, lut=40 + buf.lut + perm.lut, ff=2 * bits + 40, bram18=buf.bram18 + perm.bram18)


def fifo(*, bits: int, depth: int = 2) -> Cost:
    """A stream FIFO of `depth` words, bound as fpgaq.plan.tables.fifo_storage says: depth 2 is two registers of
    the word and a little control [ours]; SRL FIFOs take one SRLC32E per bit and 32 words [UG474] and a read
    register; block RAM FIFOs the tables' BRAM18 count and their pointers [FINN StreamingFIFO estimates]."""
    kind = fifo_storage(depth)
    if kind is None:
        return Cost(lut=math.ceil(bits / 2) + 4, ff=2 * bits + 4)
    pointers = 2 * max(1, math.ceil(math.log2(depth)))
    if kind == "srl":
        return Cost(lut=bits * math.ceil(depth / 32) + pointers + 4, ff=bits + pointers + 4)
    return Cost(lut=2 * pointers + 8, ff=bits + 2 * pointers + 8, bram18=bram18(depth, bits))


CONTROL = Cost(lut=300, ff=400)  # [ours] AXI4-Lite control slave and dataflow handshakes of the top level
