"""The HLS C++ emitter: the only place a kernel plan is spelled in C++.

Every kernel becomes a named configuration struct (config.h: its sizes as named constants and its types) and a
call of the hand-written library (hls/fpgaq/*.h) with that struct, so top.cpp reads as the network it is:

    fpgaq::mvu_threshold<dense0_mvu>(s1, s2, w_dense0, b_dense0, thr_threshold0, neg_threshold0);

Tables go to params.h, included in the top function: each is defined there with the synthesis memory layout the
estimates assume as pragmas right after it (lanes partitioned completely, levels packed in one word). One
Jinja Environment (StrictUndefined), thin templates in templates/.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fpgaq import __version__, escape, host
from fpgaq.boards import Board
from fpgaq.ir.types import IntType
from fpgaq.plan import kernels as k
from fpgaq.plan.kernels import Plan, Table, TableKind
from fpgaq.plan.tables import fifo_storage
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
CFLAGS = "-std=c++14"  # run_hls.tcl adds the include folders as absolute paths when it runs
PROJECT = "fpgaq_prj"  # the Vitis HLS project folder under DIR/hls
TOP = "fpgaq_accel"  # the synthesis top function (top_axi.cpp) and IP name
IP = {"ip_vendor": "fpgaq.org", "ip_library": "hls", "ip_version": "1.0"}
IP_VLNV = f"{IP['ip_vendor']}:{IP['ip_library']}:{TOP}:{IP['ip_version']}"
DESIGN = "fpgaq"  # the Vivado block design: DIR/deploy/fpgaq.bit, fpgaq.hwh
BITSTREAM_TCL = "vivado/build_bitstream.tcl"
DRIVER = ("deploy/driver.py", "deploy/fpgaq_host.py", "deploy/host.json")  # the PYNQ driver's files
DMA_LENGTH_BITS = 26  # the AXI DMA's buffer length register (c_sg_length_width): transfers up to 2**26 - 1 bytes
DMA_MM_WIDTHS = (32, 64, 128, 256, 512, 1024)  # c_m_axi_{mm2s,s2mm}_data_width values the AXI DMA takes (PG021)


# ---- C++ spelling ------------------------------------------------------------------------------------------


def ctype(t: IntType) -> str:
    """fpgaq::int_t<N> / fpgaq::uint_t<N>: ap_int<N> / ap_uint<N>, or a native C-simulation's (hls/fpgaq/types.h)."""
    return f"fpgaq::{'int' if t.signed else 'uint'}_t<{t.bits}>"


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
    """The memory layout of a table for synthesis (what the estimates assume): packed dimensions in one word, the
    lane dimension split into one memory per lane (complete: every index of it is an unrolled lane)."""
    pragmas = [f"ARRAY_RESHAPE variable = {t.name} complete dim = {d}" for d in t.packed if t.shape[d - 1] > 1]
    if t.banks is not None and t.banks[1] > 1:
        dim, factor = t.banks
        if factor == t.shape[dim - 1]:
            pragmas.append(f"ARRAY_PARTITION variable = {t.name} complete dim = {dim}")
        else:  # refused by the plan lint before any file is written (fpgaq.plan.lint)
            pragmas.append(f"ARRAY_PARTITION variable = {t.name} cyclic factor = {factor} dim = {dim}")
    if t.storage is not None:  # the memory the estimate costs, not the tool's choice
        pragmas.append(f"BIND_STORAGE variable = {t.name} type = rom_1p impl = {t.storage}")
    return pragmas


def _typedefs(plan: Plan) -> list[str]:
    """config.h: the element type of every integer table (ap type in synthesis, C type in C-simulation)."""
    return [
        f"typedef FPGAQ_STORE({ctype(t.elem)}, {c_storage(t.elem)}) {t.name}_t;"
        for t in plan.tables
        if t.kind is TableKind.INT
    ]


def _uram(t: Table) -> dict:
    rows, lanes = t.shape
    return {"name": t.name, "type": table_type(t), "dims": f"[{rows}][{lanes}]", "bits": t.elem.bits,
            "signed": "true" if t.elem.signed else "false"}  # fmt: skip


def _declarations(plan: Plan) -> list[dict]:
    """params.h: every table, defined in the top function with its memory layout pragmas right after it (but
    those in UltraRAM: arguments of the top, FPGAQ_URAM_PARAMS in top.h)."""
    out = []
    for t in plan.tables:
        if t.storage == "uram":
            continue
        dims = "".join(f"[{n}]" for n in t.shape)
        decl = f"static const {table_type(t)} {t.name}{dims} = {cinit(t.values)};"
        out.append({"decl": decl, "pragmas": table_pragmas(t)})
    return out


