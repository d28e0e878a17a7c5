"""Constant tensors of a QONNX graph: float initializers and quantized weights/biases as exact integers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from fpgaq.errors import UnsupportedOpError
from fpgaq.ir.types import MAX_INT_BITS, IntType, Rounding, quant_int_range


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
        return [Fraction(float(v)) for v in moved[:, 0]]  # finite: quantize_const checked the scale


def quantize_const(x, scale, zero_point, bits, signed, narrow, rounding: Rounding, where: str) -> QuantConst:
    """Quantize a constant exactly as qonnx's int_quant does in float32, keeping the integer codes."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    zero_point = np.asarray(zero_point, dtype=np.float32)
    _check_scale(scale, where)
    _check_fits(x.shape, scale.shape, where, "scale")
    _check_fits(x.shape, zero_point.shape, where, "zero point")
    if not np.all(zero_point == np.round(zero_point)):
        raise UnsupportedOpError(f"{where}: zero point must be an integer for quantized weights")
    with np.errstate(over="ignore"):  # a huge x / scale clips to the largest code, as in QONNX
        y = np.divide(x, scale, out=np.empty(x.shape, np.float32))
        y += zero_point
    if bits == 1 and signed:
        codes = np.where(y >= 0, np.float32(1), np.float32(-1))
    else:
        lo, hi = quant_int_range(bits, signed, narrow)
        np.clip(y, np.float32(lo), np.float32(hi), out=y)
        from fpgaq.ir.hostio import _NUMPY_ROUNDING

        codes = np.asarray(_NUMPY_ROUNDING[rounding](y), dtype=np.float32)
    del y
    _check_exact_ints(codes, zero_point, bits, where)
    codes -= zero_point  # now the integers, in float32 as QONNX computes them
    with np.errstate(over="ignore"):
        value = np.asarray(codes * scale, dtype=np.float32)
    _check_value(value, where)
    declared = IntType(bits, signed) if not (bits == 1 and signed) else IntType(2, True)
    return QuantConst(codes.astype(np.int64), scale, value, declared)


def _check_exact_ints(codes, zero_point, bits: int, where: str) -> None:
    """codes - zero_point must be exact in float32 and fit MAX_INT_BITS (always so for small zero points)."""
    if bits < 24 and np.abs(zero_point).max(initial=0) < 2**23:
        return  # both below 2**23: the float32 difference is exact and small
    exact = codes.astype(np.float64) - zero_point.astype(np.float64)
    if np.any(np.abs(exact) >= 2.0 ** (MAX_INT_BITS - 1)) or not np.array_equal(exact, codes - zero_point):
        raise UnsupportedOpError(f"{where}: the zero point is too large for exact integer weights")


def bipolar_const(x, scale, where: str) -> QuantConst:
    x = np.asarray(x, dtype=np.float32)
    scale = np.asarray(scale, dtype=np.float32)
    _check_scale(scale, where)
    _check_fits(x.shape, scale.shape, where, "scale")
    ints = np.where(x >= 0, 1, -1).astype(np.int64)
    return QuantConst(ints, scale, (ints.astype(np.float32) * scale).astype(np.float32), IntType(2, True))


def _check_scale(scale: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise UnsupportedOpError(f"{where}: quantization scale must be positive and finite")


def _check_fits(shape, param_shape, where: str, what: str) -> None:
    """A quantizer parameter broadcasts to the constant's shape without growing it."""
    fits = len(param_shape) <= len(shape) and all(p in (1, n) for p, n in zip(param_shape[::-1], shape[::-1]))
    if not fits:
        raise UnsupportedOpError(f"{where}: {what} of shape {param_shape} does not fit the constant of shape {shape}")


def _check_value(value: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(value)):
        raise UnsupportedOpError(f"{where}: the quantized values overflow float32 (the scale is too large)")


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
