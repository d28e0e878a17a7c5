"""The host side of an accelerator: input quantization, output dequantization and AXI-Stream word packing.

Standalone on purpose (numpy and the standard library only): the golden executor (fpgaq.ir.hostio), the
C-simulation (fpgaq.backends.hls.csim) and the PYNQ driver (DIR/deploy/driver.py, which ships a byte-identical copy of
this file as fpgaq_host.py) all run this one implementation, so what the board computes on the host is what
was verified here.

Input quantization reproduces qonnx's int_quant / binary_quant operation by operation in float32, so the codes
equal those the QONNX reference computes for the same input; elementwise preprocessing by constants that the
model does before its input quantizer (bnn_pynq's `2 * x - 1`) runs first, op by op in float32 as onnxruntime
computes it. A quantized output is dequantized as QONNX does
in float32; otherwise the output chain (exact rationals, the last layer's scale, bias, batch norm or clamp) is
evaluated in float64 and rounded to float32.
"""

from __future__ import annotations

import re
from fractions import Fraction

import numpy as np

ROUNDING = {
    "ROUND": np.round,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "ROUND_TO_ZERO": np.fix,
    "UP": lambda y: np.sign(y) * np.ceil(np.abs(y)),
    "HALF_UP": lambda y: np.sign(y) * np.floor(np.abs(y) + np.float32(0.5)),
    "HALF_DOWN": lambda y: np.sign(y) * np.ceil(np.abs(y) - np.float32(0.5)),
}


