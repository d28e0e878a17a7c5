"""Host-side input quantization and output dequantization of the IR's specs: the only float math outside the
accelerator. The arithmetic is fpgaq.host's (the same code the C-simulation and the PYNQ driver run).
"""

from __future__ import annotations

import numpy as np

from fpgaq import host
from fpgaq.ir.graph import InputSpec, OutputSpec
from fpgaq.ir.serialize import output_to_json
from fpgaq.ir.types import Rounding

_NUMPY_ROUNDING = {r: host.ROUNDING[r.value] for r in Rounding}


def quantize_input(spec: InputSpec, x: np.ndarray) -> np.ndarray:
    """float32 input (batch first) -> int64 codes, exactly as the model's preprocessing and its QONNX Quant op
    compute them."""
    return host.quantize(
        x, spec.kind, spec.scale, spec.zero_point, spec.bits, spec.signed, spec.narrow, spec.rounding.value, spec.pre
    )


def dequantize_output(spec: OutputSpec, codes: np.ndarray) -> np.ndarray:
    """int64 codes of the IR output (batch first) -> float32 values of the model output, through the same
    serialized chain the host reads (host.json)."""
    return host.dequantize(codes, spec.quant, host.chain_steps(output_to_json(spec)["chain"]))
