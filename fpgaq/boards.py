"""Boards as data: boards/*.yaml validated into frozen Board objects. The only place board facts live.

Xilinx boards name a part for Vitis HLS and Vivado. ECP5 boards (family "ecp5", shell "none") name instead how
nextpnr-ecp5 sees the chip (`nextpnr`: device size, package, speed grade) and how the board connects to a host
(`io`: a UART at a baud rate on the FTDI pins, the oscillator pin, a reset button), which the board top level of an
RTL build (fpgaq.backends.rtl.board) and its .lpf constraints are made from. Either key is refused on other
families, and required on ECP5 boards."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from fpgaq.errors import BoardError
from fpgaq.resources import data_dir

SHELLS = ("zynq-ps7", "zynq-mpsoc", "none")
_RESOURCES = ("lut", "ff", "bram18", "dsp", "uram")
_FIELDS = {
    "name": str,
    "description": str,
    "part": str,
    "board_part": str,
    "family": str,
    "shell": str,
    "clock_mhz": float,
    "max_clock_mhz": float,
    "resources": dict,
}
_OPTIONAL = {"io": dict, "nextpnr": dict}  # ECP5 boards only
_IO = {"interface": str, "baud": int, "io_type": str, "clk": str, "uart_rx": str, "uart_tx": str, "reset": str,
       "reset_active": str}  # fmt: skip
_NEXTPNR = {"device": str, "package": str, "speed": int}
ECP5_DEVICES = ("25k", "45k", "85k", "um-25k", "um-45k", "um-85k", "um5g-25k", "um5g-45k", "um5g-85k")
_SITE = re.compile(r"[A-Z]{1,2}[0-9]{1,2}")  # a ball of the package (G2, M1): what an .lpf LOCATE names
_IDENT = re.compile(r"[A-Z][A-Z0-9_]*")  # an IO_TYPE or package name
_NAME = re.compile(r"[A-Za-z0-9_.:+\-]+")  # names and parts appear in Tcl and YAML (escaped, but kept plain)


@dataclass(frozen=True)
class BoardIo:
    """How an ECP5 board connects: a UART (8N1 at `baud`) on the pins uart_rx (FPGA input) and uart_tx (FPGA
    output), the oscillator on `clk`, a reset button on `reset` (pressed = `reset_active`), all of one IO_TYPE."""

    interface: str  # "uart"
    baud: int
    io_type: str
    clk: str
    uart_rx: str
    uart_tx: str
    reset: str
    reset_active: str  # "high" or "low"


@dataclass(frozen=True)
class Nextpnr:
    """The chip as nextpnr-ecp5 names it: --85k --package CABGA381 --speed 6."""

    device: str
    package: str
    speed: int

    @property
    def args(self) -> list[str]:
        return [f"--{self.device}", "--package", self.package, "--speed", str(self.speed)]


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    part: str
    board_part: str
    family: str
    shell: str  # zynq-ps7 (processing_system7), zynq-mpsoc (zynq_ultra_ps_e) or none (no processing system)
    clock_mhz: float
    max_clock_mhz: float  # the fastest PL clock this board's family and speed grade run a dataflow design at
    lut: int
    ff: int
    bram18: int
    dsp: int
    uram: int
    io: BoardIo | None = None  # ECP5 boards: how the board connects (UART pins, clock, reset)
    nextpnr: Nextpnr | None = None  # ECP5 boards: the chip as nextpnr-ecp5 names it

    @property
    def clock_ns(self) -> float:
        return 1000.0 / self.clock_mhz

    @property
    def device(self) -> str:
        """The cost models' device class: "ultrascale+" (DSP48E2, UltraRAM) or "7series" (DSP48E1)."""
        return "ultrascale+" if "ultrascale" in self.family else "7series"

    @property
    def is_xilinx(self) -> bool:
        """Whether Vitis HLS, Vivado and FINN target this board's part (every family but ecp5)."""
        return self.family != "ecp5"

    @property
    def has_processing_system(self) -> bool:
        return self.shell != "none"


