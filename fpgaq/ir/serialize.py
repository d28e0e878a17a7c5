"""Host-side specs (input quantization, output dequantization) to and from JSON, exactly.

float32 parameters are written as their exact decimal float64 value; Fractions as "numerator/denominator".
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fpgaq.ir.chain import Affine, Chain, Clamp
from fpgaq.ir.graph import InputSpec, OutputSpec
from fpgaq.ir.types import Rounding


def _f32(arr) -> dict:
    arr = np.asarray(arr, dtype=np.float32)
    return {"shape": list(arr.shape), "values": [float(v) for v in arr.reshape(-1)]}


def _f32_back(d) -> np.ndarray:
    arr = np.array(d["values"], dtype=np.float32).reshape(d["shape"])
    arr.setflags(write=False)
    return arr


def _frac(arr) -> dict:
    return {"shape": list(arr.shape), "values": [None if v is None else str(Fraction(v)) for v in arr.reshape(-1)]}


def _frac_back(d) -> np.ndarray:
    out = np.empty(len(d["values"]), dtype=object)
    out[:] = [None if v is None else Fraction(v) for v in d["values"]]
    return out.reshape(d["shape"])


def input_to_json(spec: InputSpec, shape) -> dict:
    return {
        "shape": list(shape),
        "kind": spec.kind,
        "scale": _f32(spec.scale),
        "zero_point": _f32(spec.zero_point),
        "bits": spec.bits,
        "signed": spec.signed,
        "narrow": spec.narrow,
        "rounding": spec.rounding.value,
    }


def input_from_json(d) -> InputSpec:
    return InputSpec(
        "input",
        d["kind"],
        _f32_back(d["scale"]),
        _f32_back(d["zero_point"]),
        d["bits"],
        d["signed"],
        d["narrow"],
        Rounding(d["rounding"]),
    )


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


def output_from_json(d) -> OutputSpec:
    steps = []
    for s in d["chain"]:
        if s["kind"] == "affine":
            steps.append(Affine(_frac_back(s["a"]), _frac_back(s["b"])))
        else:
            steps.append(Clamp(_frac_back(s["lo"]), _frac_back(s["hi"])))
    q = d["quant"]
    quant = None if q is None else (_f32_back(q["scale"]), _f32_back(q["zero_point"]), q["kind"])
    return OutputSpec("output", Chain(d["rank"], tuple(steps)), quant, tuple(d["shape"]))
