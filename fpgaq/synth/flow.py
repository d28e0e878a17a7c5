"""The synthesis flow of a build folder.

vitis backend: DIR/hls/run_hls.tcl through vitis_hls, or `vitis-run --mode hls` where vitis_hls is absent (it is
deprecated from Vitis 2024.2): csynth_design, export_design as IP; the csynth XML reports go into report.json next
to the estimates with their ratio. With --bitstream: DIR/vivado/build_bitstream.tcl (a block design for the board)
through vivado in batch mode, which writes DIR/deploy/fpgaq.bit and fpgaq.hwh beside the PYNQ driver that
`fpgaq build` wrote there (fpgaq.backends.hls.emit.deploy_scripts). The files each tool creates are added to the
folder's manifest (fpgaq.outdir), so a rebuild replaces them and nothing else.
yosys backend (RTL builds): each kernel through Yosys synth_xilinx (fpgaq.synth.yosys), counts beside the estimate.
finn backend: DIR/model.onnx through finn-plus's build flow for the board and clock: DIR/finn/build.yaml (a
DataflowBuildConfig) run by finn-plus's command line, `finn build build.yaml MODEL --batch`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from fpgaq import __version__, outdir, progress
from fpgaq.backends.hls.emit import BITSTREAM_TCL, DESIGN, DRIVER, PROJECT, TOP, environment
from fpgaq.boards import load_board
from fpgaq.errors import FpgaqError
from fpgaq.outdir import write_atomic
from fpgaq.report.files import read_report, write_report
from fpgaq.synth.csynth import synthesis_report
from fpgaq.synth.tools import SynthError, finn_command, require, require_one, run
from fpgaq.synth.yosys import yosys_synthesis

BACKENDS = ("vitis", "finn", "yosys")
HLS_TOOLS = {  # in order of preference: the command line of each, run in DIR/hls
    "vitis_hls": ["-f", "run_hls.tcl"],
    "vitis-run": ["--mode", "hls", "--tcl", "run_hls.tcl"],  # Vitis 2024.2 and later
}
FINN_BOARDS = {  # fpgaq board -> finn-plus's board name (finn.util.basic.pynq_part_map)
    "pynq-z1": "Pynq-Z1",
    "pynq-z2": "Pynq-Z2",
    "zcu104": "ZCU104",
    "ultra96-v2": "Ultra96-V2",
    "kv260": "KV260_SOM",
}


def check_tool_path(build_dir: Path) -> None:
    """Refuse, before any tool runs, a build folder whose absolute path the vendor tools cannot handle."""
    problem = outdir.tool_path_problem(build_dir.resolve())
    if problem:
        raise FpgaqError(f"{problem}: move or rebuild the folder there")


def _render(template: str, **context) -> str:
    return environment().get_template(template).render(version=__version__, **context)


def _tool_folders(build_dir: Path, rels) -> None:
    """Refuse to run a tool that writes into a folder or file fpgaq does not own (a file inside a folder it owns
    is its own)."""
    folder = outdir.Folder(build_dir)
    trees = (outdir.read_manifest(build_dir) or {"trees": []})["trees"]
    for rel in rels:
        if not any(rel.startswith(tree + "/") for tree in trees):
            folder.check_free(rel)


def _own_new(build_dir: Path, rel: str, before: set) -> list[str]:
    """Entries a tool created inside build_dir/rel since `before` (its listing then), as manifest paths."""
    return [f"{rel}/{name}" for name in sorted(os.listdir(build_dir / rel)) if name not in before]


def _driver_files(build_dir: Path, board) -> list[str]:
    """The PYNQ driver's files that `fpgaq build` wrote into DIR/deploy (boards with a processing system)."""
    if not board.has_processing_system:
        return []
    missing = [path for path in DRIVER if not (build_dir / path).is_file()]
    if missing:
        raise SynthError(f"{missing[0]} is missing: rebuild the folder with this fpgaq ({__version__})")
    return [Path(path).name for path in DRIVER]


WEIGHT_MAP = "deploy/weights/map.json"  # where the PYNQ driver writes each UltraRAM table (fpgaq.estimate.placement)
_ADDR = re.compile(r"#define\s+X\w*_ADDR_(\w+?)_(BASE|HIGH|WIDTH|DEPTH)\s+(0x[0-9a-fA-F]+|\d+)")


