"""The stream plan's data: streams, constant tables, kernel calls, the AXI-Stream boundary, type spelling."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fpgaq.errors import FpgaqError
from fpgaq.hls import layout
from fpgaq.ir import graph as ir
from fpgaq.ir.types import IntType

MAX_CONST_BITS = 63
LINEAR_MAX_LEVELS = 64  # hls/fpgaq/threshold.h: up to 64 levels compare in parallel, above that binary search


def ctype(t: IntType) -> str:
    return f"ap_{'int' if t.signed else 'uint'}<{t.bits}>"


def const_type(values: np.ndarray, what: str) -> IntType:
    """The narrowest integer type of a constant table."""
    lo, hi = (int(values.min()), int(values.max())) if values.size else (0, 0)
    t = IntType.for_range(min(lo, 0), max(hi, 0))
    if t.bits > MAX_CONST_BITS:
        raise FpgaqError(f"{what} needs {t.bits}-bit constants; at most {MAX_CONST_BITS} are supported")
    return t


def c_storage(t: IntType) -> str:
    """A plain C type holding every value of t (constant tables in C-simulation compile fast and clean)."""
    for bits, name in ((8, "signed char"), (16, "short"), (32, "int")):
        if (t.bits <= bits and t.signed) or t.bits < bits:
            return name
    return "long long"


@dataclass
class Port:
    stream: str
    width: int
    order: np.ndarray
    ctype: str


@dataclass
class Const:
    """A constant table; with `storage` set its element type is `name_t`: the ap type under __SYNTHESIS__,
    the plain C type `storage` in C-simulation (same values, same arithmetic)."""

    name: str
    ctype: str
    values: np.ndarray  # its shape gives the C array dimensions
    storage: str | None = None
    pragmas: list = field(default_factory=list)  # memory layout for synthesis (ARRAY_RESHAPE / ARRAY_PARTITION)

    @property
    def type_name(self) -> str:
        return f"{self.name}_t" if self.storage else self.ctype


@dataclass
class Call:
    func: str
    targs: list
    args: list
    layer: str


@dataclass
class Stream:
    name: str
    ctype: str
    width: int
    words: int


@dataclass
class Boundary:
    """The AXI-Stream side of the accelerator input or output."""

    num: int
    pack: int
    bits: int
    word: int
    ctype: str
    order: np.ndarray


@dataclass
class Plan:
    streams: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    consts: list = field(default_factory=list)
    input: Boundary | None = None
    output: Boundary | None = None
    fused: dict = field(default_factory=dict)  # dot-product layer -> fused threshold layer
    layer_ids: list = field(default_factory=list)  # kernel ID -> layer name (overflow reports)
    accumulators: dict = field(default_factory=dict)  # dot-product layer -> inner/outer widths as built


def geometry(shape, out_shape, kernel, strides, dilations, pads) -> list[int]:
    """[C, H, W, KH, KW, SH, SW, DH, DW, PT, PL, OH, OW] with 1-D as H = 1."""
    if len(kernel) == 1:
        c, w = shape
        return [c, 1, w, 1, kernel[0], 1, strides[0], 1, dilations[0], 0, pads[0], 1, out_shape[1]]
    c, h, w = shape
    return [c, h, w, *kernel, *strides, *dilations, pads[0], pads[1], out_shape[1], out_shape[2]]


def pack_for(num: int, bits: int, prefer: int | None = None) -> int:
    """Elements per AXI-Stream word (at most 64 bits): a divisor of num, sharing the largest factor with the
    width `prefer` of the kernel on the other side (so the width converter moves that many per cycle), then
    the largest."""
    fits = [d for d in layout.divisors(num) if d * bits <= 64 or d == 1]
    return max(fits, key=lambda d: (math.gcd(d, prefer) if prefer else 0, d))


def boundary(tensor: ir.Tensor, order: np.ndarray, prefer: int | None = None) -> Boundary:
    num = int(np.prod(tensor.shape))
    bits = tensor.dtype.bits
    pack = pack_for(num, bits, prefer)
    word = max(8, 1 << (pack * bits - 1).bit_length())  # 8, 16, 32 or 64 bits: an AXI DMA stream width
    return Boundary(num, pack, bits, word, ctype(tensor.dtype), order)


def boundary_json(b: Boundary) -> dict:
    """What the host needs to pack and unpack the AXI-Stream words (fpgaq.host.pack_words / unpack_words)."""
    return {
        "num": b.num,
        "pack": b.pack,
        "bits": b.bits,
        "word": b.word,
        "signed": b.ctype.startswith("ap_int"),
        "order": [int(v) for v in b.order],
    }
