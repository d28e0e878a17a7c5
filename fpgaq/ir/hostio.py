"""Host-side input quantization and output dequantization: the only float math outside the accelerator.

Input quantization reproduces qonnx's int_quant / binary_quant operation by operation in float32, so the codes
equal those the QONNX reference computes for the same input.
"""

from __future__ import annotations

import numpy as np

from fpgaq.ir.graph import InputSpec, OutputSpec
from fpgaq.ir.types import Rounding, quant_int_range

_NUMPY_ROUNDING = {
    Rounding.ROUND: np.round,
    Rounding.CEIL: np.ceil,
    Rounding.FLOOR: np.floor,
    Rounding.ROUND_TO_ZERO: np.fix,
    Rounding.UP: lambda y: np.sign(y) * np.ceil(np.abs(y)),
    Rounding.HALF_UP: lambda y: np.sign(y) * np.floor(np.abs(y) + np.float32(0.5)),
    Rounding.HALF_DOWN: lambda y: np.sign(y) * np.ceil(np.abs(y) - np.float32(0.5)),
}


def quantize_input(spec: InputSpec, x: np.ndarray) -> np.ndarray:
    """float32 input (batch first) -> int64 codes, exactly as the QONNX Quant op rounds them."""
    x = np.asarray(x, dtype=np.float32)
    scale = spec.scale.astype(np.float32)
    if spec.kind == "bipolar":
        return (x >= np.float32(0.0)).astype(np.int64)
    y = x / scale + spec.zero_point.astype(np.float32)
    if spec.bits == 1 and spec.signed:
        return (y >= np.float32(0.0)).astype(np.int64)
    lo, hi = quant_int_range(spec.bits, spec.signed, spec.narrow)
    y = np.clip(y, np.float32(lo), np.float32(hi))
    return _NUMPY_ROUNDING[spec.rounding](y).astype(np.int64)


def dequantize_output(spec: OutputSpec, codes: np.ndarray) -> np.ndarray:
    """int64 codes of the IR output (batch first) -> float32 values of the model output."""
    codes = np.asarray(codes)
    if spec.quant is not None:
        scale, zero_point, kind = spec.quant
        scale = scale.astype(np.float32)
        if kind == "bipolar":
            return np.where(codes > 0, np.float32(1), np.float32(-1)) * scale
        if kind == "sign":
            ones = np.where(codes > 0, np.float32(1), np.float32(-1))
            return (ones - zero_point.astype(np.float32)) * scale
        return (codes.astype(np.float32) - zero_point.astype(np.float32)) * scale
    y = codes.astype(np.float64)
    for kind, first, second in float_steps(spec):
        if kind == "affine":
            y = y * first + second
        else:
            y = np.clip(y, first, second)
    return y.astype(np.float32)


def float_steps(spec: OutputSpec):
    """The output chain with float64 parameters (broadcast over batch): [(kind, p0, p1)]."""
    steps = []
    for step in spec.chain.steps:
        name = type(step).__name__
        if name == "Affine":
            steps.append(("affine", _f64(step.a), _f64(step.b)))
        elif name == "Clamp":
            steps.append(("clamp", _f64(step.lo, -np.inf), _f64(step.hi, np.inf)))
        else:
            raise AssertionError(f"output chain step {name} is not affine or clamp")
    return steps


def _f64(arr, none_value=0.0):
    return np.array([none_value if v is None else float(v) for v in arr.reshape(-1)], dtype=np.float64).reshape(
        (1,) + arr.shape
    )