def parse_board(data, source: str) -> Board:
    """Validate the mapping read from one board file."""
    if not isinstance(data, dict):
        raise BoardError(f"{source}: a board file must be a mapping, not {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS) - set(_OPTIONAL))
    if unknown:
        raise BoardError(f"{source}: unknown key {unknown[0]!r}; known: {', '.join([*_FIELDS, *_OPTIONAL])}")
    for key, kind in _FIELDS.items():
        if key not in data:
            raise BoardError(f"{source}: missing key {key!r}")
        value = data[key]
        ok = (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is float
            else isinstance(value, kind)
        )
        if not ok:
            raise BoardError(f"{source}: key {key!r} must be {kind.__name__}, not {type(value).__name__} {value!r}")
    if data["shell"] not in SHELLS:
        raise BoardError(f"{source}: shell {data['shell']!r} is not one of {', '.join(SHELLS)}")
    for key in ("name", "part", "board_part", "family"):
        if not _NAME.fullmatch(data[key]):
            raise BoardError(f"{source}: key {key!r} may hold letters, digits and _.:+- only, not {data[key]!r}")
    if not 0 < data["clock_mhz"] <= data["max_clock_mhz"]:
        raise BoardError(
            f"{source}: clock_mhz must be positive and at most max_clock_mhz ({data['max_clock_mhz']!r}), "
            f"not {data['clock_mhz']!r}"
        )
    resources = data["resources"]
    for key in _RESOURCES:
        if key not in resources:
            raise BoardError(f"{source}: missing key 'resources.{key}'")
        value = resources[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BoardError(f"{source}: key 'resources.{key}' must be a non-negative int, not {value!r}")
    extra = sorted(set(resources) - set(_RESOURCES))
    if extra:
        raise BoardError(f"{source}: unknown key 'resources.{extra[0]}'; known: {', '.join(_RESOURCES)}")
    extras = _ecp5(data, source)
    fields = {k: data[k] for k in _FIELDS if k != "resources"}
    fields["clock_mhz"] = float(fields["clock_mhz"])
    fields["max_clock_mhz"] = float(fields["max_clock_mhz"])
    return Board(**fields, **{k: resources[k] for k in _RESOURCES}, **extras)


def _section(data: dict, key: str, spec: dict, source: str) -> dict:
    """The mapping data[key] checked against spec (key -> type): every key present, of its type, no other."""
    section = data[key]
    if not isinstance(section, dict):
        raise BoardError(f"{source}: key {key!r} must be a mapping, not {type(section).__name__}")
    extra = sorted(set(section) - set(spec))
    if extra:
        raise BoardError(f"{source}: unknown key '{key}.{extra[0]}'; known: {', '.join(spec)}")
    for name, kind in spec.items():
        if name not in section:
            raise BoardError(f"{source}: missing key '{key}.{name}'")
        value = section[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BoardError(f"{source}: key '{key}.{name}' must be {kind.__name__}, not {value!r}")
    return section


def _ecp5(data: dict, source: str) -> dict:
    """{"io": BoardIo, "nextpnr": Nextpnr} of an ECP5 board ({} for other families, which may not have them)."""
    if data["family"] != "ecp5":
        present = [key for key in _OPTIONAL if key in data]
        if present:
            raise BoardError(f"{source}: key {present[0]!r} is for ECP5 boards (family ecp5), not {data['family']}")
        return {}
    if data["shell"] != "none":
        raise BoardError(f"{source}: an ECP5 board has no processing system (shell none), not {data['shell']!r}")
    for key in _OPTIONAL:
        if key not in data:
            raise BoardError(f"{source}: missing key {key!r} (ECP5 boards)")
    io = _section(data, "io", _IO, source)
    if io["interface"] != "uart":
        raise BoardError(f"{source}: io.interface {io['interface']!r} is not one of uart")
    if not 300 <= io["baud"] <= 12_000_000:
        raise BoardError(f"{source}: io.baud must be between 300 and 12000000, not {io['baud']!r}")
    if io["reset_active"] not in ("high", "low"):
        raise BoardError(f"{source}: io.reset_active {io['reset_active']!r} is not one of high, low")
    if not _IDENT.fullmatch(io["io_type"]):
        raise BoardError(f"{source}: io.io_type must be an IO_TYPE such as LVCMOS33, not {io['io_type']!r}")
    pins = ("clk", "uart_rx", "uart_tx", "reset")
    for pin in pins:
        if not _SITE.fullmatch(io[pin]):
            raise BoardError(f"{source}: io.{pin} must be a package site such as G2, not {io[pin]!r}")
    sites = [io[pin] for pin in pins]
    if len(set(sites)) != len(sites):
        raise BoardError(f"{source}: io pins share a site: {', '.join(sites)}")
    pnr = _section(data, "nextpnr", _NEXTPNR, source)
    if pnr["device"] not in ECP5_DEVICES:
        raise BoardError(f"{source}: nextpnr.device {pnr['device']!r} is not one of {', '.join(ECP5_DEVICES)}")
    if not _IDENT.fullmatch(pnr["package"]) or pnr["speed"] not in (6, 7, 8):
        raise BoardError(f"{source}: nextpnr package {pnr['package']!r} speed {pnr['speed']!r}: expected a "
                         "package such as CABGA381 and a speed grade 6, 7 or 8")  # fmt: skip
    return {"io": BoardIo(**io), "nextpnr": Nextpnr(**pnr)}


def _board_files(folder: Path | None = None) -> dict[str, Path]:
    folder = folder or data_dir("boards")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def known_boards(folder: Path | None = None) -> list[str]:
    return list(_board_files(folder))


def load_board(name: str, folder: Path | None = None) -> Board:
    """The board called `name` (case-insensitive: PYNQ-Z2 is pynq-z2)."""
    files = _board_files(folder)
    name = str(name)
    if name not in files and name.lower() in files:
        name = name.lower()
    if name not in files:
        raise BoardError(f"unknown board {name!r}; known: {', '.join(files)}")
    path = files[name]
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise BoardError(f"{path.name}: not valid YAML ({exc.__class__.__name__})") from None
    board = parse_board(data, path.name)
    if board.name != name:
        raise BoardError(f"{path.name}: name {board.name!r} does not match the file name")
    return board


def all_boards(folder: Path | None = None) -> list[Board]:
    return [load_board(name, folder) for name in known_boards(folder)]