def quant_int_range(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """The integer code range of a QONNX Quant op (same as qonnx's min_int / max_int)."""
    if signed:
        return (-(1 << (bits - 1)) + (1 if narrow else 0), (1 << (bits - 1)) - 1)
    return (0, (1 << bits) - 1 - (1 if narrow else 0))


PREPROCESS = {  # y = op(y, constant), in float32 (ONNX Mul, Add, Sub, Div; "rsub": constant - y)
    "mul": np.multiply,
    "add": np.add,
    "sub": np.subtract,
    "rsub": lambda y, c: np.subtract(c, y),
    "div": np.divide,
}


def quantize(
    x, kind: str, scale, zero_point, bits: int, signed: bool, narrow: bool, rounding: str, pre=()
) -> np.ndarray:
    """float32 input (batch first) -> int64 codes, exactly as the model's preprocessing `pre` ([(op, constant)],
    see PREPROCESS) and its QONNX Quant / BipolarQuant op compute them. NaN and infinity have no code: they
    raise ValueError."""
    x = np.asarray(x, dtype=np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"the input holds {int(bad.sum())} NaN or infinite values (the first at index {first})")
    if pre:
        x = preprocess(x, pre)
    scale = np.asarray(scale, dtype=np.float32)
    if kind == "bipolar":
        return (x >= np.float32(0.0)).astype(np.int64)
    y = np.asarray(x / scale, dtype=np.float32)  # a new array: the steps below reuse it (the same float32 values)
    y += np.asarray(zero_point, dtype=np.float32)
    if bits == 1 and signed:
        return (y >= np.float32(0.0)).astype(np.int64)
    lo, hi = quant_int_range(bits, signed, narrow)
    np.clip(y, np.float32(lo), np.float32(hi), out=y)
    return ROUNDING[rounding](y).astype(np.int64)


def preprocess(x, steps) -> np.ndarray:
    """The float32 input after the model's elementwise preprocessing, op by op in float32 (an overflow gives
    infinity, which the quantizer clips, as in QONNX); a NaN it produces raises ValueError."""
    y = np.asarray(x, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for op, constant in steps:
            y = np.asarray(PREPROCESS[op](y, np.asarray(constant, dtype=np.float32)), dtype=np.float32)
    bad = np.isnan(y)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"the input's preprocessing gives NaN at index {first}")
    return y


def dequantize(codes, quant, steps) -> np.ndarray:
    """int64 output codes (batch first) -> float32 model output. quant: (scale, zero_point, kind) of a quantized
    output, else None and steps: [("affine", a, b) | ("clamp", lo, hi)] with float64 parameters."""
    codes = np.asarray(codes)
    if quant is not None:
        scale, zero_point, kind = quant
        scale = np.asarray(scale, dtype=np.float32)
        if kind == "bipolar":
            return np.where(codes > 0, np.float32(1), np.float32(-1)) * scale
        if kind == "sign":
            ones = np.where(codes > 0, np.float32(1), np.float32(-1))
            return (ones - np.asarray(zero_point, dtype=np.float32)) * scale
        return (codes.astype(np.float32) - np.asarray(zero_point, dtype=np.float32)) * scale
    y = codes.astype(np.float64)
    for kind, first, second in steps:
        if kind == "affine":
            y = y * first + second
        else:
            y = np.clip(y, first, second)
    return y.astype(np.float32)


def chain_steps(chain: list) -> list:
    """The output chain of host.json (exact rationals) as [("affine", a, b) | ("clamp", lo, hi)] with float64
    parameters broadcast over the batch: the one place the chain becomes floats (golden model and host alike)."""
    steps = []
    for step in chain:
        if step["kind"] == "affine":
            a, b = step["a"], step["b"]
            steps.append(("affine", float_parameter(a["values"], a["shape"]), float_parameter(b["values"], b["shape"])))
        else:
            lo, hi = step["lo"], step["hi"]
            low = float_parameter(lo["values"], lo["shape"], -np.inf)
            steps.append(("clamp", low, float_parameter(hi["values"], hi["shape"], np.inf)))
    return steps


def float_parameter(values, shape, none_value: float = 0.0) -> np.ndarray:
    """Exact rationals (Fraction, "p/q" strings or None) -> a float64 array broadcast over the batch."""
    flat = [none_value if v is None else float(Fraction(v)) for v in values]
    return np.array(flat, dtype=np.float64).reshape((1,) + tuple(shape))


def pack_words(codes, order, pack: int, bits: int, word: int) -> np.ndarray:
    """int64 codes (N, elements in model layout) -> the AXI-Stream bytes the accelerator reads, (N, bytes):
    stream element i is codes[:, order[i]]; `pack` elements per word of `word` bits, element 0 in the low bits,
    each as its two's-complement low `bits`; words little-endian."""
    codes = np.asarray(codes, dtype=np.int64)
    n = codes.shape[0]
    stream = codes.reshape(n, -1)[:, np.asarray(order)].astype(np.uint64) & np.uint64((1 << bits) - 1)
    fields = stream.reshape(n, -1, pack)
    shifts = (np.arange(pack, dtype=np.uint64) * np.uint64(bits)).reshape(1, 1, pack)
    words = np.ascontiguousarray(np.bitwise_or.reduce(fields << shifts, axis=2), dtype="<u8")
    return words.view(np.uint8).reshape(n, -1, 8)[:, :, : word // 8].reshape(n, -1)


def row_bytes(lanes: int, bits: int) -> int:
    """Bytes of one row of runtime-written weights: lanes fields of `bits` bits in whole 32-bit words."""
    return (lanes * bits + 31) // 32 * 4


def pack_rows(values, bits: int) -> bytes:
    """int64 table (rows, lanes) -> the bytes the host writes into a weight memory in UltraRAM (and the
    C-simulation reads, hls/fpgaq/runtime_weights.h): field j of a row at bit j * bits, each as its two's-
    complement low `bits`, rows of row_bytes(lanes, bits) bytes, little-endian."""
    values = np.asarray(values, dtype=np.int64)
    rows, lanes = values.shape
    fields = (values.astype(np.uint64) & np.uint64((1 << bits) - 1)).reshape(rows, lanes, 1)
    bit_planes = ((fields >> np.arange(bits, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8).reshape(rows, -1)
    padded = np.zeros((rows, row_bytes(lanes, bits) * 8), dtype=np.uint8)
    padded[:, : lanes * bits] = bit_planes
    return np.packbits(padded, axis=1, bitorder="little").tobytes()


def unpack_words(data, order, pack: int, bits: int, word: int, signed: bool) -> np.ndarray:
    """The inverse of pack_words: bytes (N, bytes) -> int64 codes (N, elements in model layout)."""
    data = np.asarray(data, dtype=np.uint8)
    n = data.shape[0]
    nbytes = word // 8
    padded = np.zeros((n, data.shape[1] // nbytes, 8), dtype=np.uint8)
    padded[:, :, :nbytes] = data.reshape(n, -1, nbytes)
    words = padded.view("<u8").reshape(n, -1, 1)
    shifts = (np.arange(pack, dtype=np.uint64) * np.uint64(bits)).reshape(1, 1, pack)
    fields = ((words >> shifts) & np.uint64((1 << bits) - 1)).astype(np.int64).reshape(n, -1)
    if signed:
        fields = np.where(fields >= (1 << (bits - 1)), fields - (1 << bits), fields)
    out = np.empty_like(fields)
    out[:, np.asarray(order)] = fields
    return out


def check_host(host) -> None:
    """Raise ValueError, naming the key, unless `host` has the structure of a host.json fpgaq wrote."""

    def fail(where, what):
        raise ValueError(f"host.json: {where} must be {what}")

    def need(d, key, kind, where):
        value = d.get(key) if isinstance(d, dict) else None
        ok = isinstance(value, kind) and not (kind in (int, (int, float)) and isinstance(value, bool))
        if not ok:
            fail(f"{where}.{key}", getattr(kind, "__name__", "a number"))
        return value

    def shape(value, where):
        if not isinstance(value, list) or not all(type(n) is int and n > 0 for n in value):
            fail(where, "a list of positive integers")
        return value

    def array(d, key, where, numbers=True):
        a = need(d, key, dict, where)
        size = int(np.prod(shape(a.get("shape"), f"{where}.{key}.shape"), dtype=object))
        values = a.get("values")
        if not isinstance(values, list) or len(values) != size:
            fail(f"{where}.{key}.values", f"a list of {size} values")
        for v in values:
            if numbers and (not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v)):
                fail(f"{where}.{key}.values", "finite numbers")
            if not numbers and v is not None:
                if not isinstance(v, str):
                    fail(f"{where}.{key}.values", "exact rationals ('p/q') or null")
                try:
                    Fraction(v)
                except (ValueError, ZeroDivisionError):
                    fail(f"{where}.{key}.values", "exact rationals ('p/q') or null")

    if not isinstance(host, dict):
        fail("the file", "an object")
    i = need(host, "input", dict, "host")
    shape(i.get("shape"), "input.shape")
    if need(i, "kind", str, "input") not in ("quant", "bipolar"):
        fail("input.kind", "'quant' or 'bipolar'")
    array(i, "scale", "input")
    array(i, "zero_point", "input")
    if not 1 <= need(i, "bits", int, "input") <= 64:
        fail("input.bits", "from 1 to 64")
    need(i, "signed", bool, "input")
    need(i, "narrow", bool, "input")
    if need(i, "rounding", str, "input") not in ROUNDING:
        fail("input.rounding", "one of " + ", ".join(ROUNDING))
    for n, step in enumerate(need(i, "pre", list, "input") if "pre" in i else []):
        if need(step, "op", str, f"input.pre[{n}]") not in PREPROCESS:
            fail(f"input.pre[{n}].op", "one of " + ", ".join(PREPROCESS))
        array(step, "constant", f"input.pre[{n}]")
    o = need(host, "output", dict, "host")
    shape(o.get("shape"), "output.shape")
    q = o.get("quant")
    if q is not None:
        array(q, "scale", "output.quant")
        array(q, "zero_point", "output.quant")
        if need(q, "kind", str, "output.quant") not in ("int", "sign", "bipolar"):
            fail("output.quant.kind", "'int', 'sign' or 'bipolar'")
    for n, step in enumerate(need(o, "chain", list, "output")):
        kind = need(step, "kind", str, f"output.chain[{n}]")
        keys = {"affine": ("a", "b"), "clamp": ("lo", "hi")}.get(kind)
        if keys is None:
            fail(f"output.chain[{n}].kind", "'affine' or 'clamp'")
        for key in keys:
            array(step, key, f"output.chain[{n}]", numbers=False)
    for n, table in enumerate(
        need(host, "weights", list, "host") if "weights" in host else []
    ):  # tables the host writes into UltraRAM
        where = f"weights[{n}]"
        name = need(table, "name", str, where)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,127}", name):
            fail(f"{where}.name", "an identifier (it names a file in deploy/weights)")
        rows, lanes, bits = (need(table, key, int, where) for key in ("rows", "lanes", "bits"))
        need(table, "signed", bool, where)
        if not (rows > 0 and lanes > 0 and 1 <= bits <= 62):
            fail(where, "positive rows and lanes and bits from 1 to 62")
    axis = host.get("axis")
    if axis is None:
        return
    for side in ("input", "output"):
        a = need(axis, side, dict, "axis")
        where = f"axis.{side}"
        num, pack = need(a, "num", int, where), need(a, "pack", int, where)
        bits, word = need(a, "bits", int, where), need(a, "word", int, where)
        need(a, "signed", bool, where)
        if not (num > 0 and pack > 0 and num % pack == 0 and 1 <= bits <= 64 and word in (8, 16, 32, 64)):
            fail(where, "num a multiple of pack, bits from 1 to 64 and word 8, 16, 32 or 64")
        if pack * bits > word:
            fail(where, "pack * bits at most word")
        order = need(a, "order", list, where)
        if sorted(order) != list(range(num)) or not all(type(v) is int for v in order):
            fail(f"{where}.order", f"a permutation of 0..{num - 1}")
        elements = int(np.prod((i if side == "input" else o)["shape"], dtype=object))
        if num != elements:
            fail(f"{where}.num", f"the {side}'s {elements} elements")


class Host:
    """The host side of one build, from its host.json: quantize, dequantize, pack and unpack."""

    def __init__(self, host: dict):
        check_host(host)
        i, o = host["input"], host["output"]
        self.input_shape = tuple(i["shape"])
        self.output_shape = tuple(o["shape"])
        self._input = (
            i["kind"],
            _array(i["scale"]),
            _array(i["zero_point"]),
            i["bits"],
            i["signed"],
            i["narrow"],
            i["rounding"],
            tuple((step["op"], _array(step["constant"])) for step in i.get("pre", [])),
        )
        q = o["quant"]
        self._quant = None if q is None else (_array(q["scale"]), _array(q["zero_point"]), q["kind"])
        self._steps = chain_steps(o["chain"])
        self.axis = host.get("axis")
        self.weights = list(host.get("weights", []))  # written into UltraRAM before the first frame

    def quantize(self, x) -> np.ndarray:
        return quantize(x, *self._input)

    def dequantize(self, codes) -> np.ndarray:
        return dequantize(codes, self._quant, self._steps)

    def frame_bytes(self, side: str) -> int:
        """Bytes of one frame's AXI-Stream words on the "input" or "output" side."""
        a = self.axis[side]
        return a["num"] // a["pack"] * a["word"] // 8

    def pack_input(self, codes) -> np.ndarray:
        a = self.axis["input"]
        return pack_words(codes, a["order"], a["pack"], a["bits"], a["word"])

    def unpack_output(self, data) -> np.ndarray:
        a = self.axis["output"]
        codes = unpack_words(data, a["order"], a["pack"], a["bits"], a["word"], a["signed"])
        return codes.reshape((len(codes),) + self.output_shape)


def _array(d) -> np.ndarray:
    return np.array(d["values"], dtype=np.float32).reshape(d["shape"])
