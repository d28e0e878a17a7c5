"""Quant, BipolarQuant and Trunc: constants become exact integers, activations become Threshold nodes."""

from __future__ import annotations

import numpy as np

from fpgaq.errors import UnsupportedOpError
from fpgaq.frontend.consts import bipolar_const, quantize_const
from fpgaq.frontend.context import Lowering, State
from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Affine, Chain, Clamp, Round, Sign01, frac_array, threshold_levels
from fpgaq.ir.types import IntType, Rounding, quant_int_range

MAX_ACTIVATION_BITS = 16


def sample_param(value, full_rank: int, where: str) -> np.ndarray:
    """A parameter broadcast against a batch-first tensor, as an exact array of the per-sample rank."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > full_rank:
        raise UnsupportedOpError(f"{where}: parameter of shape {arr.shape} does not fit the tensor")
    if arr.ndim == full_rank and full_rank > 0:
        if arr.shape[0] != 1:
            raise UnsupportedOpError(f"{where}: parameters may not vary along the batch axis")
        arr = arr[0]
    return frac_array(arr, full_rank - 1)


def _bits(low: Lowering, node, index: int, where: str, limit: int) -> int:
    value = low.const(node, index, "bit width")
    bits = float(np.asarray(value).reshape(-1)[0]) if np.asarray(value).size == 1 else None
    if bits is None or bits != int(bits) or not 1 <= bits <= limit:
        raise UnsupportedOpError(f"{where}: bit width must be an integer from 1 to {limit}, not {value!r}")
    return int(bits)


def quant(low: Lowering, node) -> None:
    where = f"Quant node {node.name!r}"
    rounding = Rounding.parse(low.attr(node, "rounding_mode", "ROUND"))
    signed, narrow = bool(low.attr(node, "signed", 1)), bool(low.attr(node, "narrow", 0))
    scale, zero_point = low.const(node, 1, "scale"), low.const(node, 2, "zero point")
    if low.is_const(node, 0):
        bits = _bits(low, node, 3, where, 32)
        low.set(node, quantize_const(low.const(node, 0, "x"), scale, zero_point, bits, signed, narrow, rounding, where))
        return
    bits = _bits(low, node, 3, where, MAX_ACTIVATION_BITS)
    if np.any(np.asarray(scale) <= 0) or not np.all(np.isfinite(scale)):
        raise UnsupportedOpError(f"{where}: quantization scale must be positive and finite")
    rank = len(low.full_shape(node.input[0]))
    s, z = sample_param(scale, rank, where), sample_param(zero_point, rank, where)
    one_bit = bits == 1 and signed
    kind = "sign" if one_bit else "int"
    if one_bit:
        code_min, code_max, dtype = 0, 1, IntType(1, False)
        out_chain = Chain(rank - 1).then(Affine(2 * s, (-1 - z) * s))
    else:
        code_min, code_max = quant_int_range(bits, signed, narrow)
        dtype = IntType(bits, signed)
        out_chain = Chain(rank - 1).then(Affine(s, -z * s))
    qinfo = (_sample_f32(scale, rank), _sample_f32(zero_point, rank), kind)
    if node.input[0] == low.model.graph.input[0].name:
        _quantize_input(
            low,
            node,
            "quant",
            scale,
            zero_point,
            bits,
            signed,
            narrow,
            rounding,
            dtype,
            code_min,
            code_max,
            out_chain,
            qinfo,
        )
        return
    state = low.state(node)
    codes = state.chain.then(Affine(1 / s, z))
    codes = (
        codes.then(Sign01())
        if one_bit
        else codes.then(Clamp(frac_array(code_min, rank - 1), frac_array(code_max, rank - 1))).then(Round(rounding))
    )
    add_threshold(low, node, state, codes, code_min, code_max, dtype, out_chain, qinfo)


def bipolar_quant(low: Lowering, node) -> None:
    where = f"BipolarQuant node {node.name!r}"
    scale = low.const(node, 1, "scale")
    if low.is_const(node, 0):
        low.set(node, bipolar_const(low.const(node, 0, "x"), scale, where))
        return
    if np.any(np.asarray(scale) <= 0):
        raise UnsupportedOpError(f"{where}: quantization scale must be positive and finite")
    rank = len(low.full_shape(node.input[0]))
    s = sample_param(scale, rank, where)
    out_chain = Chain(rank - 1).then(Affine(2 * s, -s))
    zero = np.zeros(1, dtype=np.float32)
    qinfo = (_sample_f32(scale, rank), zero, "bipolar")
    dtype = IntType(1, False)
    if node.input[0] == low.model.graph.input[0].name:
        _quantize_input(
            low, node, "bipolar", scale, zero, 1, True, False, Rounding.ROUND, dtype, 0, 1, out_chain, qinfo
        )
        return
    state = low.state(node)
    add_threshold(low, node, state, state.chain.then(Sign01()), 0, 1, dtype, out_chain, qinfo)


def trunc(low: Lowering, node) -> None:
    """QONNX Trunc (v1: 5 inputs, v2: 6 inputs with output scale, clip and signedness), after average pooling."""
    where = f"Trunc node {node.name!r}"
    state = low.state(node)
    rounding = Rounding.parse(low.attr(node, "rounding_mode", "FLOOR"))
    rank = len(low.full_shape(node.input[0]))
    scale, zero_point = low.const(node, 1, "scale"), low.const(node, 2, "zero point")
    s, z = sample_param(scale, rank, where), sample_param(zero_point, rank, where)
    in_bits = _bits(low, node, 3, where, 64)
    codes = state.chain.then(Affine(1 / s, z)).then(Round(Rounding.ROUND))
    if len(node.input) >= 6:
        out_scale = low.const(node, 4, "output scale")
        out_bits = _bits(low, node, 5, where, MAX_ACTIVATION_BITS)
        ts = 2.0 ** np.round(np.log2(np.asarray(out_scale, np.float32) / np.asarray(scale, np.float32)))
        t = sample_param(ts, rank, where)
        signed, narrow = bool(low.attr(node, "signed", 1)), bool(low.attr(node, "narrow", 0))
        code_min, code_max = quant_int_range(out_bits, signed, narrow)
        codes = codes.then(Affine(1 / t, frac_array(0.0, rank - 1))).then(
            Clamp(frac_array(code_min, rank - 1), frac_array(code_max, rank - 1))
        )
        codes = codes.then(Round(rounding))
        so = sample_param(out_scale, rank, where)
        out_chain = Chain(rank - 1).then(Affine(so, -(z / t) * so))
        dtype = IntType(out_bits, signed)
    else:
        out_bits = _bits(low, node, 4, where, 64)
        shift = frac_array(2.0 ** -(in_bits - out_bits), rank - 1)
        codes = codes.then(Affine(shift, frac_array(0.0, rank - 1))).then(Round(rounding))
        code_min, code_max = _reachable(codes, low.tensors[state.src])
        dtype = IntType.for_range(code_min, code_max)
        out_chain = Chain(rank - 1).then(Affine(s, -z * s))
    add_threshold(low, node, state, codes, code_min, code_max, dtype, out_chain, None)


def add_threshold(low: Lowering, node, state: State, codes: Chain, code_min, code_max, dtype, out_chain, qinfo):
    """Replace the integer-valued chain `codes` on state.src by a Threshold node (or nothing, if identity)."""
    src = low.tensors[state.src]
    thresholds, sign = threshold_levels(codes, code_min, code_max, src.lo, src.hi)
    identity = np.clip(np.arange(code_min + 1, code_max + 1), src.lo, src.hi + 1)
    if code_min <= src.lo and src.hi <= code_max and np.all(sign == 1) and np.all(thresholds == identity):
        out = state.src
    else:
        out = low.add_node(
            ir.Threshold,
            node,
            [state.src],
            src.shape,
            dtype,
            code_min,
            code_max,
            thresholds=ir.frozen_array(thresholds),
            sign=ir.frozen_array(sign),
            base=code_min,
        )
    if qinfo is not None:
        low.quantized[node.output[0]] = out
    low.set(node, State(out, out_chain, qinfo))


def _quantize_input(
    low, node, kind, scale, zero_point, bits, signed, narrow, rounding, dtype, code_min, code_max, out_chain, qinfo
):
    if low.input_spec is not None:
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: the model input is quantized twice")
    rank = len(low.full_shape(node.input[0]))
    name = low.new_tensor(low.sample_shape(node.input[0]), dtype, code_min, code_max)
    low.input_spec = ir.InputSpec(
        tensor=name,
        kind=kind,
        scale=_sample_f32(scale, rank),
        zero_point=_sample_f32(zero_point, rank),
        bits=bits,
        signed=signed,
        narrow=narrow,
        rounding=rounding,
    )
    low.quantized[node.output[0]] = name
    low.set(node, State(name, out_chain, qinfo))


def _reachable(codes: Chain, src: ir.Tensor) -> tuple[int, int]:
    shape = codes.param_shape()
    values = [int(codes.evaluate(x, i)) for i in np.ndindex(*shape) for x in (src.lo, src.hi)]
    return min(values), max(values)


def _sample_f32(value, full_rank: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim == full_rank and full_rank > 0:
        arr = arr[0]
    arr = arr.reshape((1,) * (full_rank - 1 - arr.ndim) + arr.shape)
    arr.setflags(write=False)
    return arr


HANDLERS = {"Quant": quant, "BipolarQuant": bipolar_quant, "Trunc": trunc}
