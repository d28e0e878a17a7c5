"""PYNQ driver of an fpgaq accelerator (written by `fpgaq synth --bitstream` into DIR/deploy).

On the board, with this folder copied next to your script:

    from driver import FpgaqAccelerator
    accel = FpgaqAccelerator()            # loads fpgaq.bit (+ fpgaq.hwh) and host.json from this folder
    y = accel.run(x)                      # float32 in (batch first, the model's input layout), float32 out

Host-side quantization, AXI-Stream packing and dequantization are fpgaq_host.py, a byte-identical copy of the
fpgaq.host module that the C-simulation runs, so the board computes what `fpgaq csim` verified. The
accelerator's AXI4-Lite registers: 0x00 control (ap_start | auto-restart), 0x10 `batch` (frames per DMA
receive; the accelerator sets TLAST on the last output word of every batch).
"""

from __future__ import annotations

import json
import os

import numpy as np
from fpgaq_host import Host
from pynq import Overlay, allocate

CONTROL = 0x00
START_AUTO_RESTART = 0x81
BATCH = 0x10


class FpgaqAccelerator:
    def __init__(self, bitfile: str | None = None, host_json: str | None = None, batch: int = 256):
        here = os.path.dirname(os.path.abspath(__file__))
        self.overlay = Overlay(bitfile or os.path.join(here, "fpgaq.bit"))
        with open(host_json or os.path.join(here, "host.json")) as f:
            self.host = Host(json.load(f))
        self.dma = self.overlay.dma
        self.accel = self.overlay.accel
        self.batch = int(batch)
        self.in_frame_bytes = self.host.frame_bytes("input")
        self.out_frame_bytes = self.host.frame_bytes("output")
        self._batch_register = None
        self._running = False

    def _start(self, frames: int) -> None:
        if frames != self._batch_register:
            self.accel.write(BATCH, frames)
            self._batch_register = frames
        if not self._running:
            self.accel.write(CONTROL, START_AUTO_RESTART)
            self._running = True

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """int64 input codes (N, *input shape) -> int64 output codes (N, *output shape), `batch` frames per DMA."""
        codes = np.asarray(codes, dtype=np.int64)
        results = []
        for first in range(0, len(codes), self.batch):
            chunk = codes[first : first + self.batch]
            frames = len(chunk)
            data = self.host.pack_input(chunk.reshape(frames, -1))
            inbuf = allocate(shape=(frames * self.in_frame_bytes,), dtype=np.uint8)
            outbuf = allocate(shape=(frames * self.out_frame_bytes,), dtype=np.uint8)
            inbuf[:] = data.reshape(-1)
            self._start(frames)
            self.dma.recvchannel.transfer(outbuf)
            self.dma.sendchannel.transfer(inbuf)
            self.dma.sendchannel.wait()
            self.dma.recvchannel.wait()
            results.append(self.host.unpack_output(np.array(outbuf).reshape(frames, -1)))
            inbuf.freebuffer()
            outbuf.freebuffer()
        return np.concatenate(results) if results else np.empty((0,) + self.host.output_shape, dtype=np.int64)

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 input (batch first) -> float32 output, as the model computes it."""
        x = np.asarray(x)
        if x.dtype != np.float32 or tuple(x.shape[1:]) != self.host.input_shape:
            raise ValueError(f"input must be float32 of shape (N, {', '.join(map(str, self.host.input_shape))})")
        return self.host.dequantize(self.run_codes(self.host.quantize(x)))
