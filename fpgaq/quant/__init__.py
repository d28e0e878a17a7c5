"""Brevitas-side quantization recipes (shared/ALGORITHMS.md sections 2-5) and the QONNX export fpgaq builds.

Available: export, bias_compensation, QuantTuneLoss, quanttune. The AXE PTQ entry point (ptq) and the MaQD
modules are not written yet (see the project's open issue).
"""

from fpgaq.quant.bias_comp import LayerCompensation, bias_compensation
from fpgaq.quant.export import export
from fpgaq.quant.quanttune import QuantTuneLoss, quanttune

__all__ = ["LayerCompensation", "QuantTuneLoss", "bias_compensation", "export", "quanttune"]
