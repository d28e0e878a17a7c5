"""`fpgaq synth DIR --backend yosys`: an RTL build's kernels through Yosys synth_xilinx for the board's family, one
kernel at a time (each module at its parameters and tables, DIR/rtl/kernels.json), with LUT/FF/CARRY/DSP/BRAM
counts per kernel and in total beside the estimate (their ratio). Yosys is an open synthesis tool, not Vivado: no
retiming and its own LUT mapping, so the figures check the estimator's trends and magnitudes, not Vivado's
exact counts.

ECP5 boards (family ecp5) go through the whole open flow instead, to a bitstream: fpgaq.synth.ecp5."""

from __future__ import annotations

import json
from pathlib import Path

from fpgaq import progress
from fpgaq.backends.rtl.tools import synth_xilinx
from fpgaq.estimate import models
from fpgaq.synth.ecp5 import ecp5_synthesis
from fpgaq.synth.tools import SynthError

FAMILIES = {  # board family -> synth_xilinx -family
    "zynq-7000": "xc7",
    "artix-7": "xc7",
    "kintex-7": "xc7",
    "virtex-7": "xc7",
    "spartan-7": "xc7",
    "zynq-ultrascale+": "xcup",
    "kintex-ultrascale+": "xcup",
    "virtex-ultrascale+": "xcup",
}
RESOURCES = ("lut", "ff", "carry", "dsp", "bram18", "bram36", "lutram", "srl")


def _ratio(estimate: float, measured: float) -> float | None:
    return round(estimate / measured, 3) if measured else None


def yosys_synthesis(build_dir: Path, report, board) -> dict:
    """The report's synthesis section for an RTL build folder."""
    if report.backend != "rtl":
        raise SynthError(f"--backend yosys synthesizes RTL builds; this folder was built for {report.backend!r} "
                         "(fpgaq build --backend rtl)")  # fmt: skip
    if board.family == "ecp5":
        return ecp5_synthesis(build_dir, report, board)
    family = FAMILIES.get(board.family)
    if family is None:
        raise SynthError(f"Yosys synth_xilinx has no family for {board.name} ({board.family})")
    rtl = build_dir / "rtl"
    try:
        kernels = json.loads((rtl / "kernels.json").read_text())
    except (OSError, ValueError) as exc:
        raise SynthError(f"{rtl / 'kernels.json'} is missing or damaged ({exc}); rebuild the folder") from None
    library = sorted((rtl / "lib").glob("*.sv"))
    estimates = {row["name"]: row for row in report.estimate["kernels"]}
    rows, total = [], dict.fromkeys(RESOURCES, 0)
    for kernel in kernels:
        params = {name: int(value) for name, value in kernel["params"].items()}
        # each table under its parameter's default file name (WEIGHTS: weights.mem), so no string reaches Yosys
        files = {f"{name.lower()}.mem": (rtl / value).read_text() for name, value in kernel["strings"].items()}
        dsp = kernel["module"] != "fpgaq_mvu" or models.uses_dsp(params["W_BITS"], params["IN_BITS"])
        with progress.step(f"Yosys: {kernel['name']}"):
            cells = synth_xilinx(kernel["module"], library, params, files, family, dsp=dsp)
        row = {"name": kernel["name"], "module": kernel["module"], **{r: cells[r] for r in RESOURCES}}
        estimate = estimates.get(kernel["name"])
        if estimate is not None:
            row["estimate"] = {"lut": estimate["lut"], "ff": estimate["ff"]}
            row["ratio"] = {"lut": _ratio(estimate["lut"], cells["lut"]), "ff": _ratio(estimate["ff"], cells["ff"])}
        rows.append(row)
        for r in RESOURCES:
            total[r] += cells[r]
    totals = report.totals
    return {
        "synthesis": {
            "tool": "yosys",
            "family": family,
            "top": total,
            "kernels": rows,
            "ratio_estimate_to_synthesis": {
                "lut": _ratio(totals["lut"], total["lut"]),
                "ff": _ratio(totals["ff"], total["ff"]),
            },  # fmt: skip
        }
    }
