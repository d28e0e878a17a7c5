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
[UG473]   7 Series FPGAs Memory Resources: a block RAM has two ports, so a memory that is not partitioned
          serves at most two accesses per cycle; a RAMB18 holds 16K x 1 ... 512 x 36 bits.
[ours]    Our own rough models where neither FINN nor the papers give one: flip-flops (FINN estimates none),
          DSP binding, stream FIFOs, the frame-buffered sliding window and pooling, constant multipliers.
          They are stated here so that `fpgaq synth` (synthesis reports) can calibrate them.

Cycle counts are per frame at II = 1 (the loops in hls/ are flattened and pipelined), with the memory-port
limit of [UG473] applied where a kernel reads several elements of one unpartitioned buffer per cycle.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from fpgaq.plan.tables import LINEAR_MAX_LEVELS

LUTRAM_MAX_DEPTH = 128  # [FINN-R]: weights of at most 128 words per memory go to LUTRAM (c2), deeper to BRAM
LUTRAM_WORDS_PER_LUT = 64  # [FINN-R] c2 = width * ceil(depth / 64): one RAM64X1 per bit and 64 words
DSP_MIN_OPERAND_BITS = 5  # [ours] a product goes to a DSP48 when both operands have at least 5 bits
BRAM_PORTS = 2  # [UG473] true dual-port block RAM


@dataclass
class Cost:
    cycles: int = 0
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    dsp: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> tuple:
        return (self.cycles, self.lut, self.ff, self.bram18, self.dsp)

    def asdict(self) -> dict:
        return asdict(self)


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


def memory(depth: int, width: int) -> Cost:
    """A depth x width memory: LUTRAM up to LUTRAM_MAX_DEPTH words, else block RAM [FINN-R]."""
    if depth <= 0 or width <= 0:
        return Cost()
    if depth <= LUTRAM_MAX_DEPTH:
        return Cost(lut=width * math.ceil(depth / LUTRAM_WORDS_PER_LUT))
    return Cost(bram18=bram18(depth, width))


def port_cycles(accesses: int) -> int:
    """Cycles to serve `accesses` reads of one unpartitioned dual-port memory [UG473]."""
    return max(1, math.ceil(accesses / BRAM_PORTS))


def uses_dsp(weight_bits: int, input_bits: int) -> bool:
    """[ours] HLS binds narrow products (4 bits or fewer on one side) to LUTs, wider ones to DSP48s."""
    return min(weight_bits, input_bits) >= DSP_MIN_OPERAND_BITS


def comparators(levels: int, bits: int) -> int:
    """LUTs of one multi-threshold unit: a bits-wide comparator per level [FINN-R: (2^B - 1) * acc_bits];
    above 64 levels the kernel binary-searches (ceil(log2(levels + 1)) comparators, [ours])."""
    if levels > LINEAR_MAX_LEVELS:
        return math.ceil(math.log2(levels + 1)) * bits
    return levels * bits


