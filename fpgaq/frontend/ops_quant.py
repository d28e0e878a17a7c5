"""Quant, BipolarQuant and Trunc: constants become exact integers, activations become Threshold nodes."""

from __future__ import annotations

import numpy as np

from fpgaq.errors import UnsupportedOpError
from fpgaq.frontend.consts import bipolar_const, quantize_const
from fpgaq.frontend.context import Lowering, RawInput, State, where
from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Affine, Chain, Clamp, Round, Sign01, compress, frac_array
from fpgaq.ir.levels import chain_values, threshold_levels
from fpgaq.ir.types import MAX_INT_BITS, IntType, Rounding, quant_int_range

MAX_ACTIVATION_BITS = 16
MAX_WEIGHT_BITS = 32


def sample_param(value, full_shape: tuple[int, ...], where: str, what: str = "parameter") -> np.ndarray:
    """A parameter broadcast against a batch-first tensor, as an exact array of the per-sample rank."""
    arr = np.asarray(value, dtype=np.float64)
    check_broadcast(arr.shape, full_shape, where, what)
    rank = len(full_shape)
    if arr.ndim == rank and rank > 0:
        arr = arr[0]
    return frac_array(arr, rank - 1)


def check_broadcast(shape, full_shape, where: str, what: str) -> None:
    """A constant may broadcast to the tensor but not grow it, and may not vary along the batch axis."""
    shape, full_shape = tuple(shape), tuple(full_shape)
    if len(shape) == len(full_shape) and shape and shape[0] != 1:
        raise UnsupportedOpError(f"{where}: parameters may not vary along the batch axis")
    fits = len(shape) <= len(full_shape) and all(d in (1, n) for d, n in zip(shape[::-1], full_shape[::-1]))
    if not fits:
        raise UnsupportedOpError(f"{where}: {what} of shape {shape} does not fit the tensor of shape {full_shape}")


def _bits(low: Lowering, node, index: int, limit: int, what: str = "bit width") -> int:
    """A bit-width input: one integer from 1 to `limit`."""
    value = low.const(node, index, what)
    bits = float(value.reshape(-1)[0]) if value.size == 1 else None
    if bits is None or bits != int(bits) or not 1 <= bits <= limit:
        shown = repr(value) if value.size == 1 else f"an array of shape {value.shape}"
        raise UnsupportedOpError(f"{where(node)}: {what} must be an integer from 1 to {limit}, not {shown}")
    return int(bits)


def _positive_scale(node, scale, what: str = "quantization scale") -> None:
    """Scales are positive (finiteness is checked where constants are read)."""
    if np.any(np.asarray(scale) <= 0):
        raise UnsupportedOpError(f"{where(node)}: {what} must be positive and finite")


def _full_shape(low: Lowering, node) -> tuple[int, ...]:
    """The batch-first shape of the node's input 0 as the lowering knows it (the raw input or an IR tensor)."""
    raw = low.raw(node)
    if raw is not None:
        return (1,) + raw.shape
    return (1,) + low.tensors[low.state(node).src].shape