def weight_map(header: str, names: list[str]) -> dict:
    """{table: {"base", "high", "width", "depth"}} of the runtime-written tables, from the driver header Vitis HLS
    exports for the synthesis top (#define X<TOP>_<BUNDLE>_ADDR_<ARRAY>_BASE ...); SynthError naming a table the
    header does not place."""
    found: dict = {}
    for array, key, value in _ADDR.findall(header):
        found.setdefault(array.lower(), {})[key.lower()] = int(value, 0)
    result = {}
    for name in names:
        where = found.get(name.lower(), {})
        if set(where) != {"base", "high", "width", "depth"}:
            raise SynthError(f"the Vitis HLS driver header places no AXI4-Lite array {name} (UltraRAM weights)")
        result[name] = where
    return result


def _write_weight_map(build_dir: Path, solution: Path, folder: outdir.Folder) -> None:
    """deploy/weights/map.json for a build with UltraRAM weights (host.json "weights"); nothing otherwise."""
    names = [t["name"] for t in json.loads((build_dir / "host.json").read_bytes()).get("weights", [])]
    if not names:
        return
    headers = sorted((solution / "impl" / "misc" / "drivers").glob(f"{TOP}_*/src/x{TOP}_hw.h"))
    if not headers:
        raise SynthError(f"Vitis HLS exported no driver header (impl/misc/drivers/{TOP}_*/src/x{TOP}_hw.h): the "
                         "addresses of the UltraRAM weights are unknown")  # fmt: skip
    where = weight_map(headers[-1].read_text(errors="replace"), names)
    with outdir.updating(build_dir):
        folder.own(files=[WEIGHT_MAP])
    write_atomic(build_dir / WEIGHT_MAP, json.dumps(where, indent=1, sort_keys=True) + "\n")


def _vitis(build_dir: Path, report, board, bitstream: bool, jobs: int) -> dict:
    """Vitis HLS (and Vivado): the synthesis and deploy fields of the report."""
    hls_tool, hls = require_one(tuple(HLS_TOOLS), "HLS synthesis")
    vivado = require("vivado", "the block design and bitstream") if bitstream else None
    if bitstream and not board.has_processing_system:
        raise SynthError(
            f"--bitstream builds a PYNQ block design and needs a board with a processing system; {board.name} has "
            f"none (use the IP that Vitis HLS exports into hls/{PROJECT}/solution1/impl/ip in your own design)"
        )
    if bitstream and not (build_dir / BITSTREAM_TCL).is_file():
        raise SynthError(f"{BITSTREAM_TCL} is missing: rebuild the folder with this fpgaq ({__version__})")
    deploy = {"files": _driver_files(build_dir, board)}
    bitstream_files = [f"deploy/{DESIGN}.{suffix}" for suffix in ("bit", "hwh")] if bitstream else []
    _tool_folders(build_dir, [f"hls/{PROJECT}", "synth", *bitstream_files])
    folder = outdir.Folder(build_dir)
    logs = build_dir / "synth"
    hls_log = logs / f"{hls_tool}.log"
    with outdir.updating(build_dir):
        folder.own(trees=[f"hls/{PROJECT}", "synth"])
    before = set(os.listdir(build_dir / "hls"))
    try:
        with progress.step("Vitis HLS: C synthesis and IP export (minutes to hours)"):
            run([hls, *HLS_TOOLS[hls_tool]], build_dir / "hls", hls_log, hls_tool)
    finally:
        with outdir.updating(build_dir):
            folder.own(trees=_own_new(build_dir, "hls", before))  # the tool's own logs beside run_hls.tcl
    solution = build_dir / "hls" / PROJECT / "solution1"
    synthesis = synthesis_report(solution / "syn" / "report", TOP, report)
    ip = solution / "impl" / "ip"
    if not (ip / "component.xml").is_file():
        raise SynthError(f"{hls_tool} exported no IP ({ip / 'component.xml'} is missing); see {hls_log}")
    synthesis["ip"] = str(ip.relative_to(build_dir))
    _write_weight_map(build_dir, solution, folder)
    if bitstream:
        with outdir.updating(build_dir):
            folder.own(files=bitstream_files)
        vivado_dir = build_dir / "vivado"
        before = set(os.listdir(vivado_dir))
        try:
            with progress.step("Vivado: block design, implementation and bitstream (tens of minutes)"):
                run(
                    [vivado, "-mode", "batch", "-nojournal", "-log", "vivado.log", "-source", "build_bitstream.tcl"]
                    + ["-tclargs", str(jobs)],
                    vivado_dir,
                    logs / "vivado.log",
                    "vivado",
                )
        finally:
            with outdir.updating(build_dir):
                folder.own(trees=_own_new(build_dir, "vivado", before))
        for path in bitstream_files:
            if not (build_dir / path).is_file():
                raise SynthError(f"vivado wrote no {path}; see {logs / 'vivado.log'}")
        deploy["files"] += [Path(path).name for path in bitstream_files]
    return {"synthesis": synthesis, "deploy": deploy}


