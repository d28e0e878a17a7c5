"""The kernel plan: the accelerator as typed data - streams, constant tables and kernels in dataflow order.

Backend-neutral: every field is a number, an IntType, a Stream or a Table; nothing here is spelled in C++ or
Verilog (a backend spells it, fpgaq.backends). The estimator reads the same objects (fpgaq.estimate.costs),
so what is estimated is what is emitted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields

import numpy as np

from fpgaq.ir.types import IntType
from fpgaq.plan.tables import FIFO_REGISTERS


@dataclass(frozen=True)
class Stream:
    """A FIFO between two kernels: `words` words per frame of `width` elements of type `elem`."""

    name: str
    elem: IntType
    width: int
    words: int

    @property
    def bits(self) -> int:
        return self.elem.bits * self.width


class TableKind(enum.Enum):
    """How a backend stores a constant table: INT tables hold integers of their `elem` type (narrow ROMs);
    FLAG one bit per entry, INDEX stream positions, SIGN +1/-1 per channel."""

    INT = "int"
    FLAG = "flag"
    INDEX = "index"
    SIGN = "sign"


@dataclass(frozen=True, eq=False)
class Table:
    """A constant table. `packed` lists the (1-based) dimensions stored in one memory word; `banks` = (dim,
    factor) splits a dimension cyclically into `factor` memories (the synthesis layout the estimates assume)."""

    name: str
    values: np.ndarray = field(repr=False)
    elem: IntType
    kind: TableKind = TableKind.INT
    packed: tuple[int, ...] = ()
    banks: tuple[int, int] | None = None
    storage: str | None = None  # "lutram", "bram" or "uram" (written at run time): bound as the estimate costs it

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.values.shape)


@dataclass(frozen=True)
class Window:
    """The geometry of a sliding window over a C x H x W frame (1-D: H = 1): kernel, stride, dilation, the
    top/left padding and the output size."""

    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pl: int
    oh: int
    ow: int

    @staticmethod
    def of(shape, out_shape, kernel, strides, dilations, pads) -> Window:
        """From an IR node's per-sample shapes and attributes (1-D as H = 1)."""
        if len(kernel) == 1:
            return Window(shape[0], 1, shape[1], 1, kernel[0], 1, strides[0], 1, dilations[0], 0, pads[0], 1,
                          out_shape[1])  # fmt: skip
        c, h, w = shape
        return Window(c, h, w, *kernel, *strides, *dilations, pads[0], pads[1], out_shape[1], out_shape[2])

    @property
    def is_global(self) -> bool:
        """The window is the whole frame (one output pixel, no padding): a running reduction, no buffer."""
        return (self.kh, self.kw, self.oh, self.ow, self.pt, self.pl) == (self.h, self.w, 1, 1, 0, 0)


@dataclass(frozen=True)
class Boundary:
    """The AXI-Stream side of the accelerator input or output: `num` elements of `elem`, `pack` per word of
    `word` bits, stream position i carrying the element at flat index order[i] of the model's layout."""

    num: int
    pack: int
    elem: IntType
    word: int
    order: tuple[int, ...] = field(repr=False)

    @property
    def bits(self) -> int:
        return self.elem.bits


@dataclass(frozen=True, eq=False)
class Kernel:
    """One hardware process. `name` is unique in the plan and a valid identifier; `layer` the IR layer it
    belongs to (or what it serves: "input", "fork of t3")."""

    name: str
    layer: str

    kind = "kernel"

    def inputs(self) -> tuple[Stream, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if f.name in ("inp", "a", "b"))

    def outputs(self) -> tuple[Stream, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if f.name in ("out", "out0", "out1"))

    def tables(self) -> tuple[Table, ...]:
        return tuple(v for f in fields(self) if isinstance(v := getattr(self, f.name), Table))


@dataclass(frozen=True, eq=False)
class UnpackAxis(Kernel):
    """AXI-Stream words -> a stream of `boundary.pack` elements per word (one word per cycle)."""

    out: Stream
    boundary: Boundary
    kind = "unpack_axis"


@dataclass(frozen=True, eq=False)
class PackAxis(Kernel):
    inp: Stream
    boundary: Boundary
    kind = "pack_axis"


@dataclass(frozen=True, eq=False)
class Fork(Kernel):
    """Copies every word to two consumers."""

    inp: Stream
    out0: Stream
    out1: Stream
    kind = "fork2"


@dataclass(frozen=True, eq=False)
class WidthConverter(Kernel):
    """Regroups `num` elements from words of inp.width into words of out.width (one word of the narrower
    side per cycle; the element type may change, as after a narrowed sum)."""

    inp: Stream
    out: Stream
    num: int
    kind = "dwc"


@dataclass(frozen=True, eq=False)
class Reorder(Kernel):
    """Buffers a frame and emits it in another element order: out[p] = in[perm[p]]."""

    inp: Stream
    out: Stream
    num: int
    perm: Table
    kind = "reorder"


@dataclass(frozen=True, eq=False)
class FusedThreshold:
    """A threshold applied by a matrix-vector unit to each finished accumulator (row = output channel)."""

    layer: str
    thresholds: Table
    negate: Table
    base: int
    rows: int
    levels: int