def quant(low: Lowering, node) -> None:
    here = where(node)
    rounding = Rounding.parse(low.attr_str(node, "rounding_mode", "ROUND"), here)
    signed, narrow = low.attr_flag(node, "signed", 1), low.attr_flag(node, "narrow", 0)
    scale, zero_point = low.const(node, 1, "scale"), low.const(node, 2, "zero point")
    if low.is_const(node, 0):
        bits = _bits(low, node, 3, MAX_WEIGHT_BITS)
        x = low.const(node, 0, "the quantized constant")
        low.set(node, quantize_const(x, scale, zero_point, bits, signed, narrow, rounding, here))
        return
    bits = _bits(low, node, 3, MAX_ACTIVATION_BITS)
    _positive_scale(node, scale)
    full = _full_shape(low, node)
    rank = len(full)
    s, z = sample_param(scale, full, here, "scale"), sample_param(zero_point, full, here, "zero point")
    one_bit = bits == 1 and signed
    kind = "sign" if one_bit else "int"
    if one_bit:
        code_min, code_max, dtype = 0, 1, IntType(1, False)
        out_chain = Chain(rank - 1).then(Affine(2 * s, (-1 - z) * s))
    else:
        code_min, code_max = quant_int_range(bits, signed, narrow)
        dtype = IntType(bits, signed)
        out_chain = Chain(rank - 1).then(Affine(s, -z * s))
    qinfo = (sample_f32(scale, rank), sample_f32(zero_point, rank), kind)
    if low.raw(node) is not None:
        spec = dict(kind="quant", bits=bits, signed=signed, narrow=narrow, rounding=rounding)
        _quantize_input(low, node, spec, scale, zero_point, dtype, code_min, code_max, out_chain, qinfo)
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
    here = where(node)
    scale = low.const(node, 1, "scale")
    if low.is_const(node, 0):
        low.set(node, bipolar_const(low.const(node, 0, "the quantized constant"), scale, here))
        return
    _positive_scale(node, scale)
    full = _full_shape(low, node)
    rank = len(full)
    s = sample_param(scale, full, here, "scale")
    out_chain = Chain(rank - 1).then(Affine(2 * s, -s))
    zero = np.zeros(1, dtype=np.float32)
    qinfo = (sample_f32(scale, rank), zero, "bipolar")
    dtype = IntType(1, False)
    if low.raw(node) is not None:
        spec = dict(kind="bipolar", bits=1, signed=True, narrow=False, rounding=Rounding.ROUND)
        _quantize_input(low, node, spec, scale, zero, dtype, 0, 1, out_chain, qinfo)
        return
    state = low.state(node)
    add_threshold(low, node, state, state.chain.then(Sign01()), 0, 1, dtype, out_chain, qinfo)


def trunc(low: Lowering, node) -> None:
    """QONNX Trunc (v1: 5 inputs, v2: 6 inputs with output scale, clip and signedness), after average pooling."""
    here = where(node)
    state = low.state(node)
    rounding = Rounding.parse(low.attr_str(node, "rounding_mode", "FLOOR"), here)
    full = (1,) + low.tensors[state.src].shape
    rank = len(full)
    scale, zero_point = low.const(node, 1, "scale"), low.const(node, 2, "zero point")
    _positive_scale(node, scale)
    s, z = sample_param(scale, full, here, "scale"), sample_param(zero_point, full, here, "zero point")
    in_bits = _bits(low, node, 3, MAX_INT_BITS, "input bit width")
    codes = state.chain.then(Affine(1 / s, z)).then(Round(Rounding.ROUND))
    if len(node.input) >= 6:
        out_scale = low.const(node, 4, "output scale")
        _positive_scale(node, out_scale, "output scale")
        out_bits = _bits(low, node, 5, MAX_ACTIVATION_BITS, "output bit width")
        signed, narrow = low.attr_flag(node, "signed", 1), low.attr_flag(node, "narrow", 0)
        t = sample_param(_pow2_ratio(node, out_scale, scale), full, here, "output scale")
        code_min, code_max = quant_int_range(out_bits, signed, narrow)
        codes = codes.then(Affine(1 / t, frac_array(0.0, rank - 1))).then(
            Clamp(frac_array(code_min, rank - 1), frac_array(code_max, rank - 1))
        )
        codes = codes.then(Round(rounding))
        so = sample_param(out_scale, full, here, "output scale")
        out_chain = Chain(rank - 1).then(Affine(so, -(z / t) * so))
        dtype = IntType(out_bits, signed)
    else:
        out_bits = _bits(low, node, 4, MAX_INT_BITS, "output bit width")
        shift = frac_array(2.0 ** -(in_bits - out_bits), rank - 1)
        codes = codes.then(Affine(shift, frac_array(0.0, rank - 1))).then(Round(rounding))
        code_min, code_max = _reachable(codes, low.tensors[state.src])
        dtype = IntType.for_range(code_min, code_max)
        out_chain = Chain(rank - 1).then(Affine(s, -z * s))
    add_threshold(low, node, state, codes, code_min, code_max, dtype, out_chain, None)


