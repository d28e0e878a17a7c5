"""Brevitas-side quantization recipes (shared/ALGORITHMS.md sections 2-5) and the QONNX export fpgaq builds.

Available: ptq (RTN/GPFQ/OPTQ with AXE and budget-aware scales), export, bias_compensation, QuantTuneLoss,
quanttune, and the MaQD building blocks in fpgaq.quant.maqd (LayerBatchNorm1d/2d, round-clip quantizers
with a surrogate gradient, standardized weights).
"""

from fpgaq.quant.axe import PTQError, ptq
from fpgaq.quant.bias_comp import LayerCompensation, bias_compensation
from fpgaq.quant.export import export
from fpgaq.quant.quanttune import QuantTuneLoss, quanttune

__all__ = ["LayerCompensation", "PTQError", "QuantTuneLoss", "bias_compensation", "export", "ptq", "quanttune"]
