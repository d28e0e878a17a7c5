"""The Verilog spelling of a kernel plan: DIR/rtl/fpgaq_top.sv (fpgaq_top: the kernels of rtl/ instantiated with their
sizes and widths, a fpgaq_fifo at each stream's depth between producer and consumer, the AXI-Stream boundary as
ports), the kernel library in DIR/rtl/lib and one $readmemh file per table (hex, one memory word per line).

The library (rtl/README.md) has a module for every kernel of a plan: matrix-vector units (dense, grouped, depthwise,
bipolar; no activation, fused thresholds or the fused exact requantizer), standalone thresholds and requantizers,
sliding windows, max and sum pooling (windowed and global), the residual add, concatenation, forks, width
converters, reorder buffers, FIFOs and the AXI-Stream boundary. A plan with a kernel it lacks is refused naming it
(exit 2).
"""

from __future__ import annotations

import json
import re

import numpy as np

from fpgaq import __version__, escape
from fpgaq.backends.hls.emit import environment
from fpgaq.backends.rtl.board import board_files
from fpgaq.boards import Board
from fpgaq.errors import FpgaqError
from fpgaq.plan import kernels as k
from fpgaq.plan.kernels import Plan
from fpgaq.resources import data_dir

LIBRARY = (
    "fpgaq_mvu.sv",
    "fpgaq_dwc.sv",
    "fpgaq_fifo.sv",
    "fpgaq_reorder.sv",
    "fpgaq_threshold.sv",
    "fpgaq_activation.sv",
    "fpgaq_swg.sv",
    "fpgaq_sumpool.sv",
    "fpgaq_maxpool.sv",
    "fpgaq_add.sv",
    "fpgaq_concat.sv",
    "fpgaq_fork.sv",
)
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class RtlUnsupported(FpgaqError):
    """A plan with a kernel the RTL library does not have yet."""


def unsupported(kernel: k.Kernel) -> str | None:
    """Why the RTL library cannot build `kernel`, or None."""
    if isinstance(kernel, k.Add) and not all(-(1 << 31) <= m < 1 << 31 for m in (kernel.m0, kernel.m1)):
        return "an add with a multiplier beyond 32 bits"
    if type(kernel) in EMITTERS or isinstance(kernel, (k.UnpackAxis, k.PackAxis)):
        return None
    return f"a {kernel.kind} kernel"


def check_plan(plan: Plan) -> None:
    for kernel in plan.kernels:
        why = unsupported(kernel)
        if why:
            raise RtlUnsupported(
                f"the RTL library cannot build {why} (kernel {escape.terminal(kernel.name)}); build with --backend hls"
            )
        if not _IDENT.fullmatch(kernel.name):
            raise RtlUnsupported(f"kernel name {escape.terminal(kernel.name)!r} is not a Verilog identifier")


def _bits(elem) -> int:
    """Bits of a table element stored as a signed value (an unsigned one gets a zero sign bit)."""
    return elem.bits if elem.signed else elem.bits + 1


def memory(rows: np.ndarray, bits: int) -> str:
    """$readmemh text: one word per row of `rows` (2-D), element j of a row in bits [j * bits +: bits]."""
    mask = (1 << bits) - 1
    lines = []
    for row in np.asarray(rows, dtype=object).reshape(len(rows), -1):
        word = 0
        for j, value in enumerate(row):
            word |= (int(value) & mask) << (j * bits)
        lines.append(f"{word:x}")
    return "\n".join(lines) + "\n"


def _rows(table: k.Table) -> np.ndarray:
    """A per-lane table [lane][row(, level)] as one memory word per row: [row][lane (* levels)]."""
    values = np.asarray(table.values)
    return np.swapaxes(values, 0, 1).reshape(values.shape[1], -1)


def _activation(name: str, act) -> tuple[dict, dict[str, str], dict[str, str]]:
    """(params, files, string parameters) of a multi-threshold activation or exact requantizer, fused into a
    matrix-vector unit (tables by lane and neuron fold) or standalone (by lane and row): rtl/fpgaq_activation.sv."""
    params = dict(LEVELS=act.levels, BASE=act.base)
    files = {f"{name}_n.mem": memory(_rows(act.negate).astype(int), 1)}
    if isinstance(act, (k.FusedThreshold, k.Thresholding)):
        params.update(ACT=1, T_BITS=_bits(act.thresholds.elem))
        files[f"{name}_t.mem"] = memory(_rows(act.thresholds), params["T_BITS"])
    else:
        params.update(ACT=2, SHIFT=act.shift, M_BITS=_bits(act.mult.elem), O_BITS=_bits(act.offset.elem),
                      P_BITS=act.product.bits)  # fmt: skip
        files[f"{name}_m.mem"] = memory(_rows(act.mult), params["M_BITS"])
        files[f"{name}_o.mem"] = memory(_rows(act.offset), params["O_BITS"])
    suffixes = {"NEGATE": "n", "THRESHOLDS": "t", "MULT": "m", "OFFSET": "o"}
    strings = {key: f"{name}_{x}.mem" for key, x in suffixes.items() if f"{name}_{x}.mem" in files}
    return params, files, strings