# ---- one configuration and one call per kernel kind ----------------------------------------------------------


def _window(w: k.Window) -> dict:
    return {f: getattr(w, f) for f in ("c", "h", "w", "kh", "kw", "sh", "sw", "dh", "dw", "pt", "pl", "oh", "ow")}


def _mvu(m: k.Mvu):
    ints = dict(id=m.ident, nv=m.vectors, g=m.groups, kg=m.k, ocg=m.oc, simd=m.simd, pe=m.pe, in_w=m.inp.width,
                dw=int(m.depthwise), bipolar=int(m.bipolar))  # fmt: skip
    types = dict(in_t=ctype(m.inp.elem), weight_t=table_type(m.weights), bias_t=table_type(m.bias),
                 inner_t=ctype(m.inner), outer_t=ctype(m.outer), out_t=ctype(m.out.elem))  # fmt: skip
    args = [m.inp.name, m.out.name, m.weights.name, m.bias.name]
    act = m.activation
    if isinstance(act, k.FusedRequant):
        ints.update(levels=act.levels, shift=act.shift, base=act.base)
        types.update(mult_t=table_type(act.mult), offset_t=table_type(act.offset), prod_t=ctype(act.product))
        args += [act.mult.name, act.offset.name, act.negate.name]
    elif act is not None:
        ints.update(levels=act.levels, base=act.base)
        types["thr_t"] = table_type(act.thresholds)
        args += [act.thresholds.name, act.negate.name]
    return ints, types, args


