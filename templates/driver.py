"""PYNQ driver of an fpgaq accelerator (written by `fpgaq build` into DIR/deploy; `fpgaq synth --bitstream` adds
fpgaq.bit and fpgaq.hwh beside it).

On the board, with this folder copied next to your script:

    from driver import FpgaqAccelerator
    accel = FpgaqAccelerator()            # loads fpgaq.bit (+ fpgaq.hwh) and host.json from this folder
    y = accel.run(x)                      # float32 in (batch first, the model's input layout), float32 out

Host-side quantization, AXI-Stream packing and dequantization are fpgaq_host.py, a byte-identical copy of the
fpgaq.host module that the C-simulation runs, so the board computes what `fpgaq csim` verified.

The batch boundary travels with the data: each call sends its frames as one DMA transfer, whose last word the
DMA marks with TLAST, and the accelerator raises TLAST on the last output word of the frame that carried it, so
the receive transfer of the same frames completes exactly there. Any batch size and any sequence of batch sizes
works. A batch larger than the DMA's transfer limit (2^c_sg_length_width - 1 bytes, read from the .hwh) is sent
as several transfers of whole frames, each with its own TLAST. The accelerator has no batch register: its
AXI4-Lite control register (0x00) is written once, ap_start | auto-restart.

Weights in UltraRAM (UltraScale+ boards; host.json "weights") cannot come with the bitstream: the constructor
writes them over the same AXI4-Lite bus before it starts the accelerator, from weights/NAME.bin (rows in
32-bit words, fpgaq_host.pack_rows) to the addresses Vitis HLS gave each array (weights/map.json, which
`fpgaq synth` reads from the driver header Vitis HLS exports).
"""

from __future__ import annotations

import json
import os

import numpy as np
from fpgaq_host import Host, row_bytes
from pynq import Overlay, allocate

CONTROL = 0x00
START_AUTO_RESTART = 0x81
DEFAULT_LENGTH_BITS = 26  # the AXI DMA's c_sg_length_width when the .hwh does not say (PYNQ's default too)


def max_transfer_bytes(dma) -> int:
    """The longest transfer the DMA takes, in bytes: 2^c_sg_length_width - 1 (PG021's buffer length register)."""
    parameters = getattr(dma, "description", {}).get("parameters", {})
    bits = int(parameters.get("c_sg_length_width", DEFAULT_LENGTH_BITS))
    return (1 << bits) - 1


def weight_words(table: dict, where: dict, data: bytes) -> np.ndarray:
    """The 32-bit words to write from where["base"] for one table: its rows (row_bytes each, as packed) at the
    stride Vitis HLS laid the array out with ((high - base + 1) / depth bytes), checked against host.json."""
    rows, width = table["rows"], table["lanes"] * table["bits"]
    row = row_bytes(table["lanes"], table["bits"])
    if where["depth"] != rows or where["width"] != width:
        raise ValueError(f"{table['name']}: the IP's array is {where['depth']} x {where['width']} bits, host.json "
                         f"says {rows} x {width}: the bitstream is not from this build")  # fmt: skip
    stride = (where["high"] - where["base"] + 1) // rows
    if stride < row or stride % 4 or len(data) != rows * row:
        raise ValueError(f"{table['name']}: {len(data)} bytes of rows of {row} do not fit a stride of {stride}")
    image = np.zeros((rows, stride), dtype=np.uint8)
    image[:, :row] = np.frombuffer(data, dtype=np.uint8).reshape(rows, row)
    return image.reshape(-1).view("<u4")


class FpgaqAccelerator:
    def __init__(self, bitfile: str | None = None, host_json: str | None = None):
        here = os.path.dirname(os.path.abspath(__file__))
        self.overlay = Overlay(bitfile or os.path.join(here, "fpgaq.bit"))
        with open(host_json or os.path.join(here, "host.json")) as f:
            self.host = Host(json.load(f))
        self.dma = self.overlay.dma
        self.accel = self.overlay.accel
        self.in_frame_bytes = self.host.frame_bytes("input")
        self.out_frame_bytes = self.host.frame_bytes("output")
        limit = max_transfer_bytes(self.dma)
        self.frames_per_transfer = limit // max(self.in_frame_bytes, self.out_frame_bytes)
        if self.frames_per_transfer < 1:
            raise ValueError(
                f"one frame ({self.in_frame_bytes} bytes in, {self.out_frame_bytes} out) exceeds the DMA's transfer "
                f"limit of {limit} bytes: rebuild the block design with a larger c_sg_length_width"
            )
        self.load_weights(here)
        self.accel.write(CONTROL, START_AUTO_RESTART)  # once: every frame restarts it

    def load_weights(self, here: str) -> None:
        """Write the UltraRAM weights (none on most builds) before the first frame."""
        if not self.host.weights:
            return
        with open(os.path.join(here, "weights", "map.json")) as f:
            where = json.load(f)  # written by fpgaq synth from the Vitis HLS driver header
        for table in self.host.weights:
            with open(os.path.join(here, "weights", table["name"] + ".bin"), "rb") as f:
                words = weight_words(table, where[table["name"]], f.read())
            base = where[table["name"]]["base"]
            for i, word in enumerate(words.tolist()):
                self.accel.write(base + 4 * i, word)

    def _transfer(self, chunk: np.ndarray) -> np.ndarray:
        """One DMA transfer each way: packed input words of whole frames -> their output words."""
        frames = len(chunk)
        inbuf = allocate(shape=(frames * self.in_frame_bytes,), dtype=np.uint8)
        outbuf = allocate(shape=(frames * self.out_frame_bytes,), dtype=np.uint8)
        try:
            inbuf[:] = chunk.reshape(-1)
            self.dma.recvchannel.transfer(outbuf)
            self.dma.sendchannel.transfer(inbuf)
            self.dma.sendchannel.wait()
            self.dma.recvchannel.wait()
            received = getattr(self.dma.recvchannel, "transferred", outbuf.nbytes)
            if received != outbuf.nbytes:
                raise RuntimeError(f"the accelerator ended the batch after {received} of {outbuf.nbytes} bytes")
            return np.array(outbuf).reshape(frames, -1)
        finally:
            inbuf.freebuffer()
            outbuf.freebuffer()

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """int64 input codes (N, *input shape) -> int64 output codes (N, *output shape): one DMA transfer of all N
        frames, or several of whole frames when N frames exceed the DMA's transfer limit."""
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes) == 0:
            return np.empty((0,) + self.host.output_shape, dtype=np.int64)
        words = self.host.pack_input(codes.reshape(len(codes), -1))
        step = self.frames_per_transfer
        out = [self._transfer(words[first : first + step]) for first in range(0, len(words), step)]
        return self.host.unpack_output(np.concatenate(out))

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 input (batch first) -> float32 output, as the model computes it."""
        x = np.asarray(x)
        if x.dtype != np.float32 or tuple(x.shape[1:]) != self.host.input_shape:
            raise ValueError(f"input must be float32 of shape (N, {', '.join(map(str, self.host.input_shape))})")
        return self.host.dequantize(self.run_codes(self.host.quantize(x)))