def _pow2_ratio(node, out_scale, scale) -> np.ndarray:
    """The power of two nearest out_scale / scale, as QONNX's Trunc computes it in float32."""
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        ratio = np.asarray(out_scale, np.float32) / np.asarray(scale, np.float32)
        ts = 2.0 ** np.round(np.log2(ratio))
    if not np.all(np.isfinite(ts)) or np.any(ts <= 0):
        raise UnsupportedOpError(f"{where(node)}: output scale / scale is out of range ({ratio.reshape(-1)[0]})")
    return ts


def add_threshold(low: Lowering, node, state: State, codes: Chain, code_min, code_max, dtype, out_chain, qinfo):
    """Replace the integer-valued chain `codes` on state.src by a Threshold node (or nothing, if identity)."""
    src = low.tensors[state.src]
    if dtype.bits > MAX_ACTIVATION_BITS:
        raise UnsupportedOpError(
            f"{where(node)}: its output needs {dtype.bits} bits; thresholded activations carry at most "
            f"{MAX_ACTIVATION_BITS} bits"
        )
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


def _quantize_input(low: Lowering, node, spec: dict, scale, zero_point, dtype, code_min, code_max, out_chain, qinfo):
    """The host quantizes the model input in its own layout; pending shape ops become IR nodes on the codes."""
    if low.input_spec is not None:
        raise UnsupportedOpError(f"{where(node)}: the model input is quantized twice")
    raw: RawInput = low.raw(node)
    rank = len(raw.shape) + 1
    name = low.new_tensor(raw.input_shape, dtype, code_min, code_max)
    scale, zero_point = sample_f32(scale, rank), sample_f32(zero_point, rank)
    if raw.ops:
        scale, zero_point = _input_layout(raw, scale), _input_layout(raw, zero_point)
    low.input_spec = ir.InputSpec(tensor=name, scale=scale, zero_point=zero_point, pre=raw.pre, **spec)
    for op_node, kind, arg, _ in raw.ops:
        cls, field = (ir.Reshape, "shape") if kind == "reshape" else (ir.Transpose, "perm")
        shape = arg if kind == "reshape" else tuple(low.tensors[name].shape[p] for p in arg)
        name = low.add_node(cls, op_node, [name], shape, dtype, code_min, code_max, **{field: arg})
    low.quantized[node.output[0]] = name
    low.set(node, State(name, out_chain, qinfo))


def _input_layout(raw: RawInput, param: np.ndarray) -> np.ndarray:
    """A float32 quantizer parameter (in the layout after the shape ops) in the model input's layout."""
    arr = compress(np.ascontiguousarray(raw.to_input_layout(param)))
    arr.setflags(write=False)
    return arr


def _reachable(codes: Chain, src: ir.Tensor) -> tuple[int, int]:
    values = []
    for x in (src.lo, src.hi):
        n, d = chain_values(codes, x)
        values += np.where(n < 0, -((-n) // d), n // d).reshape(-1).tolist()  # int(Fraction): toward zero
    return min(values), max(values)


def sample_f32(value, full_rank: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim == full_rank and full_rank > 0:
        arr = arr[0]
    arr = arr.reshape((1,) * (full_rank - 1 - arr.ndim) + arr.shape)
    arr.setflags(write=False)
    return arr


HANDLERS = {"Quant": quant, "BipolarQuant": bipolar_quant, "Trunc": trunc}
ARITY = {"Quant": (4, 4), "BipolarQuant": (2, 2), "Trunc": (5, 6)}
