"""Boards as data: boards/*.yaml validated into frozen Board objects. The only place board facts live."""

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
_NAME = re.compile(r"[A-Za-z0-9_.:+\-]+")  # names and parts appear in Tcl and YAML (escaped, but kept plain)


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

    @property
    def clock_ns(self) -> float:
        return 1000.0 / self.clock_mhz

    @property
    def device(self) -> str:
        """The cost models' device class: "ultrascale+" (DSP48E2, UltraRAM) or "7series" (DSP48E1)."""
        return "ultrascale+" if "ultrascale" in self.family else "7series"

    @property
    def has_processing_system(self) -> bool:
        return self.shell != "none"


def parse_board(data, source: str) -> Board:
    """Validate the mapping read from one board file."""
    if not isinstance(data, dict):
        raise BoardError(f"{source}: a board file must be a mapping, not {type(data).__name__}")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise BoardError(f"{source}: unknown key {unknown[0]!r}; known: {', '.join(_FIELDS)}")
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
    fields = {k: data[k] for k in _FIELDS if k != "resources"}
    fields["clock_mhz"] = float(fields["clock_mhz"])
    fields["max_clock_mhz"] = float(fields["max_clock_mhz"])
    return Board(**fields, **{k: resources[k] for k in _RESOURCES})


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
