"""`fpgaq synth`: a built project to an IP (Vitis HLS), a bitstream (Vivado block design) or a FINN build, and
the PYNQ driver. The vendor tools run from the user's installation (or the toolchain image, see Dockerfile)."""

from fpgaq.synth.flow import synth

__all__ = ["synth"]
