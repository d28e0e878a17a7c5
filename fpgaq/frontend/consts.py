"""Constant tensors of a QONNX graph: float initializers and quantized weights/biases as exact integers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from fpgaq.errors import UnsupportedOpError
from fpgaq.ir.types import IntType, Rounding, quant_int_range


@dataclass(frozen=True, eq=False)
class QuantConst:
    """A constant passed through Quant/BipolarQuant: value = ints * scale, ints = code - zero point (exact)."""

    ints: np.ndarray
    scale: np.ndarray
    value: np.ndarray  # the float32 value the QONNX reference computes
    dtype: IntType  # the declared integer type (bipolar weights: int2, values -1 and +1)

    def channel_scale(self, axis: int, what: str) -> list[Fraction]:
        """Scale per index of `axis` (the output channel); it may not vary along any other axis."""
        full = np.broadcast_to(self.scale, self.ints.shape)
        moved = np.moveaxis(full, axis, 0).reshape(full.shape[axis], -1)
        if not np.all(moved == moved[:, :1]):
            raise UnsupportedOpError(f"{what}: the weight scale varies within an output channel")
        return [Fraction(float(v)) for v in moved[:, 0]]


def quantize_const(x, scale, zero_point, bits, signed, narrow, rounding: Rounding, where: str) -> QuantConst:
    """Quantize a constant exactly as qonnx's int_quant does in float32, keeping the integer codes."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    zero_point = np.asarray(zero_point, dtype=np.float32)
    _check_scale(scale, where)
    y = x / scale + zero_point
    if bits == 1 and signed:
        codes = np.where(y >= 0, 1.0, -1.0).astype(np.float32)
    else:
        lo, hi = quant_int_range(bits, signed, narrow)
        y = np.clip(y, np.float32(lo), np.float32(hi))
        from fpgaq.ir.hostio import _NUMPY_ROUNDING

        codes = _NUMPY_ROUNDING[rounding](y)
    ints = codes - zero_point
    if not np.all(ints == np.round(ints)):
        raise UnsupportedOpError(f"{where}: zero point must be an integer for quantized weights")
    value = ((codes - zero_point) * scale).astype(np.float32)
    declared = IntType(bits, signed) if not (bits == 1 and signed) else IntType(2, True)
    return QuantConst(ints.astype(np.int64), scale, value, declared)


def bipolar_const(x, scale, where: str) -> QuantConst:
    x = np.asarray(x, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    _check_scale(scale, where)
    ints = np.where(x >= 0, 1, -1).astype(np.int64)
    return QuantConst(ints, scale, (ints.astype(np.float32) * scale).astype(np.float32), IntType(2, True))


def _check_scale(scale: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise UnsupportedOpError(f"{where}: quantization scale must be positive and finite")


def exact_sqrt(v: Fraction, bits: int = 256) -> Fraction:
    """sqrt(v), exact when v is the square of a rational, else to within 2**-bits relative."""
    if v < 0:
        raise ValueError("square root of a negative number")
    n, d = v.numerator, v.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    if rn * rn == n and rd * rd == d:
        return Fraction(rn, rd)
    scale = 1 << bits
    return Fraction(math.isqrt(n * d * scale * scale), d * scale)
