"""The Verilog spelling of a kernel plan: DIR/rtl/fpgaq_top.sv (fpgaq_top: the kernels of rtl/ instantiated with their
sizes and widths, a fpgaq_fifo at each stream's depth between producer and consumer, the AXI-Stream boundary as
ports), the kernel library in DIR/rtl/lib and one $readmemh file per table (hex, one memory word per line).

The library so far (rtl/README.md): matrix-vector units (dense, grouped, bipolar; no activation, fused thresholds
or the fused exact requantizer), standalone thresholds and requantizers, sliding windows, sum pooling, width
converters, reorder buffers, FIFOs and the AXI-Stream boundary. A plan with any other kernel is refused naming it
(exit 2): the HLS backend builds every plan.
"""

from __future__ import annotations

import json
import re

import numpy as np

from fpgaq import __version__, escape
from fpgaq.backends.hls.emit import environment
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
)
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class RtlUnsupported(FpgaqError):
    """A plan with a kernel the RTL library does not have yet."""


def unsupported(kernel: k.Kernel) -> str | None:
    """Why the RTL library cannot build `kernel`, or None."""
    if isinstance(kernel, k.Mvu):
        if kernel.depthwise:
            return "a depthwise matrix-vector unit"
        return None
    if isinstance(
        kernel,
        (
            k.WidthConverter,
            k.UnpackAxis,
            k.PackAxis,
            k.Reorder,
            k.Thresholding,
            k.Requantize,
            k.SlidingWindow,
            k.SumPool,
        ),
    ):
        return None
    return f"a {kernel.kind} kernel"


