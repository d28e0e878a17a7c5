"""Render a stream plan into the HLS project files with one Jinja Environment (StrictUndefined)."""

from __future__ import annotations

import re

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fpgaq import __version__
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
_TCL_SAFE = re.compile(r"[A-Za-z0-9_.:+=\-/ ]*")
PROJECT = "fpgaq_prj"  # the Vitis HLS project folder under DIR/hls
TOP = "fpgaq_accel"  # the synthesis top function (top_axi.cpp) and IP name
IP = {"ip_vendor": "fpgaq.org", "ip_library": "hls", "ip_version": "1.0"}
IP_VLNV = f"{IP['ip_vendor']}:{IP['ip_library']}:{TOP}:{IP['ip_version']}"


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


def tcl(word) -> str:
    """A Tcl word in braces; refuses characters that could escape them."""
    text = str(word)
    if not _TCL_SAFE.fullmatch(text):
        raise ValueError(f"refusing to put {text!r} into Tcl")
    return "{" + text + "}"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(data_dir("templates"))),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(cinit=cinit, cdims=cdims, tcl=tcl)
    return env


def render(plan: Plan, board: Board, clock_ns: float, model_name: str) -> dict[str, str]:
    """File name -> text of every generated HLS source."""
    env = environment()
    context = {
        "plan": plan,
        "board": board,
        "clock_ns": f"{clock_ns:g}",
        "version": __version__,
        "model_name": re.sub(r"[^A-Za-z0-9_.\-]", "_", model_name),
        "project": PROJECT,
        "top": TOP,
        "ip_vlnv": IP_VLNV,
        **IP,
        "cflags": CFLAGS,
    }
    return {name: env.get_template(template).render(**context) for name, template in TEMPLATES.items()}
