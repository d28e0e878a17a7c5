"""The board-level top of an RTL build for ECP5 boards (boards/*.yaml with `io` and `nextpnr`): rtl/fpgaq_board.sv
(fpgaq_top behind the UART frame interface of rtl/fpgaq_uart.sv on the board's pins), rtl/board.lpf (those pins for
nextpnr-ecp5), the UART library in rtl/lib, and the host driver in deploy/ (uart_driver.py with fpgaq_host.py, a
byte-identical copy of fpgaq.host, and uart.json). `fpgaq synth DIR --backend yosys` makes deploy/fpgaq.bit of it
(fpgaq.synth.ecp5). Checked end to end in Verilator (tests/rtl/test_ecp5.py: driver -> UART bits -> fpgaq_top ->
UART bits -> driver, equal to the golden model)."""

from __future__ import annotations

import json
from pathlib import Path

from fpgaq import __version__, host
from fpgaq.backends.hls.emit import environment
from fpgaq.boards import Board
from fpgaq.errors import FpgaqError
from fpgaq.plan.kernels import Plan
from fpgaq.resources import data_dir

UART_LIBRARY = ("fpgaq_uart.sv", "fpgaq_uart_rx.sv", "fpgaq_uart_tx.sv", "fpgaq_reset.sv")
DRIVER = ("deploy/uart_driver.py", "deploy/fpgaq_host.py", "deploy/uart.json")  # + deploy/host.json (fpgaq synth)
BAUD_TOLERANCE = 0.02  # the largest clock / baud rounding error a UART receiver at 16x or mid-bit sampling takes


class BoardIoError(FpgaqError):
    """A board top level that cannot be made: a baud rate the clock cannot divide to, words not whole bytes."""


def clks_per_bit(board: Board) -> int:
    """Clock cycles per UART bit at the board's clock and baud rate (rounded; BoardIoError past 2% error)."""
    ratio = board.clock_mhz * 1e6 / board.io.baud
    cycles = round(ratio)
    if cycles < 2 or abs(cycles - ratio) / ratio > BAUD_TOLERANCE:
        raise BoardIoError(f"{board.name}: {board.io.baud} baud from a {board.clock_mhz:g} MHz clock is {ratio:.2f} "
                           "clocks per bit; the UART needs at least 2, within 2% of a whole number")  # fmt: skip
    return cycles


def board_files(plan: Plan, board: Board) -> dict[str, str | bytes]:
    """Build-folder path -> content of the board's top level and host driver (ECP5 boards; {} for others)."""
    if board.io is None:
        return {}
    for side, boundary in (("input", plan.input), ("output", plan.output)):
        if boundary.word % 8:
            raise BoardIoError(f"the {side} words are {boundary.word} bits; the UART sends whole bytes")
    context = dict(
        version=__version__,
        board=board,
        clks_per_bit=clks_per_bit(board),
        in_word=plan.input.word,
        out_word=plan.output.word,
        in_words=plan.input.num // plan.input.pack,
        out_words=plan.output.num // plan.output.pack,
    )
    env = environment()
    files: dict[str, str | bytes] = {
        "rtl/fpgaq_board.sv": env.get_template("fpgaq_board.sv.j2").render(**context),
        "rtl/board.lpf": env.get_template("board.lpf.j2").render(**context),
    }
    library = data_dir("rtl")
    for name in UART_LIBRARY:
        files[f"rtl/lib/{name}"] = (library / name).read_bytes()
    link = {"board": board.name, "baud": board.io.baud, "clock_mhz": board.clock_mhz,
            "clks_per_bit": context["clks_per_bit"]}  # fmt: skip
    files[DRIVER[0]] = (data_dir("templates") / "uart_driver.py").read_bytes()
    files[DRIVER[1]] = Path(host.__file__).read_bytes()  # byte-identical: the host code the simulations run
    files[DRIVER[2]] = json.dumps(link, indent=1, sort_keys=True) + "\n"
    return files
