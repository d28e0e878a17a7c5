"""fpgaq: quantized PyTorch (Brevitas) models to bit-exact FPGA dataflow accelerators."""

__version__ = "0.1.0"
