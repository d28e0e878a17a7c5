"""Host-side input quantization and output dequantization of the IR's specs: the only float math outside the
accelerator. The arithmetic is fpgaq.host's (the same code the C-simulation and the PYNQ driver run).
"""

from __future__ import annotations

import numpy as np

from fpgaq import host
from fpgaq.ir.graph import InputSpec, OutputSpec
from fpgaq.ir.types import Rounding

_NUMPY_ROUNDING = {r: host.ROUNDING[r.value] for r in Rounding}


def quantize_input(spec: InputSpec, x: np.ndarray) -> np.ndarray:
    """float32 input (batch first) -> int64 codes, exactly as the QONNX Quant op rounds them."""
    return host.quantize(
        x, spec.kind, spec.scale, spec.zero_point, spec.bits, spec.signed, spec.narrow, spec.rounding.value
    )


def dequantize_output(spec: OutputSpec, codes: np.ndarray) -> np.ndarray:
    """int64 codes of the IR output (batch first) -> float32 values of the model output."""
    return host.dequantize(codes, spec.quant, float_steps(spec))


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
    return host.float_parameter(arr.reshape(-1), arr.shape, none_value)
