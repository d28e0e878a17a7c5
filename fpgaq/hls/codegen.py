"""Render a stream plan into the HLS project files with one Jinja Environment (StrictUndefined)."""

from __future__ import annotations

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fpgaq import __version__, escape
from fpgaq.boards import Board
from fpgaq.hls.plan_data import Plan
from fpgaq.resources import data_dir

TEMPLATES = {
    "top.h": "top.h.j2",
    "params.h": "params.h.j2",
    "top.cpp": "top.cpp.j2",
    "top_axi.cpp": "top_axi.cpp.j2",
    "bridge.cpp": "bridge.cpp.j2",
    "testbench.cpp": "testbench.cpp.j2",
    "run_hls.tcl": "run_hls.tcl.j2",
}
CFLAGS = "-std=c++14 -I. -Ilib"
PROJECT = "fpgaq_prj"  # the Vitis HLS project folder under DIR/hls
TOP = "fpgaq_accel"  # the synthesis top function (top_axi.cpp) and IP name
IP = {"ip_vendor": "fpgaq.org", "ip_library": "hls", "ip_version": "1.0"}
IP_VLNV = f"{IP['ip_vendor']}:{IP['ip_library']}:{TOP}:{IP['ip_version']}"
DESIGN = "fpgaq"  # the Vivado block design: DIR/deploy/fpgaq.bit, fpgaq.hwh
BITSTREAM_TCL = "vivado/build_bitstream.tcl"


def cinit(values) -> str:
    """A C initializer for an array (nested braces), 16 numbers a line."""
    arr = np.asarray(values)
    if arr.dtype == object and arr.ndim == 1:
        return "{" + ", ".join(str(v) for v in arr) + "}"
    if arr.ndim == 0:
        return _literal(arr.item())
    if arr.ndim == 1:
        items = [_literal(v) for v in arr.tolist()]
        lines = [", ".join(items[i : i + 16]) for i in range(0, len(items), 16)]
        return "{" + ",\n    ".join(lines) + "}"
    return "{" + ",\n".join(cinit(sub) for sub in arr) + "}"


def cdims(values) -> str:
    arr = np.asarray(values)
    if arr.dtype == object and arr.ndim == 1:
        return ""  # a struct initializer, not an array
    return "".join(f"[{n}]" for n in arr.shape)


def _literal(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    v = int(v)
    return f"{v}LL" if not -(2**31) <= v < 2**31 else str(v)


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(data_dir("templates"))),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(cinit=cinit, cdims=cdims, tcl=escape.tcl, comment=escape.comment, yaml=escape.yaml)
    return env


def render(plan: Plan, board: Board, clock_ns: float, model_name: str) -> dict[str, str]:
    """File name -> text of every generated HLS source."""
    env = environment()
    context = {
        "plan": plan,
        "board": board,
        "clock_ns": f"{clock_ns:g}",
        "version": __version__,
        "model_name": model_name,
        "project": PROJECT,
        "top": TOP,
        "ip_vlnv": IP_VLNV,
        **IP,
        "cflags": CFLAGS,
    }
    return {name: env.get_template(template).render(**context) for name, template in TEMPLATES.items()}


def deploy_scripts(board: Board, clock_ns: float, axis: dict, model_name: str) -> dict[str, str]:
    """Build-folder path -> text of the scripts that turn the HLS IP into a bitstream, written by every build so
    that they can be read before any tool runs: the Vivado block design (boards with a processing system).
    Paths in them are relative to the build folder, so no folder name ever reaches Tcl."""
    if not board.has_processing_system:
        return {}
    tcl = (
        environment()
        .get_template("vivado_bd.tcl.j2")
        .render(
            board=board,
            model_name=model_name,
            version=__version__,
            ip_repo=f"../hls/{PROJECT}/solution1/impl/ip",
            deploy="../deploy",
            project="fpgaq_vivado",
            design=DESIGN,
            ip_vlnv=IP_VLNV,
            clock_mhz=f"{1000.0 / clock_ns:g}",
            in_word=axis["input"]["word"],
            out_word=axis["output"]["word"],
        )
    )
    return {BITSTREAM_TCL: tcl}
