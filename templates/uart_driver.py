"""UART driver of an fpgaq accelerator on an ECP5 board (written by `fpgaq build --backend rtl` into DIR/deploy;
`fpgaq synth DIR --backend yosys` adds fpgaq.bit and host.json beside it).

On the computer the board's USB serial port is plugged into, with the bitstream loaded (for example
`openFPGALoader -b ulx3s fpgaq.bit`) and this folder next to your script:

    from uart_driver import FpgaqUart
    accel = FpgaqUart("/dev/ttyUSB0")       # baud rate from uart.json, host.json from this folder
    y = accel.run(x)                         # float32 in (batch first, the model's input layout), float32 out

Protocol (rtl/fpgaq_uart.sv): 8N1 at uart.json's baud rate, no flow control. For each frame the driver sends the
frame's input words (fpgaq_host.Host.pack_input: little-endian bytes of each word) and reads exactly the frame's
output bytes before it sends the next frame, so the board's one-frame FIFOs never overflow. Host-side quantization,
packing and dequantization are fpgaq_host.py, a byte-identical copy of the fpgaq.host module that `fpgaq csim`
runs, so the board computes what the Verilator simulation verified.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fpgaq_host import Host

HERE = Path(__file__).resolve().parent


def _host_file(folder: Path) -> Path:
    """host.json beside the driver (copied by fpgaq synth), else the build folder's (the driver in DIR/deploy)."""
    for path in (folder / "host.json", folder.parent / "host.json"):
        if path.is_file():
            return path
    raise FileNotFoundError(f"no host.json in {folder} or {folder.parent}: copy the build folder's host.json here")


class FpgaqUart:
    """The accelerator behind a serial port. `port`: a device name for pyserial, or an open file-like object
    with write(bytes) and read(n) -> bytes (read returning fewer than n bytes once `timeout` s have passed, as
    pyserial's Serial does)."""

    def __init__(self, port, baud: int | None = None, timeout: float = 2.0, folder: str | Path = HERE):
        folder = Path(folder)
        self.host = Host(json.loads(_host_file(folder).read_bytes()))
        self.link = json.loads((folder / "uart.json").read_text())
        self.baud = int(baud or self.link["baud"])
        self.timeout = timeout
        if isinstance(port, (str, Path)):
            import serial  # pyserial

            self.serial = serial.Serial(str(port), baudrate=self.baud, timeout=timeout)
            self.name = str(port)
        else:
            self.serial, self.name = port, getattr(port, "port", None) or type(port).__name__
        self.in_frame_bytes = self.host.frame_bytes("input")
        self.out_frame_bytes = self.host.frame_bytes("output")

    def run_bytes(self, data: np.ndarray) -> np.ndarray:
        """Input bytes (N, input bytes per frame) -> output bytes (N, output bytes per frame), one frame at a
        time; TimeoutError naming the frame and the bytes missing when the board answers short."""
        data = np.ascontiguousarray(data, dtype=np.uint8).reshape(-1, self.in_frame_bytes)
        out = np.empty((len(data), self.out_frame_bytes), dtype=np.uint8)
        for i, frame in enumerate(data):
            self.serial.write(frame.tobytes())
            got = self.serial.read(self.out_frame_bytes)
            if len(got) != self.out_frame_bytes:
                raise TimeoutError(
                    f"frame {i}: {len(got)} of {self.out_frame_bytes} output bytes from {self.name} within "
                    f"{self.timeout:g} s (is fpgaq.bit loaded, the port right, {self.baud} baud?)"
                )
            out[i] = np.frombuffer(got, dtype=np.uint8)
        return out

    def run_codes(self, codes: np.ndarray) -> np.ndarray:
        """int64 input codes (N, *input shape) -> int64 output codes (N, *output shape)."""
        codes = np.asarray(codes, dtype=np.int64)
        words = self.host.pack_input(codes.reshape(len(codes), -1))
        return self.host.unpack_output(self.run_bytes(words))

    def run(self, x: np.ndarray) -> np.ndarray:
        """float32 input (N, *input shape) -> float32 output: quantized, run on the board, dequantized."""
        x = np.asarray(x)
        if x.dtype != np.float32 or tuple(x.shape[1:]) != self.host.input_shape:
            raise ValueError(f"input must be float32 of shape (N, {', '.join(map(str, self.host.input_shape))})")
        return self.host.dequantize(self.run_codes(self.host.quantize(x)))

    def close(self) -> None:
        self.serial.close()