def check_plan(plan: Plan) -> None:
    for kernel in plan.kernels:
        why = unsupported(kernel)
        if why:
            raise RtlUnsupported(
                f"the RTL library has no {why} yet (kernel {escape.terminal(kernel.name)}); build with --backend hls"
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


def _mvu(m: k.Mvu) -> tuple[dict, dict[str, str]]:
    nf = m.oc // m.pe
    rows = m.groups * nf
    params = dict(G=m.groups, KG=m.k, OCG=m.oc, SIMD=m.simd, PE=m.pe, IN_BITS=m.inp.elem.bits,
                  IN_SIGNED=int(m.inp.elem.signed), W_BITS=1 if m.bipolar else _bits(m.weights.elem),
                  BIPOLAR=int(m.bipolar), B_BITS=_bits(m.bias.elem),
                  TILE_BITS=m.inner.bits, ACC_BITS=m.outer.bits, OUT_BITS=m.out.elem.bits)  # fmt: skip
    files = {
        f"{m.name}_w.mem": memory(m.weights.values, params["W_BITS"]),
        f"{m.name}_b.mem": memory(np.asarray(m.bias.values).T, params["B_BITS"]),  # [G * NF][PE]
    }
    strings = {"WEIGHTS": f"{m.name}_w.mem", "BIAS": f"{m.name}_b.mem"}
    act = m.activation
    if isinstance(act, k.FusedThreshold):
        t = np.asarray(act.thresholds.values).transpose(1, 0, 2).reshape(rows, -1)  # [G * NF][PE * levels]
        params.update(ACT=1, LEVELS=act.levels, T_BITS=_bits(act.thresholds.elem), BASE=act.base)
        files[f"{m.name}_t.mem"] = memory(t, params["T_BITS"])
        files[f"{m.name}_n.mem"] = memory(np.asarray(act.negate.values).T.astype(int), 1)
        strings.update(THRESHOLDS=f"{m.name}_t.mem", NEGATE=f"{m.name}_n.mem")
    elif isinstance(act, k.FusedRequant):
        params.update(ACT=2, LEVELS=act.levels, BASE=act.base, SHIFT=act.shift, M_BITS=_bits(act.mult.elem),
                      O_BITS=_bits(act.offset.elem), P_BITS=act.product.bits)  # fmt: skip
        files[f"{m.name}_m.mem"] = memory(np.asarray(act.mult.values).T, params["M_BITS"])
        files[f"{m.name}_o.mem"] = memory(np.asarray(act.offset.values).T, params["O_BITS"])
        files[f"{m.name}_n.mem"] = memory(np.asarray(act.negate.values).T.astype(int), 1)
        strings.update(MULT=f"{m.name}_m.mem", OFFSET=f"{m.name}_o.mem", NEGATE=f"{m.name}_n.mem")
    return {"module": "fpgaq_mvu", "params": params, "strings": strings}, files


def _lanes(t: k.Thresholding | k.Requantize) -> tuple[dict, dict[str, str]]:
    """A standalone threshold or requantizer: tables [lane][row] in the plan, one word per row here."""
    win = t.inp.width
    params = dict(WIN=win, RPL=t.rows // win, IN_BITS=t.inp.elem.bits, IN_SIGNED=int(t.inp.elem.signed),
                  OUT_BITS=t.out.elem.bits, LEVELS=t.levels, BASE=t.base)  # fmt: skip
    files = {f"{t.name}_n.mem": memory(np.asarray(t.negate.values).T.astype(int), 1)}
    strings = {"NEGATE": f"{t.name}_n.mem"}
    if isinstance(t, k.Thresholding):
        params.update(ACT=1, T_BITS=_bits(t.thresholds.elem))
        rows = np.asarray(t.thresholds.values).transpose(1, 0, 2).reshape(params["RPL"], -1)
        files[f"{t.name}_t.mem"] = memory(rows, params["T_BITS"])
        strings["THRESHOLDS"] = f"{t.name}_t.mem"
    else:
        params.update(ACT=2, SHIFT=t.shift, M_BITS=_bits(t.mult.elem), O_BITS=_bits(t.offset.elem),
                      P_BITS=t.product.bits)  # fmt: skip
        files[f"{t.name}_m.mem"] = memory(np.asarray(t.mult.values).T, params["M_BITS"])
        files[f"{t.name}_o.mem"] = memory(np.asarray(t.offset.values).T, params["O_BITS"])
        strings.update(MULT=f"{t.name}_m.mem", OFFSET=f"{t.name}_o.mem")
    return {"module": "fpgaq_threshold", "params": params, "strings": strings}, files


def _swg(s: k.SlidingWindow) -> dict:
    w = s.window
    params = dict(C=w.c, H=w.h, W=w.w, KH=w.kh, KW=w.kw, SH=w.sh, SW=w.sw, DH=w.dh, DW=w.dw, PT=w.pt, PL=w.pl,
                  OH=w.oh, OW=w.ow, G=s.groups, SIMD=s.out.width, NR=s.rows, BITS=s.inp.elem.bits,
                  PAD=s.pad)  # fmt: skip
    return {"module": "fpgaq_swg", "params": params, "strings": {}}


def _sumpool(p: k.SumPool) -> dict:
    w = p.window
    params = dict(L=p.inp.width, G=w.c // p.inp.width, WINDOW=w.kh * w.kw, PIXELS=w.h * w.w, GLOBAL=int(w.is_global),
                  IN_BITS=p.inp.elem.bits, IN_SIGNED=int(p.inp.elem.signed), OUT_BITS=p.out.elem.bits)  # fmt: skip
    return {"module": "fpgaq_sumpool", "params": params, "strings": {}}


def _dwc(d: k.WidthConverter) -> dict:
    params = dict(IN_W=d.inp.width, OUT_W=d.out.width, STEP=int(np.gcd(d.inp.width, d.out.width)),
                  IN_BITS=d.inp.elem.bits, OUT_BITS=d.out.elem.bits, IN_SIGNED=int(d.inp.elem.signed))  # fmt: skip
    return {"module": "fpgaq_dwc", "params": params, "strings": {}}


def render(plan: Plan, board: Board, model_name: str) -> dict[str, str | bytes]:
    """Build-folder path -> content: rtl/fpgaq_top.sv, rtl/lib/*.sv, rtl/*.mem."""
    check_plan(plan)
    files: dict[str, str | bytes] = {}
    instances = []
    for kernel in plan.kernels:
        if isinstance(kernel, (k.UnpackAxis, k.PackAxis)):
            continue
        if isinstance(kernel, k.Mvu):
            inst, tables = _mvu(kernel)
            files.update({f"rtl/{name}": text for name, text in tables.items()})
        elif isinstance(kernel, (k.Thresholding, k.Requantize)):
            inst, tables = _lanes(kernel)
            files.update({f"rtl/{name}": text for name, text in tables.items()})
        elif isinstance(kernel, k.Reorder):
            inst = {"module": "fpgaq_reorder", "params": {"NUM": kernel.num, "BITS": kernel.inp.bits},
                    "strings": {"PERM": f"{kernel.name}_p.mem"}}  # fmt: skip
            perm = np.asarray(kernel.perm.values).reshape(-1, 1)
            files[f"rtl/{kernel.name}_p.mem"] = memory(perm, max(1, int(kernel.num - 1).bit_length()))
        elif isinstance(kernel, k.SlidingWindow):
            inst = _swg(kernel)
        elif isinstance(kernel, k.SumPool):
            inst = _sumpool(kernel)
        else:
            inst = _dwc(kernel)
        (inp,) = kernel.inputs()
        (out,) = kernel.outputs()
        overrides = [f".{name}({value})" for name, value in inst["params"].items()]
        overrides += [f'.{name}("{value}")' for name, value in inst["strings"].items()]  # file names: [A-Za-z0-9_.]
        instances.append({**inst, "overrides": overrides, "name": kernel.name, "inp": inp.name, "out": out.name})
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
    return files