def _instance(module: str, params: dict, files: dict[str, str] | None = None, strings: dict[str, str] | None = None):
    return {"module": module, "params": params, "strings": strings or {}}, files or {}


def _mvu(m: k.Mvu):
    params = dict(G=m.groups, KG=m.k, OCG=m.oc, SIMD=m.simd, PE=m.pe, IN_BITS=m.inp.elem.bits,
                  IN_SIGNED=int(m.inp.elem.signed), DW=int(m.depthwise),
                  W_BITS=1 if m.bipolar else _bits(m.weights.elem), BIPOLAR=int(m.bipolar), B_BITS=_bits(m.bias.elem),
                  TILE_BITS=m.inner.bits, ACC_BITS=m.outer.bits, OUT_BITS=m.out.elem.bits)  # fmt: skip
    files = {
        f"{m.name}_w.mem": memory(m.weights.values, params["W_BITS"]),
        f"{m.name}_b.mem": memory(_rows(m.bias), params["B_BITS"]),  # [G * NF][PE]
    }
    strings = {"WEIGHTS": f"{m.name}_w.mem", "BIAS": f"{m.name}_b.mem"}
    if m.activation is not None:
        act_params, act_files, act_strings = _activation(m.name, m.activation)
        params.update(act_params)
        files.update(act_files)
        strings.update(act_strings)
    return _instance("fpgaq_mvu", params, files, strings)


def _lanes(t: k.Thresholding | k.Requantize):
    win = t.inp.width
    params = dict(WIN=win, RPL=t.rows // win, IN_BITS=t.inp.elem.bits, IN_SIGNED=int(t.inp.elem.signed),
                  OUT_BITS=t.out.elem.bits)  # fmt: skip
    act_params, files, strings = _activation(t.name, t)
    return _instance("fpgaq_threshold", {**params, **act_params}, files, strings)


def _reorder(r: k.Reorder):
    perm = np.asarray(r.perm.values).reshape(-1, 1)
    files = {f"{r.name}_p.mem": memory(perm, max(1, int(r.num - 1).bit_length()))}
    return _instance("fpgaq_reorder", {"NUM": r.num, "BITS": r.inp.bits}, files, {"PERM": f"{r.name}_p.mem"})


def _swg(s: k.SlidingWindow):
    w = s.window
    params = dict(C=w.c, H=w.h, W=w.w, KH=w.kh, KW=w.kw, SH=w.sh, SW=w.sw, DH=w.dh, DW=w.dw, PT=w.pt, PL=w.pl,
                  OH=w.oh, OW=w.ow, G=s.groups, SIMD=s.out.width, NR=s.rows, BITS=s.inp.elem.bits,
                  PAD=s.pad)  # fmt: skip
    return _instance("fpgaq_swg", params)


def _maxpool(p: k.MaxPool):
    w = p.window
    params = dict(L=p.inp.width, G=w.c // p.inp.width, GLOBAL=int(w.is_global), PIXELS=w.h * w.w, H=w.h, W=w.w,
                  KH=w.kh, KW=w.kw, SH=w.sh, SW=w.sw, DH=w.dh, DW=w.dw, PT=w.pt, PL=w.pl, OH=w.oh, OW=w.ow,
                  IN_BITS=p.inp.elem.bits, IN_SIGNED=int(p.inp.elem.signed), OUT_BITS=p.out.elem.bits)  # fmt: skip
    files = {f"{p.name}_s.mem": memory(_rows(p.sign) < 0, 1)}  # [group][lane]: 1 where the channel is negated
    return _instance("fpgaq_maxpool", params, files, {"SIGNS": f"{p.name}_s.mem"})


def _sumpool(p: k.SumPool):
    w = p.window
    params = dict(L=p.inp.width, G=w.c // p.inp.width, WINDOW=w.kh * w.kw, PIXELS=w.h * w.w, GLOBAL=int(w.is_global),
                  IN_BITS=p.inp.elem.bits, IN_SIGNED=int(p.inp.elem.signed), OUT_BITS=p.out.elem.bits)  # fmt: skip
    return _instance("fpgaq_sumpool", params)


