"""Brevitas-side quantization recipes (shared/ALGORITHMS.md sections 2-5) and the QONNX export fpgaq builds.

Available: ptq (RTN/GPFQ/OPTQ with AXE and budget-aware scales), export, bias_compensation, QuantTuneLoss,
quanttune. The MaQD modules, the `fpgaq quantize` command and the reproduction benchmark are not written yet.
"""

from fpgaq.quant.axe import PTQError, ptq
from fpgaq.quant.bias_comp import LayerCompensation, bias_compensation
from fpgaq.quant.export import export
from fpgaq.quant.quanttune import QuantTuneLoss, quanttune

__all__ = ["LayerCompensation", "PTQError", "QuantTuneLoss", "bias_compensation", "export", "ptq", "quanttune"]
