"""The HLS C++ emitter: the only place a kernel plan is spelled in C++.

Every kernel becomes a named configuration struct (config.h: its sizes as named constants and its types) and a
call of the hand-written library (hls/fpgaq/*.h) with that struct, so top.cpp reads as the network it is:

    fpgaq::mvu<dense0_mvu>(s1, s2, w_dense0, b_dense0, act_threshold0);

Tables go to params.h, with the synthesis memory layout the estimates assume as pragmas in top.cpp. One
Jinja Environment (StrictUndefined), thin templates in templates/.
"""

from __future__ import annotations

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fpgaq import __version__, escape
from fpgaq.boards import Board
from fpgaq.ir.types import IntType
from fpgaq.plan import kernels as k
from fpgaq.plan.kernels import Plan, Table, TableKind
from fpgaq.resources import data_dir

TEMPLATES = {
    "top.h": "top.h.j2",
    "params.h": "params.h.j2",
    "config.h": "config.h.j2",
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


# ---- C++ spelling ------------------------------------------------------------------------------------------


def ctype(t: IntType) -> str:
    """ap_int<N> / ap_uint<N>."""
    return f"ap_{'int' if t.signed else 'uint'}<{t.bits}>"


def c_storage(t: IntType) -> str:
    """A plain C type holding every value of t (constant tables in C-simulation compile fast and clean)."""
    for bits, name in ((8, "signed char"), (16, "short"), (32, "int")):
        if (t.bits <= bits and t.signed) or t.bits < bits:
            return name
    return "long long"


def cinit(values) -> str:
    """A C initializer for an array (nested braces), 16 numbers a line."""
    arr = np.asarray(values)
    if arr.ndim == 0:
        return _literal(arr.item())
    if arr.ndim == 1:
        items = [_literal(v) for v in arr.tolist()]
        lines = [", ".join(items[i : i + 16]) for i in range(0, len(items), 16)]
        return "{" + ",\n    ".join(lines) + "}"
    return "{" + ",\n".join(cinit(sub) for sub in arr) + "}"


def _literal(v) -> str:
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    v = int(v)
    return f"{v}LL" if not -(2**31) <= v < 2**31 else str(v)


_TABLE_TYPES = {TableKind.FLAG: "bool", TableKind.INDEX: "int", TableKind.SIGN: "signed char"}


def table_type(t: Table) -> str:
    """The element type of a table: name_t for integer tables (ap type in synthesis, C type in C-simulation)."""
    return f"{t.name}_t" if t.kind is TableKind.INT else _TABLE_TYPES[t.kind]


def table_pragmas(t: Table) -> list[str]:
    """The memory layout of a table for synthesis (what the estimates assume)."""
    pragmas = [f"ARRAY_RESHAPE variable = {t.name} complete dim = {d}" for d in t.packed if t.shape[d - 1] > 1]
    if t.banks is not None and t.banks[1] > 1:
        dim, factor = t.banks
        pragmas.append(f"ARRAY_PARTITION variable = {t.name} cyclic factor = {factor} dim = {dim}")
    return pragmas


def _declarations(plan: Plan) -> list[dict]:
    """params.h: every table (with its typedef) and the activation object of every fused threshold."""
    out = []
    for kernel in plan.kernels:
        act = getattr(kernel, "activation", None)
        for t in kernel.tables():
            typedef = None
            if t.kind is TableKind.INT:
                typedef = f"typedef FPGAQ_STORE({ctype(t.elem)}, {c_storage(t.elem)}) {t.name}_t;"
            dims = "".join(f"[{n}]" for n in t.shape)
            out.append(
                {"typedef": typedef, "decl": f"static const {table_type(t)} {t.name}{dims} = {cinit(t.values)};"}
            )
            if act is not None and t is act.negate:
                kind = _activation_type(act)
                out.append({"typedef": None, "decl": f"static const {kind} act_{act.layer} = "
                            f"{{{act.thresholds.name}, {act.negate.name}, {act.base}}};"})  # fmt: skip
    return out


def _activation_type(act: k.FusedThreshold | None) -> str:
    if act is None:
        return "fpgaq::NoActivation"
    return f"fpgaq::ThresholdActivation<{act.rows}, {act.levels}, {table_type(act.thresholds)} >"


# ---- one configuration and one call per kernel kind ----------------------------------------------------------


def _window(w: k.Window) -> dict:
    return {f: getattr(w, f) for f in ("c", "h", "w", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "oh", "ow")}


def _mvu(m: k.Mvu):
    ints = dict(id=m.ident, nv=m.vectors, g=m.groups, kg=m.k, ocg=m.oc, simd=m.simd, pe=m.pe)
    types = dict(in_t=ctype(m.inp.elem), weight_t=table_type(m.weights), bias_t=table_type(m.bias),
                 inner_t=ctype(m.inner), outer_t=ctype(m.outer), out_t=ctype(m.out.elem),
                 act_t=_activation_type(m.activation))  # fmt: skip
    act = "fpgaq::NoActivation()" if m.activation is None else f"act_{m.activation.layer}"
    return ints, types, [m.inp.name, m.out.name, m.weights.name, m.bias.name, act]


def _threshold(t: k.Thresholding):
    ints = dict(num=t.num, win=t.inp.width, rows=t.rows, levels=t.levels)
    types = dict(in_t=ctype(t.inp.elem), thr_t=table_type(t.thresholds), out_t=ctype(t.out.elem))
    return ints, types, [t.inp.name, t.out.name, t.thresholds.name, t.negate.name, str(t.base)]


def _swg(s: k.SlidingWindow):
    ints = dict(_window(s.window), groups=s.groups, win=s.inp.width, simd=s.out.width, pad=s.pad)
    return ints, dict(elem_t=ctype(s.inp.elem)), [s.inp.name, s.out.name, f"{s.name}::elem_t({s.name}::pad)"]


def _maxpool(p: k.MaxPool):
    ints = dict(_window(p.window), lanes=p.inp.width)
    return ints, dict(in_t=ctype(p.inp.elem), out_t=ctype(p.out.elem)), [p.inp.name, p.out.name, p.sign.name]


def _sumpool(p: k.SumPool):
    window = {key: v for key, v in _window(p.window).items() if key not in ("dh", "dw")}
    ints = dict(id=p.ident, **window, lanes=p.inp.width, pad=p.pad)
    types = dict(in_t=ctype(p.inp.elem), out_t=ctype(p.out.elem))
    return ints, types, [p.inp.name, p.out.name, f"{p.name}::in_t({p.name}::pad)"]


def _add(a: k.Add):
    m0_t, m1_t = (ctype(IntType.for_range(min(m, 0), max(m, 0))) for m in (a.m0, a.m1))
    ints = dict(id=a.ident, num=a.num, win=a.out.width, m0=a.m0, m1=a.m1)
    types = dict(a_t=ctype(a.a.elem), b_t=ctype(a.b.elem), out_t=ctype(a.out.elem), m0_t=m0_t, m1_t=m1_t)
    return ints, types, [a.a.name, a.b.name, a.out.name]


def _concat(c: k.Concat):
    types = dict(a_t=ctype(c.a.elem), b_t=ctype(c.b.elem), out_t=ctype(c.out.elem))
    return dict(outer=c.outer, n0=c.n0, n1=c.n1), types, [c.a.name, c.b.name, c.out.name]


def _dwc(d: k.WidthConverter):
    ints = dict(num=d.num, in_w=d.inp.width, out_w=d.out.width)
    return ints, dict(in_t=ctype(d.inp.elem), out_t=ctype(d.out.elem)), [d.inp.name, d.out.name]


def _reorder(r: k.Reorder):
    return dict(num=r.num), dict(elem_t=ctype(r.inp.elem)), [r.inp.name, r.out.name, r.perm.name]


def _fork(f: k.Fork):
    ints = dict(words=f.inp.words, win=f.inp.width)
    return ints, dict(elem_t=ctype(f.inp.elem)), [f.inp.name, f.out0.name, f.out1.name]


def _axis(x: k.UnpackAxis | k.PackAxis):
    b = x.boundary
    ints = dict(num=b.num, pack=b.pack, bits=b.bits, word=b.word)
    args = ["in", x.out.name] if isinstance(x, k.UnpackAxis) else [x.inp.name, "out"]
    return ints, dict(elem_t=ctype(b.elem)), args


# one entry per kernel class: (named integer constants, named types, call arguments) of its configuration
EMITTERS = {
    k.Mvu: _mvu,
    k.Thresholding: _threshold,
    k.SlidingWindow: _swg,
    k.MaxPool: _maxpool,
    k.SumPool: _sumpool,
    k.Add: _add,
    k.Concat: _concat,
    k.WidthConverter: _dwc,
    k.Reorder: _reorder,
    k.Fork: _fork,
    k.UnpackAxis: _axis,
    k.PackAxis: _axis,
}


def _summary(kernel: k.Kernel) -> str:
    """One comment line saying what a kernel does."""
    if isinstance(kernel, k.Mvu):
        act = "" if kernel.activation is None else f", thresholds of {kernel.activation.layer} fused"
        return (f"{kernel.layer}: matrix-vector unit, {kernel.groups} x {kernel.oc} outputs of {kernel.k} inputs, "
                f"{kernel.vectors} vectors, PE {kernel.pe}, SIMD {kernel.simd}{act}")  # fmt: skip
    if isinstance(kernel, k.SlidingWindow):
        w = kernel.window
        return f"{kernel.layer}: sliding window {w.kh}x{w.kw} over {w.c}x{w.h}x{w.w}, SIMD {kernel.out.width}"
    return f"{kernel.layer}"


def _kernel(kernel: k.Kernel) -> dict:
    if type(kernel) not in EMITTERS:
        raise TypeError(f"the HLS backend cannot emit {type(kernel).__name__}")
    ints, types, args = EMITTERS[type(kernel)](kernel)
    constants = [("int" if -(2**31) <= v < 2**31 else "long long", key, _literal(v)) for key, v in ints.items()]
    return {
        "name": kernel.name,
        "func": kernel.kind,
        "summary": _summary(kernel),
        "constants": constants,
        "types": types,
        "args": args,
    }


# ---- rendering ---------------------------------------------------------------------------------------------


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(data_dir("templates"))),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(cinit=cinit, tcl=escape.tcl, comment=escape.comment, yaml=escape.yaml)
    return env


def _boundary(b: k.Boundary) -> dict:
    return {"num": b.num, "pack": b.pack, "bits": b.bits, "word": b.word, "ctype": ctype(b.elem), "order": b.order}


def render(plan: Plan, board: Board, clock_ns: float, model_name: str) -> dict[str, str]:
    """File name -> text of every generated HLS source."""
    env = environment()
    context = {
        "kernels": [_kernel(kernel) for kernel in plan.kernels],
        "streams": [{"name": s.name, "ctype": ctype(s.elem), "width": s.width} for s in plan.streams],
        "pragmas": [pragma for t in plan.tables for pragma in table_pragmas(t)],
        "declarations": _declarations(plan),
        "input": _boundary(plan.input),
        "output": _boundary(plan.output),
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