def threshold_store(rows_per_lane: int, lanes: int, levels: int, bits: int) -> tuple[Cost, int]:
    """(memory, cycles per element) of the thresholds of `lanes` parallel units with rows_per_lane rows each.

    Up to 64 levels: all levels of a row side by side in LUTRAM, every level read at once [FINN-R thr_luts].
    Above: each lane binary-searches a rows_per_lane * levels block RAM, ceil(log2(levels + 1)) dependent
    reads through two ports [ours, UG473], so one element takes that many half-cycles.
    """
    if levels <= LINEAR_MAX_LEVELS:
        return Cost(lut=lanes * levels * bits * math.ceil(rows_per_lane / LUTRAM_WORDS_PER_LUT)), 1
    mem = memory(rows_per_lane * levels, bits)
    steps = math.ceil(math.log2(levels + 1))
    return Cost(lut=lanes * mem.lut, bram18=lanes * mem.bram18), port_cycles(steps)


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
) -> Cost:
    """Matrix-vector unit (hls/fpgaq/mvu.h) with k inputs and oc outputs per group and an optional fused
    threshold of `levels` levels; weights stored at weight_bits.

    cycles = vectors * groups * (oc/pe) * (k/simd) [FINN MVAU.get_exp_cycles]; LUTs [FINN-R] with the exact
    accumulator width of this project in place of FINN's data-type bound; DSPs [FINN-R] P*Q*ceil((W+A)/48)
    when the products are DSP-bound [ours]; BRAM for weights deeper than 128 words [FINN-R]; flip-flops [ours]:
    one pipeline stage of products, the running and the next accumulator, the input word and the output word.
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
    weights = memory(depth, pe * simd * w)
    lut = 300 + 1.1 * pe * (mult_luts + adder_luts + acc_bits + comp_luts) + 1.1 * thresholds.lut + weights.lut
    # input buffer: the SIMD lanes of one vector, reused by every neuron fold (partitioned by lane)
    buffer = memory(groups * (k // simd), a)
    dsp = pe * simd * math.ceil((w + a) / 48) if dsp_bound else 0
    ff = 200 + pe * (simd * (w + a) + 2 * acc_bits + out_bits) + simd * a
    return Cost(
        cycles=cycles,
        lut=round(lut) + simd * buffer.lut,
        ff=ff,
        bram18=weights.bram18 + simd * buffer.bram18 + thresholds.bram18,
        dsp=dsp,
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


def swg_contiguous(*, c: int, kw: int, simd: int, groups: int, dw: int) -> bool:
    """Whether every window word of the sliding window is SIMD consecutive frame addresses (hls/fpgaq/swg.h)."""
    cg = c // groups
    return cg % simd == 0 or (groups == 1 and dw == 1 and simd % c == 0 and kw % (simd // c) == 0)


def swg(*, c, h, w, kh, kw, oh, ow, win, simd, bits, groups=1, dw=1) -> Cost:
    """Sliding-window generator (hls/fpgaq/swg.h): fill the frame as rows of SIMD elements (one input word per
    cycle, or WIN/SIMD cycles when wider; a WIN that neither divides nor is divided by SIMD is first converted to
    gcd(WIN, SIMD) by the planner), then OH*OW windows of C*KH*KW elements, SIMD per word: one word per cycle
    when the word's elements are consecutive addresses (two rows through the memory's two ports), else one row
    per element, two per cycle [UG473]. 300 LUTs base [FINN ConvolutionInputGenerator_rtl], the row memory, the
    row assembly and lane selection [ours]."""
    frame = c * h * w
    if win % simd and simd % win:
        win = math.gcd(win, simd)
    fill = (frame // win) * max(1, win // simd)
    per_word = 1 if swg_contiguous(c=c, kw=kw, simd=simd, groups=groups, dw=dw) else port_cycles(simd)
    cycles = fill + oh * ow * (c * kh * kw // simd) * per_word
    rows = memory(math.ceil(frame / simd), simd * bits)
    return Cost(
        cycles=cycles,
        lut=300 + rows.lut + simd * (3 * bits + 24),
        ff=150 + 3 * simd * bits,
        bram18=rows.bram18,
    )


def pool(*, c, h, w, kh, kw, oh, ow, win, in_bits, out_bits, dilated=False) -> Cost:
    """Max or sum pooling (hls/fpgaq/pool.h), L = win channels per word: fill the frame into KH*KW banks of
    L-channel words (one word per cycle), then OH*OW*C/L output words, each reading every bank once (two reads
    per bank and cycle with dilation [UG473]); a comparator or adder per window element and lane [ours]."""
    frame = c * h * w
    per_word = port_cycles(kh * kw) if dilated else 1
    cycles = frame // win + oh * ow * (c // win) * per_word
    rows = math.ceil(h / kh) * math.ceil(w / kw) * (c // win)
    bank = memory(rows, win * in_bits)
    return Cost(
        cycles=cycles,
        lut=150 + kh * kw * (bank.lut + win * (out_bits + 1)),
        ff=100 + 2 * win * out_bits,
        bram18=kh * kw * bank.bram18,
    )


def dwc_chain(*, num: int, in_w: int, out_w: int, bits: int) -> Cost:
    """The width conversion the planner builds: one converter, or two through lcm(in_w, out_w) when neither
    width divides the other; the cycles are those of the slower stage."""
    if in_w % out_w and out_w % in_w:
        mid = math.lcm(in_w, out_w)
        up = dwc(num=num, in_w=in_w, out_w=mid, in_bits=bits, out_bits=bits)
        down = dwc(num=num, in_w=mid, out_w=out_w, in_bits=bits, out_bits=bits)
        return Cost(max(up.cycles, down.cycles), up.lut + down.lut, up.ff + down.ff)
    return dwc(num=num, in_w=in_w, out_w=out_w, in_bits=bits, out_bits=bits)


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


def fifo(*, bits: int) -> Cost:
    """A depth-2 stream FIFO between kernels: two registers of the word and a little control [ours]."""
    return Cost(lut=math.ceil(bits / 2) + 4, ff=2 * bits + 4)


CONTROL = Cost(lut=300, ff=400)  # [ours] AXI4-Lite control slave and dataflow handshakes of the top level
