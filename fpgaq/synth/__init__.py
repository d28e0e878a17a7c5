"""`fpgaq synth`: a built project to an IP (Vitis HLS), a bitstream (Vivado block design, beside the PYNQ driver
that `fpgaq build` wrote) or a FINN build. The vendor tools run from the user's installation (or the toolchain
image, see Dockerfile)."""

from fpgaq.synth.flow import synth

__all__ = ["synth"]