@dataclass(frozen=True, eq=False)
class FusedRequant:
    """An exact integer requantizer applied by a matrix-vector unit in place of a wide threshold (more than 64
    levels): count = clip((mult * y + offset) >> shift, 0, levels) with y = -acc where negate, out = base + count,
    proven equal to the thresholds on every accumulator value (fpgaq.plan.requant). Tables [PE][neuron fold];
    `product` holds mult * y + offset."""

    layer: str
    mult: Table
    offset: Table
    negate: Table
    shift: int
    base: int
    levels: int
    product: IntType

    def tables(self) -> tuple[Table, ...]:
        return self.mult, self.offset, self.negate


@dataclass(frozen=True, eq=False)
class Mvu(Kernel):
    """Matrix-vector unit: `vectors` vectors per frame through `groups` groups of an oc x k weight matrix,
    PE output channels and SIMD inputs per cycle; inner (one SIMD tile) and outer accumulator types."""

    ident: int
    inp: Stream
    out: Stream
    vectors: int
    groups: int
    k: int
    oc: int
    simd: int
    pe: int
    weights: Table
    bias: Table
    inner: IntType
    outer: IntType
    activation: FusedThreshold | FusedRequant | None
    depthwise: bool = False  # a vector-vector unit: words of PE x SIMD, lane p reads elements s * PE + p
    bipolar: bool = False  # weights +-1 stored as one bit each (1: +1, 0: -1), a product is +x or -x
    kind = "mvu"

    @property
    def folds(self) -> int:
        return self.groups * (self.oc // self.pe) * (self.k // self.simd)

    def tables(self) -> tuple[Table, ...]:
        act = self.activation
        if isinstance(act, FusedRequant):
            return act.tables() + (self.weights, self.bias)
        return (() if act is None else (act.thresholds, act.negate)) + (self.weights, self.bias)


@dataclass(frozen=True, eq=False)
class Thresholding(Kernel):
    """Standalone multi-threshold activation of `num` elements; element p uses row p % rows."""

    inp: Stream
    out: Stream
    num: int
    rows: int
    levels: int
    thresholds: Table
    negate: Table
    base: int
    kind = "threshold"


@dataclass(frozen=True, eq=False)
class Requantize(Kernel):
    """Standalone exact requantizer of `num` elements (in place of a threshold of more than 64 levels): element p
    uses row p % rows, tables [lane][rows / lanes], as Thresholding."""

    inp: Stream
    out: Stream
    num: int
    rows: int
    mult: Table
    offset: Table
    negate: Table
    shift: int
    base: int
    levels: int
    product: IntType
    kind = "requantize"


@dataclass(frozen=True, eq=False)
class SlidingWindow(Kernel):
    """Window generator of a convolution or pooling: for every output pixel the window in (group, kh, kw,
    channel) order, out.width channels of one pixel per word, from a line buffer of `rows` image rows."""

    inp: Stream
    out: Stream
    window: Window
    groups: int
    pad: int
    rows: int
    kind = "swg"


@dataclass(frozen=True, eq=False)
class MaxPool(Kernel):
    """Max over each window of sign * x, sign per channel [lane][group], from a window generator's stream of
    KH * KW words per group of inp.width channels (positions outside the image are skipped); a global pool
    (window.is_global) reads the frame itself and keeps one running value per channel."""

    inp: Stream
    out: Stream
    window: Window
    sign: Table
    kind = "maxpool"


@dataclass(frozen=True, eq=False)
class SumPool(Kernel):
    """Sum over each window (average pooling before its division) from a window generator's stream, which
    supplies the padding code; a global pool reads the frame itself."""

    ident: int
    inp: Stream
    out: Stream
    window: Window
    kind = "sumpool"


@dataclass(frozen=True, eq=False)
class Add(Kernel):
    """out = m0 * a + m1 * b, element by element, with integer multipliers."""

    ident: int
    a: Stream
    b: Stream
    out: Stream
    num: int
    m0: int
    m1: int
    kind = "add"


@dataclass(frozen=True, eq=False)
class Concat(Kernel):
    """Interleaves `outer` blocks of n0 elements of a and n1 elements of b."""

    a: Stream
    b: Stream
    out: Stream
    outer: int
    n0: int
    n1: int
    kind = "concat2"


KERNELS = (UnpackAxis, PackAxis, Fork, WidthConverter, Reorder, Mvu, Thresholding, Requantize, SlidingWindow, MaxPool,
           SumPool, Add, Concat)  # fmt: skip


@dataclass(frozen=True, eq=False)
class Plan:
    """The accelerator: kernels in dataflow order, the streams between them, their constant tables."""

    kernels: tuple[Kernel, ...]
    streams: tuple[Stream, ...]
    input: Boundary
    output: Boundary
    fused: dict  # dot-product layer -> the threshold layer fused into it
    layer_ids: tuple[str, ...]  # kernel ident -> layer name (overflow reports)
    accumulators: dict  # dot-product layer -> {"inner_bits", "outer_bits", "tiled"} as built
    depths: dict = field(default_factory=dict)  # stream name -> FIFO depth (fpgaq build sizes them); else 2

    def depth(self, stream: str) -> int:
        return self.depths.get(stream, FIFO_REGISTERS)

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(t for k in self.kernels for t in k.tables())

    @property
    def runtime_tables(self) -> tuple[Table, ...]:
        """The tables in UltraRAM (fpgaq.estimate.placement), which the host writes before the first frame: the
        order of host.json "weights"."""
        return tuple(t for t in self.tables if t.storage == "uram")