def _threshold(t: k.Thresholding):
    ints = dict(num=t.num, win=t.inp.width, rpl=t.rows // t.inp.width, levels=t.levels, base=t.base)
    types = dict(in_t=ctype(t.inp.elem), thr_t=table_type(t.thresholds), out_t=ctype(t.out.elem))
    return ints, types, [t.inp.name, t.out.name, t.thresholds.name, t.negate.name]


def _requantize(r: k.Requantize):
    ints = dict(num=r.num, win=r.inp.width, rpl=r.rows // r.inp.width, levels=r.levels, shift=r.shift, base=r.base)
    types = dict(in_t=ctype(r.inp.elem), mult_t=table_type(r.mult), offset_t=table_type(r.offset),
                 prod_t=ctype(r.product), out_t=ctype(r.out.elem))  # fmt: skip
    return ints, types, [r.inp.name, r.out.name, r.mult.name, r.offset.name, r.negate.name]


def _swg(s: k.SlidingWindow):
    ints = dict(_window(s.window), groups=s.groups, simd=s.out.width, rows=s.rows, pad=s.pad)
    return ints, dict(elem_t=ctype(s.inp.elem)), [s.inp.name, s.out.name, f"{s.name}::elem_t({s.name}::pad)"]


def _maxpool(p: k.MaxPool):
    w = p.window
    ints = dict(c=w.c, pixels=w.h * w.w, lanes=p.inp.width) if w.is_global else dict(_window(w), lanes=p.inp.width)
    return ints, dict(in_t=ctype(p.inp.elem), out_t=ctype(p.out.elem)), [p.inp.name, p.out.name, p.sign.name]


def _sumpool(p: k.SumPool):
    w = p.window
    ints = dict(id=p.ident, c=w.c, pixels=w.h * w.w, lanes=p.inp.width)
    if not w.is_global:
        ints = dict(id=p.ident, c=w.c, kh=w.kh, kw=w.kw, oh=w.oh, ow=w.ow, lanes=p.inp.width)
    return ints, dict(in_t=ctype(p.inp.elem), out_t=ctype(p.out.elem)), [p.inp.name, p.out.name]


def _add(a: k.Add):
    m0_t, m1_t = (ctype(IntType.for_range(min(m, 0), max(m, 0))) for m in (a.m0, a.m1))
    ints = dict(id=a.ident, num=a.num, win=a.out.width, m0=a.m0, m1=a.m1)
    types = dict(a_t=ctype(a.a.elem), b_t=ctype(a.b.elem), out_t=ctype(a.out.elem), m0_t=m0_t, m1_t=m1_t)
    return ints, types, [a.a.name, a.b.name, a.out.name]


def _concat(c: k.Concat):
    types = dict(a_t=ctype(c.a.elem), b_t=ctype(c.b.elem), out_t=ctype(c.out.elem))
    return dict(outer=c.outer, n0=c.n0, n1=c.n1), types, [c.a.name, c.b.name, c.out.name]


def _dwc(d: k.WidthConverter):
    ints = dict(num=d.num, in_w=d.inp.width, out_w=d.out.width, step=math.gcd(d.inp.width, d.out.width))
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
    k.Requantize: _requantize,
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
    if isinstance(kernel, k.Mvu) and kernel.depthwise:
        return (
            f"{kernel.layer}: vector-vector unit (depthwise), {kernel.groups * kernel.pe} channels of "
            f"{kernel.k} kernel positions, {kernel.vectors} vectors, PE {kernel.pe}, SIMD {kernel.simd}"
        )
    if isinstance(kernel, k.Mvu):
        act = kernel.activation
        what = "requantizer" if isinstance(act, k.FusedRequant) else "thresholds"
        act = "" if act is None else f", {what} of {act.layer} fused"
        return (f"{kernel.layer}: matrix-vector unit, {kernel.groups} x {kernel.oc} outputs of {kernel.k} inputs, "
                f"{kernel.vectors} vectors, PE {kernel.pe}, SIMD {kernel.simd}{act}")  # fmt: skip
    if isinstance(kernel, k.SlidingWindow):
        w = kernel.window
        return f"{kernel.layer}: sliding window {w.kh}x{w.kw} over {w.c}x{w.h}x{w.w}, SIMD {kernel.out.width}"
    return f"{kernel.layer}"


# the library functions a kernel kind may be emitted as (what Vitis names its modules after)
FUNCTIONS = {
    "mvu": ("mvu", "mvu_threshold", "mvu_requant"),
    "maxpool": ("maxpool", "global_maxpool"),
    "sumpool": ("sumpool", "global_sumpool"),
}


def _function(kernel: k.Kernel) -> str:
    """The library function of a kernel: its kind, or the variant its configuration needs."""
    if isinstance(kernel, k.Mvu) and isinstance(kernel.activation, k.FusedRequant):
        return "mvu_requant"
    if isinstance(kernel, k.Mvu) and kernel.activation is not None:
        return "mvu_threshold"
    if isinstance(kernel, (k.MaxPool, k.SumPool)) and kernel.window.is_global:
        return f"global_{kernel.kind}"
    return kernel.kind


def _kernel(kernel: k.Kernel) -> dict:
    if type(kernel) not in EMITTERS:
        raise TypeError(f"the HLS backend cannot emit {type(kernel).__name__}")
    ints, types, args = EMITTERS[type(kernel)](kernel)
    constants = [("int" if -(2**31) <= v < 2**31 else "long long", key, _literal(v)) for key, v in ints.items()]
    return {
        "name": kernel.name,
        "func": _function(kernel),
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
        "streams": [
            {
                "name": s.name,
                "ctype": ctype(s.elem),
                "width": s.width,
                "depth": plan.depth(s.name),
                "impl": fifo_storage(plan.depth(s.name)),
            }
            for s in plan.streams
        ],
        "typedefs": _typedefs(plan),
        "declarations": _declarations(plan),
        "uram": [_uram(t) for t in plan.runtime_tables],
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


def dma_mm_width(stream_bits: int) -> int:
    """The AXI DMA's memory-mapped data width for a stream of `stream_bits` bits: the narrowest legal width that is
    at least the stream's (PG021: the memory-mapped side may not be narrower than the stream side)."""
    for width in DMA_MM_WIDTHS:
        if width >= stream_bits:
            return width
    raise ValueError(f"an AXI DMA stream is at most {DMA_MM_WIDTHS[-1]} bits wide, not {stream_bits}")


def deploy_scripts(board: Board, clock_ns: float, axis: dict, model_name: str) -> dict[str, str | bytes]:
    """Build-folder path -> content of what turns the HLS IP into a running board (boards with a processing
    system), written by every build so that it can be read before any tool runs: the Vivado block design
    (vivado/build_bitstream.tcl) and the PYNQ driver (deploy/driver.py and deploy/fpgaq_host.py; the backend adds
    deploy/host.json once the build has written host.json). Paths in the Tcl are relative to its folder, so no
    folder name ever reaches Tcl."""
    if not board.has_processing_system:
        return {}
    words = {side: axis[side]["word"] for side in ("input", "output")}
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
            in_word=words["input"],
            out_word=words["output"],
            in_mm_width=dma_mm_width(words["input"]),
            out_mm_width=dma_mm_width(words["output"]),
            length_bits=DMA_LENGTH_BITS,
        )
    )
    return {
        BITSTREAM_TCL: tcl,
        DRIVER[0]: (data_dir("templates") / "driver.py").read_bytes(),
        DRIVER[1]: Path(host.__file__).read_bytes(),  # byte-identical: the host code the C-simulation runs
    }
