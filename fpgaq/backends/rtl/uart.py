"""`fpgaq run DIR --port PORT`: the UART driver that an RTL build for an ECP5 board wrote into DIR/deploy
(templates/uart_driver.py), run from the fpgaq command on a serial port (pyserial) with the bitstream already
loaded on the board. The driver is loaded from the build folder, with fpgaq.host as its fpgaq_host (the file
beside it is a byte-identical copy), so the command runs exactly what a user's own script would."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

from fpgaq import host, outdir
from fpgaq.backends.rtl.board import DRIVER
from fpgaq.errors import FpgaqError


class BoardRunError(FpgaqError):
    """The board could not be reached or answered short."""


def load_driver(build_dir: Path):
    """The uart_driver module of DIR/deploy (BoardRunError when the folder has none: not an ECP5 RTL build)."""
    path = build_dir / DRIVER[0]
    if not outdir.is_complete(build_dir) or not path.is_file():
        raise BoardRunError(f"{str(build_dir)!r} has no {DRIVER[0]}: build it with --backend rtl for an ECP5 board "
                            "(fpgaq boards: family ecp5)")  # fmt: skip
    spec = importlib.util.spec_from_file_location("fpgaq_uart_driver", path)
    module = importlib.util.module_from_spec(spec)
    saved = sys.modules.get("fpgaq_host")
    sys.modules["fpgaq_host"] = host
    try:
        spec.loader.exec_module(module)
    finally:
        if saved is None:
            del sys.modules["fpgaq_host"]
        else:
            sys.modules["fpgaq_host"] = saved
    return module


def run_on_board(build_dir: str | os.PathLike, port, x: np.ndarray, baud: int | None = None,
                 timeout: float = 2.0) -> np.ndarray:  # fmt: skip
    """float32 outputs of the board on float32 input x through the serial port `port` (a device name, or an open
    file-like port); BoardRunError naming the port, pyserial or the missing bytes."""
    build_dir = Path(build_dir)
    driver = load_driver(build_dir)
    if isinstance(port, str):
        try:
            import serial
        except ImportError:
            raise BoardRunError('pyserial is not installed: pip install pyserial (or "fpgaq[open]")') from None
        try:
            rate = baud or json.loads((build_dir / DRIVER[2]).read_text())["baud"]
            port = serial.serial_for_url(port, baudrate=rate, timeout=timeout)
        except (serial.SerialException, ValueError) as exc:
            raise BoardRunError(f"cannot open the serial port {port!r}: {exc}") from None
    try:
        accel = driver.FpgaqUart(port, baud=baud, timeout=timeout, folder=build_dir / "deploy")
        return accel.run(x)
    except (TimeoutError, ValueError) as exc:
        raise BoardRunError(str(exc)) from None
    finally:
        port.close()
