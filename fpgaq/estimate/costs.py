"""What each kind of kernel of the plan costs: cycles per frame and resources, from its typed fields.

One function per kernel class (COSTS), called with the kernel and the device ("7series" or "ultrascale+", where
the DSP slices differ); the formulas and their sources are in models.py. A kernel class without an entry is an
error at the first estimate (and a test checks every class of fpgaq.plan.kernels has one).
"""

from __future__ import annotations

from fpgaq.estimate import models
from fpgaq.estimate.models import Cost
from fpgaq.plan import kernels as k


def _mvu(m: k.Mvu, device: str) -> Cost:
    act = m.activation
    thresholds = isinstance(act, k.FusedThreshold)
    cost = models.mvu(
        vectors=m.vectors,
        groups=m.groups,
        k=m.k,
        oc=m.oc,
        pe=m.pe,
        simd=m.simd,
        input_bits=m.inp.elem.bits,
        weight_bits=m.weights.elem.bits,
        acc_bits=m.outer.bits,
        out_bits=m.out.elem.bits,
        levels=act.levels if thresholds else 0,
        threshold_bits=act.thresholds.elem.bits if thresholds else 0,
        depthwise=m.depthwise,
        weight_memory=m.weights.storage,
    )
    if isinstance(act, k.FusedRequant):
        cost = cost + _requant_cost(act.mult, act.offset, act.product, m.pe, m.outer.bits, device)
    return cost


def _requant_cost(mult: k.Table, offset: k.Table, product, lanes: int, in_bits: int, device: str) -> Cost:
    return models.requant(rows_per_lane=mult.shape[1], lanes=lanes, in_bits=in_bits, mult_bits=mult.elem.bits,
                          offset_bits=offset.elem.bits, product_bits=product.bits, device=device)  # fmt: skip


def _requantize(r: k.Requantize, device: str) -> Cost:
    cost = _requant_cost(r.mult, r.offset, r.product, r.inp.width, r.inp.elem.bits, device)
    return cost + Cost(cycles=r.num // r.inp.width, lut=40, ff=r.inp.width * r.out.elem.bits + 40)


def _threshold(t: k.Thresholding, device: str) -> Cost:
    return models.threshold(
        num=t.num,
        win=t.inp.width,
        rows=t.rows,
        levels=t.levels,
        threshold_bits=t.thresholds.elem.bits,
        out_bits=t.out.elem.bits,
    )


def _swg_geometry(s: k.SlidingWindow) -> dict:
    w = s.window
    return dict(c=w.c, h=w.h, w=w.w, kh=w.kh, kw=w.kw, sh=w.sh, dh=w.dh, pt=w.pt, oh=w.oh, ow=w.ow, simd=s.out.width,
                rows=s.rows)  # fmt: skip


def swg_timing(s: k.SlidingWindow) -> models.SwgSchedule:
    """When a window generator reads and writes (the latency model of fpgaq.estimate.plan_costs)."""
    return models.swg_timing(**_swg_geometry(s))


def _swg(s: k.SlidingWindow, device: str) -> Cost:
    return models.swg(**_swg_geometry(s), bits=s.inp.elem.bits)


def _pool(p: k.MaxPool | k.SumPool, device: str) -> Cost:
    w = p.window
    if w.is_global:
        return models.global_pool(c=w.c, pixels=w.h * w.w, lanes=p.inp.width, bits=max(p.inp.elem.bits + 1,
                                  p.out.elem.bits))  # fmt: skip
    return models.pool(c=w.c, kh=w.kh, kw=w.kw, oh=w.oh, ow=w.ow, lanes=p.inp.width, in_bits=p.inp.elem.bits,
                       out_bits=p.out.elem.bits)  # fmt: skip


def _dwc(d: k.WidthConverter, device: str) -> Cost:
    return models.dwc(num=d.num, in_w=d.inp.width, out_w=d.out.width, in_bits=d.inp.elem.bits, out_bits=d.out.elem.bits)


def _add(a: k.Add, device: str) -> Cost:
    return models.add(num=a.num, win=a.out.width, out_bits=a.out.elem.bits, multipliers=(a.m0, a.m1))


def _axis(x: k.UnpackAxis | k.PackAxis, device: str) -> Cost:
    return models.passthrough(words=x.boundary.num // x.boundary.pack, bits=x.boundary.word)


COSTS = {
    k.Mvu: _mvu,
    k.Thresholding: _threshold,
    k.Requantize: _requantize,
    k.SlidingWindow: _swg,
    k.MaxPool: _pool,
    k.SumPool: _pool,
    k.WidthConverter: _dwc,
    k.Add: _add,
    k.Fork: lambda f, device: models.passthrough(words=f.inp.words, bits=f.inp.bits),
    k.UnpackAxis: _axis,
    k.PackAxis: _axis,
    k.Concat: lambda c, device: models.concat(num=c.outer * (c.n0 + c.n1), out_bits=c.out.elem.bits),
    k.Reorder: lambda r, device: models.reorder(num=r.num, bits=r.inp.elem.bits),
}


def kernel_cost(kernel: k.Kernel, device: str = "7series") -> Cost:
    """Cycles per frame and resources of one kernel on a device ("7series" or "ultrascale+")."""
    try:
        cost = COSTS[type(kernel)]
    except KeyError:
        raise TypeError(f"no cost model for kernel {type(kernel).__name__}") from None
    return cost(kernel, device)


def stream_cost(stream: k.Stream, depth: int) -> Cost:
    """The FIFO of one stream at its depth."""
    return models.fifo(bits=stream.bits, depth=depth)
