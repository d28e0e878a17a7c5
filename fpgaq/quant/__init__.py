"""Brevitas-side quantization recipes (docs/algorithms.md: AXE, bias compensation, QuantTune, MaQD) and the
QONNX export fpgaq builds.

Available: ptq (RTN/GPFQ/OPTQ with AXE and budget-aware scales), export, bias_compensation, QuantTuneLoss,
quanttune, and the MaQD building blocks in fpgaq.quant.maqd (LayerBatchNorm1d/2d, round-clip quantizers
with a surrogate gradient, standardized weights).
"""

import warnings

# brevitas.graph.equalize warns at import that an optional CUDA kernel package is absent; nothing here uses it
warnings.filterwarnings("ignore", message="fast_hadamard_transform package not found")

from fpgaq.quant.axe import PTQError, ptq  # noqa: E402
from fpgaq.quant.bias_comp import LayerCompensation, bias_compensation  # noqa: E402
from fpgaq.quant.export import export  # noqa: E402
from fpgaq.quant.quanttune import QuantTuneLoss, quanttune  # noqa: E402

__all__ = ["LayerCompensation", "PTQError", "QuantTuneLoss", "bias_compensation", "export", "ptq", "quanttune"]