def _add(a: k.Add):
    params = dict(WIN=a.out.width, A_BITS=a.a.elem.bits, A_SIGNED=int(a.a.elem.signed), B_BITS=a.b.elem.bits,
                  B_SIGNED=int(a.b.elem.signed), OUT_BITS=a.out.elem.bits, M0=a.m0, M1=a.m1)  # fmt: skip
    return _instance("fpgaq_add", params)


def _concat(c: k.Concat):
    params = dict(N0=c.n0, N1=c.n1, A_BITS=c.a.elem.bits, A_SIGNED=int(c.a.elem.signed), B_BITS=c.b.elem.bits,
                  B_SIGNED=int(c.b.elem.signed), OUT_BITS=c.out.elem.bits)  # fmt: skip
    return _instance("fpgaq_concat", params)


def _fork(f: k.Fork):
    return _instance("fpgaq_fork", {"BITS": f.inp.bits})


def _dwc(d: k.WidthConverter):
    params = dict(IN_W=d.inp.width, OUT_W=d.out.width, STEP=int(np.gcd(d.inp.width, d.out.width)),
                  IN_BITS=d.inp.elem.bits, OUT_BITS=d.out.elem.bits, IN_SIGNED=int(d.inp.elem.signed))  # fmt: skip
    return _instance("fpgaq_dwc", params)


# kernel class -> (instance: module, params, strings; its $readmemh files) (the AXI boundary is the top's ports)
EMITTERS = {
    k.Mvu: _mvu,
    k.Thresholding: _lanes,
    k.Requantize: _lanes,
    k.Reorder: _reorder,
    k.SlidingWindow: _swg,
    k.MaxPool: _maxpool,
    k.SumPool: _sumpool,
    k.Add: _add,
    k.Concat: _concat,
    k.Fork: _fork,
    k.WidthConverter: _dwc,
}
# the ports of a kernel with two inputs or two outputs: (Verilog port prefix, field of the kernel), inputs first
PORTS = {k.Add: (("a", "a"), ("b", "b"), ("out", "out")), k.Concat: (("a", "a"), ("b", "b"), ("out", "out")),
         k.Fork: (("in", "inp"), ("out0", "out0"), ("out1", "out1"))}  # fmt: skip


def render(plan: Plan, board: Board, model_name: str) -> dict[str, str | bytes]:
    """Build-folder path -> content: rtl/fpgaq_top.sv, rtl/lib/*.sv, rtl/*.mem."""
    check_plan(plan)
    files: dict[str, str | bytes] = {}
    instances = []
    for kernel in plan.kernels:
        if isinstance(kernel, (k.UnpackAxis, k.PackAxis)):
            continue
        inst, tables = EMITTERS[type(kernel)](kernel)
        files.update({f"rtl/{name}": text for name, text in tables.items()})
        # an input port reads its stream's FIFO (the _r_ side), an output port writes one (_w_)
        ports = [{"port": port, "net": f"{getattr(kernel, field).name}_{'w' if port.startswith('out') else 'r'}"}
                 for port, field in PORTS.get(type(kernel), (("in", "inp"), ("out", "out")))]  # fmt: skip
        overrides = [f".{name}({value})" for name, value in inst["params"].items()]
        overrides += [f'.{name}("{value}")' for name, value in inst["strings"].items()]  # file names: [A-Za-z0-9_.]
        instances.append({**inst, "overrides": overrides, "name": kernel.name, "ports": ports})
    unpack = next(x for x in plan.kernels if isinstance(x, k.UnpackAxis))
    pack = next(x for x in plan.kernels if isinstance(x, k.PackAxis))
    files["rtl/fpgaq_top.sv"] = (
        environment()
        .get_template("top.sv.j2")
        .render(
            version=__version__,
            model_name=model_name,
            board=board,
            streams=[{"name": s.name, "bits": s.bits, "depth": plan.depth(s.name)} for s in plan.streams],
            instances=instances,
            in_word=plan.input.word,
            out_word=plan.output.word,
            first=unpack.out,
            last=pack.inp,
        )
    )
    kernels = [{"name": i["name"], "module": i["module"], "params": i["params"], "strings": i["strings"]}
               for i in instances]  # fmt: skip
    for s in plan.streams:
        fifo = {"BITS": s.bits, "DEPTH": plan.depth(s.name)}
        kernels.append({"name": f"{s.name}_fifo", "module": "fpgaq_fifo", "params": fifo, "strings": {}})
    files["rtl/kernels.json"] = json.dumps(kernels, indent=1) + "\n"  # what `fpgaq synth --backend yosys` measures
    library = data_dir("rtl")
    for name in LIBRARY:
        files[f"rtl/lib/{name}"] = (library / name).read_bytes()
    files.update(board_files(plan, board))  # a board top level where the board has no processing system
    return files
