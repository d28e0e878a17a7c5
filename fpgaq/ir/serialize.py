"""Host-side specs (input quantization, output dequantization) to JSON (host.json), exactly; fpgaq.host reads
them back.

float32 parameters are written as their exact decimal float64 value; Fractions as "numerator/denominator".
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fpgaq.ir.chain import Affine
from fpgaq.ir.graph import InputSpec, OutputSpec


def _f32(arr) -> dict:
    arr = np.asarray(arr, dtype=np.float32)
    return {"shape": list(arr.shape), "values": [float(v) for v in arr.reshape(-1)]}


def _frac(arr) -> dict:
    return {"shape": list(arr.shape), "values": [None if v is None else str(Fraction(v)) for v in arr.reshape(-1)]}


def input_to_json(spec: InputSpec, shape) -> dict:
    """The input spec; "pre" (the model's preprocessing before its quantizer) only when there is some."""
    out = {
        "shape": list(shape),
        "kind": spec.kind,
        "scale": _f32(spec.scale),
        "zero_point": _f32(spec.zero_point),
        "bits": spec.bits,
        "signed": spec.signed,
        "narrow": spec.narrow,
        "rounding": spec.rounding.value,
    }
    if spec.pre:
        out["pre"] = [{"op": op, "constant": _f32(constant)} for op, constant in spec.pre]
    return out


def output_to_json(spec: OutputSpec) -> dict:
    steps = []
    for step in spec.chain.steps:
        if isinstance(step, Affine):
            steps.append({"kind": "affine", "a": _frac(step.a), "b": _frac(step.b)})
        else:
            steps.append({"kind": "clamp", "lo": _frac(step.lo), "hi": _frac(step.hi)})
    quant = None
    if spec.quant is not None:
        scale, zero_point, kind = spec.quant
        quant = {"scale": _f32(scale), "zero_point": _f32(zero_point), "kind": kind}
    return {"shape": list(spec.layout_shape), "rank": spec.chain.rank, "chain": steps, "quant": quant}