def _finn(build_dir: Path, report, board, bitstream: bool) -> dict:
    """finn-plus's build flow on the model: the synthesis field of the report."""
    finn = finn_command()
    if board.name not in FINN_BOARDS:
        raise SynthError(f"the finn backend knows no board for {board.name}; it supports {', '.join(FINN_BOARDS)}")
    model = build_dir / "model.onnx"
    if not model.is_file():
        raise SynthError(f"{model} is missing: rebuild with `fpgaq build` (it keeps a copy of the model for FINN)")
    clock_ns = report["board"]["clock_ns"]
    config = _render(
        "finn_build.yaml.j2",
        board=board,
        model_name=report["model"],
        clock_ns=f"{clock_ns:g}",
        finn_board=FINN_BOARDS[board.name],
        output_dir=str((build_dir / "finn" / "output").resolve()),
        target_fps=int(report["totals"]["fps"]),
        bitstream=bitstream,
    )
    _tool_folders(build_dir, ["finn", "synth"])
    with outdir.updating(build_dir):
        outdir.Folder(build_dir).own(trees=["finn", "synth"])
    write_atomic(build_dir / "finn" / "build.yaml", config)
    with progress.step("FINN: build_dataflow (minutes to hours)"):
        run(
            [finn, "build", "build.yaml", str(model.resolve()), "--batch"],
            build_dir / "finn",
            build_dir / "synth" / "finn.log",
            "FINN build",
        )
    output = build_dir / "finn" / "output"
    summary = {"tool": "finn", "output_dir": str(output.relative_to(build_dir))}
    estimate = output / "report" / "estimate_network_performance.json"
    if estimate.is_file():
        summary["finn_estimate"] = json.loads(estimate.read_text())
    return {"synthesis": summary}


def synth(build_dir: str | os.PathLike, backend: str = "vitis", bitstream: bool = False, jobs: int | None = None):
    """Run the backend on a build folder; returns the updated report (also written to report.json/.html)."""
    build_dir = Path(build_dir)
    if backend not in BACKENDS:
        raise FpgaqError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    if jobs is not None and jobs < 1:
        raise FpgaqError(f"--jobs must be at least 1, not {jobs}")
    read_report(build_dir)  # a missing or incomplete folder is refused before anything else
    with outdir.locked(build_dir, exclusive=False):  # no rebuild while the tools run
        report = read_report(build_dir)
        board = load_board(report["board"]["name"])
        if backend != "yosys" and not board.is_xilinx:
            raise SynthError(f"{board.name} has an {board.family} part; --backend {backend} targets Xilinx parts: "
                             "use --backend yosys (an RTL build: Yosys, nextpnr and the bitstream)")  # fmt: skip
        if backend == "yosys":  # runs in a copy of what it reads: any folder name is fine
            if bitstream and board.is_xilinx:
                raise SynthError("--bitstream with --backend yosys needs an ECP5 board (Xilinx boards: --backend "
                                 "vitis)")  # fmt: skip
            results = yosys_synthesis(build_dir, report, board)
        elif backend == "vitis":
            check_tool_path(build_dir)
            results = _vitis(build_dir, report, board, bitstream, jobs or os.cpu_count() or 1)
        else:
            check_tool_path(build_dir)
            results = _finn(build_dir, report, board, bitstream)
        with outdir.updating(build_dir):
            fresh = read_report(build_dir).replace(**results)  # keeps what another command recorded meanwhile
            write_report(build_dir, fresh)
            return fresh
