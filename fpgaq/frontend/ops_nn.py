"""Dot products (Gemm, MatMul, Conv), float ops that extend a chain, pooling and the residual Add."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from fpgaq.errors import ModelError, UnsupportedOpError
from fpgaq.frontend.consts import exact_sqrt
from fpgaq.frontend.context import Lowering, State, channel_scales, check_width, frac, input_affine, where
from fpgaq.frontend.geometry import check_inferred, conv_attrs, pool_attrs
from fpgaq.frontend.ops_quant import check_broadcast, sample_param
from fpgaq.frontend.preprocess import fold_preprocessing, reads_raw_input
from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Affine, Chain, Clamp, compress, frac_array, none_array
from fpgaq.ir.types import IntType

_INT64_SAFE = 1 << 62


def _dense_from(
    low: Lowering,
    node,
    state: State,
    ints: np.ndarray,
    wscale,
    bias,
    quantized_bias: bool,
    weight_type,
    alpha=Fraction(1),
    beta=Fraction(1),
) -> None:
    """Create a Dense node for weights ints[o, k] with per-output scales; the chain carries scale and bias."""
    aff = input_affine(state, node, "the input", low)
    shape = low.tensors[state.src].shape
    if shape[-1] != ints.shape[1]:
        raise UnsupportedOpError(f"{where(node)}: input has {shape[-1]} features, weights expect {ints.shape[1]}")
    a = aff.a.reshape(-1)[0]
    b = compress(aff.b)
    if any(n != 1 for n in b.shape[:-1]):
        raise UnsupportedOpError(f"{where(node)}: input offset varies across tokens")
    b = np.broadcast_to(b.reshape(-1), (shape[-1],))
    oc = ints.shape[0]
    gain = [alpha * a * ws for ws in wscale]
    offset = [alpha * ws * dot for ws, dot in zip(wscale, weighted_sums(ints, b))]
    if bias is not None:
        check_broadcast(np.shape(bias), (1, oc), where(node), "the bias")
        offset = [o + beta * frac(v) for o, v in zip(offset, np.broadcast_to(bias, (1, oc)).reshape(-1))]
    int_bias, offset = _split_integer_bias(node, gain, offset, quantized_bias)
    out_shape = shape[:-1] + (oc,)
    out = low.add_dot_product(ir.Dense, node, state, ints, int_bias, out_shape, weight_type)
    rank = len(out_shape)
    chain_rank = (1,) * (rank - 1)
    low.set(node, State(out, _affine_chain(rank, gain, offset, chain_rank + (len(gain),))))


def weighted_sums(ints: np.ndarray, b) -> list[Fraction]:
    """Exactly sum_k ints[o, k] * b[k] per row o, for integer weights and rational b (integer matrix product)."""
    b = [Fraction(v) for v in np.asarray(b, dtype=object).reshape(-1).tolist()]
    if all(v == 0 for v in b):
        return [Fraction(0)] * ints.shape[0]
    if all(v == b[0] for v in b):
        return [b[0] * int(s) for s in _int_matmul(ints, np.ones(len(b), dtype=np.int64))]
    den = math.lcm(*(v.denominator for v in b))
    nums = [int(v * den) for v in b]
    return [Fraction(int(s), den) for s in _int_matmul(ints, nums)]


def _int_matmul(ints: np.ndarray, vector) -> list[int]:
    """ints @ vector exactly: in int64 when no partial sum can reach 2**62, else with Python ints."""
    w_max = max(-int(ints.min()), int(ints.max())) if ints.size else 0
    v_max = max((abs(int(v)) for v in vector), default=0)
    if w_max * v_max * max(ints.shape[1], 1) < _INT64_SAFE:
        return (ints.astype(np.int64) @ np.asarray(vector, dtype=np.int64)).tolist()
    return (ints.astype(object) @ np.asarray(list(vector), dtype=object)).tolist()


def _split_integer_bias(node, gain, offset, quantized_bias: bool):
    """A quantized bias enters the accumulator as the integer nearest offset / gain (its code, for Int32Bias).

    The remainder (the bias scale in the file is float32(s_in * s_w), not the exact product) stays in the
    chain's offset, so the split is exact. A float bias stays wholly in the offset (thresholds absorb it).
    """
    if not quantized_bias or any(g == 0 for g in gain):
        return None, offset
    q = [round(o / g) for o, g in zip(offset, gain)]
    check_width(node, "its integer bias", min(q), max(q), "narrow the bias or widen its scale")
    return np.array(q, dtype=np.int64), [o - v * g for o, v, g in zip(offset, q, gain)]


def _affine_chain(rank, gain, offset, shape):
    return Chain(rank).then(Affine(compress(_obj(gain).reshape(shape)), compress(_obj(offset).reshape(shape))))


def _obj(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def gemm(low: Lowering, node) -> None:
    if low.attr_flag(node, "transA", 0):
        raise UnsupportedOpError(f"Gemm node {node.name!r}: transA=1 is not supported")
    trans_b = low.attr_flag(node, "transB", 0)
    alpha, beta = low.attr_float(node, "alpha", 1.0), low.attr_float(node, "beta", 1.0)
    state = low.state(node, 0)
    if len(low.tensors[state.src].shape) != 1:
        raise UnsupportedOpError(
            f"Gemm node {node.name!r}: the input must be a matrix, not of shape {(1,) + low.tensors[state.src].shape}"
        )
    weight = low.quant_const(node, 1, "the weight")
    if weight.ints.ndim != 2:
        raise UnsupportedOpError(f"Gemm node {node.name!r}: weights must be a matrix, not of shape {weight.ints.shape}")
    ints = weight.ints if trans_b else weight.ints.T
    wscale = weight.channel_scale(0 if trans_b else 1, where(node))
    bias = low.const(node, 2, "the bias")
    _dense_from(low, node, state, ints, wscale, bias, low.is_quant_const(node, 2), weight.dtype, alpha, beta)


def matmul(low: Lowering, node) -> None:
    state = low.state(node, 0)
    weight = low.quant_const(node, 1, "the weight")
    if weight.ints.ndim != 2:
        raise UnsupportedOpError(f"MatMul node {node.name!r}: weights must be a matrix")
    if not low.tensors[state.src].shape:
        raise UnsupportedOpError(f"MatMul node {node.name!r}: the input must have a feature axis")
    wscale = weight.channel_scale(1, where(node))
    _dense_from(low, node, state, weight.ints.T, wscale, None, False, weight.dtype)


def conv(low: Lowering, node) -> None:
    here = where(node)
    state = low.state(node, 0)
    weight = low.quant_const(node, 1, "the weight")
    ints = weight.ints
    shape = low.tensors[state.src].shape
    geo = conv_attrs(low, node, ints.shape, shape)
    aff, a_c = channel_scales(low, state, node, "the input", geo.group)
    b = compress(aff.b)
    if any(n != 1 for n in b.shape[1:]):
        raise UnsupportedOpError(f"{here}: the input offset varies within a channel")
    b_c = np.broadcast_to(b.reshape(-1), (shape[0],)).tolist()
    pad_value = _pad_code(low, node, state, a_c, b_c) if any(geo.pads) else 0
    wscale = weight.channel_scale(0, here)
    oc, icg = ints.shape[:2]
    per_group = oc // geo.group
    gain = [a_c[(o // per_group) * icg] * ws for o, ws in enumerate(wscale)]  # one input scale per group
    sums = _tap_sums(ints.reshape(oc, icg, -1))
    offset = []
    for g in range(geo.group):
        rows = slice(g * per_group, (g + 1) * per_group)
        dots = weighted_sums(sums[rows], b_c[g * icg : (g + 1) * icg])
        offset.extend(ws * d for ws, d in zip(wscale[rows], dots))
    bias = low.const(node, 2, "the bias")
    if bias is not None:
        if bias.shape != (oc,):
            raise UnsupportedOpError(f"{here}: the bias has shape {bias.shape}, not ({oc},)")
        offset = [o + frac(v) for o, v in zip(offset, bias)]
    int_bias, offset = _split_integer_bias(node, gain, offset, low.is_quant_const(node, 2))
    out_shape = (oc,) + geo.out_spatial
    check_inferred(low, node, out_shape)
    out = low.add_dot_product(
        ir.Conv,
        node,
        state,
        ints,
        int_bias,
        out_shape,
        weight.dtype,
        strides=geo.strides,
        pads=geo.pads,
        dilations=geo.dilations,
        group=geo.group,
        pad_value=pad_value,
    )
    rank = len(out_shape)
    low.set(node, State(out, _affine_chain(rank, gain, offset, (oc,) + (1,) * (rank - 1))))


def _tap_sums(w: np.ndarray) -> np.ndarray:
    """Sum over the last axis (the kernel taps), exactly: int64 when it cannot overflow, else Python ints."""
    w_max = max(-int(w.min()), int(w.max())) if w.size else 0
    return (w if w_max * max(w.shape[-1], 1) < _INT64_SAFE else w.astype(object)).sum(axis=-1)


def _pad_code(low: Lowering, node, state: State, a_c, b_c) -> int:
    """The input code of the value 0, which zero padding inserts: one integer for every channel (scale a_c,
    offset b_c), inside the input range."""
    codes = {-bc / ac for ac, bc in zip(a_c, b_c)}
    if len(codes) != 1 or next(iter(codes)).denominator != 1:
        raise UnsupportedOpError(f"{where(node)}: zero padding needs the value 0 to be an integer code of the input")
    code = int(next(iter(codes)))
    src = low.tensors[state.src]
    if not src.lo <= code <= src.hi:
        raise UnsupportedOpError(
            f"{where(node)}: zero padding inserts the code {code}, outside the input's range [{src.lo}, {src.hi}]"
        )
    return code


def batchnorm(low: Lowering, node) -> None:
    here = where(node)
    state = low.state(node, 0)
    low.attr_int(node, "training_mode", 0, (0,))
    shape = low.tensors[state.src].shape
    if not shape:
        raise UnsupportedOpError(f"{here}: the input has no channel axis")
    rank = state.chain.rank
    eps = low.attr_float(node, "epsilon", 1e-5)
    names = ("scale", "bias", "mean", "var")
    params = [low.const(node, i, name) for i, name in enumerate(names, 1)]
    for name, p in zip(names, params):
        if p.shape != (shape[0],):
            raise UnsupportedOpError(f"{here}: {name} has shape {p.shape}, not ({shape[0]},) for the channels")
    gain, offset = [], []
    for c, (g, bt, m, v) in enumerate(zip(*(np.asarray(p, dtype=np.float32) for p in params))):
        if frac(v) + eps <= 0:
            raise UnsupportedOpError(
                f"{here}: var + epsilon must be positive, not {float(frac(v) + eps)} (channel {c})"
            )
        k = frac(g) / exact_sqrt(frac(v) + eps)
        gain.append(k)
        offset.append(frac(bt) - frac(m) * k)
    pshape = (len(gain),) + (1,) * (rank - 1)
    _extend(low, node, state, Affine(compress(_obj(gain).reshape(pshape)), compress(_obj(offset).reshape(pshape))))


def relu(low: Lowering, node) -> None:
    state = low.state(node, 0)
    rank = state.chain.rank
    _extend(low, node, state, Clamp(frac_array(0, rank), none_array(rank)))


def clip(low: Lowering, node) -> None:
    state = low.state(node, 0)
    rank = state.chain.rank
    full = (1,) + low.tensors[state.src].shape
    bounds = []
    for index, name in ((1, "min"), (2, "max")):
        if len(node.input) > index:
            value = low.const(node, index, name)
        else:
            value = low.attr_float(node, name, None)
        bounds.append(none_array(rank) if value is None else sample_param(value, full, where(node), name))
    if all(v is not None for v in bounds[0].reshape(-1)) and all(v is not None for v in bounds[1].reshape(-1)):
        lo, hi = np.broadcast_arrays(*bounds)
        if np.any(lo > hi):
            raise UnsupportedOpError(f"{where(node)}: min {float(np.max(lo))} is greater than max {float(np.min(hi))}")
    _extend(low, node, state, Clamp(*bounds))


def elementwise(low: Lowering, node) -> None:
    """Mul/Div/Add/Sub by a float constant extend the chain; Add of two activations is a residual add; on the
    float model input they are preprocessing, which the host computes (fpgaq.frontend.preprocess)."""
    if reads_raw_input(low, node):
        fold_preprocessing(low, node)
        return
    if node.op_type == "Add" and not low.is_const(node, 0) and not low.is_const(node, 1):
        residual_add(low, node)
        return
    const_index = 1 if low.is_const(node, 1) else 0
    if not low.is_const(node, const_index):
        raise UnsupportedOpError(f"{where(node)}: one input must be a constant")
    if const_index == 0 and node.op_type in ("Sub", "Div"):
        raise UnsupportedOpError(f"{where(node)}: the constant must be the second input")
    state = low.state(node, 1 - const_index)
    rank = state.chain.rank
    full = (1,) + low.tensors[state.src].shape
    c = sample_param(low.const(node, const_index, "the constant"), full, where(node), "the constant")
    one, zero = frac_array(1, rank), frac_array(0, rank)
    if node.op_type == "Div" and any(v == 0 for v in c.reshape(-1)):
        raise UnsupportedOpError(f"Div node {node.name!r}: division by zero")
    step = {
        "Mul": lambda: Affine(c, zero),
        "Div": lambda: Affine(1 / c, zero),
        "Add": lambda: Affine(one, c),
        "Sub": lambda: Affine(one, -c),
    }[node.op_type]()
    _extend(low, node, state, step)


def _extend(low, node, state: State, step) -> None:
    low.set(node, State(state.src, state.chain.then(step)))


def residual_add(low: Lowering, node) -> None:
    """x0 + x1 of two quantized tensors: integer multipliers on each code, the common scale in the chain."""
    here = where(node)
    states = [low.state(node, 0), low.state(node, 1)]
    affs = [input_affine(s, node, f"input {i}", low) for i, s in enumerate(states)]
    shape = low.tensors[states[0].src].shape
    if low.tensors[states[1].src].shape != shape:
        raise UnsupportedOpError(f"{here}: broadcasting adds are not supported")
    a0, a1 = (aff.a.reshape(-1)[0] for aff in affs)
    unit = _gcd_fraction(a0, a1)
    m0, m1 = int(a0 / unit), int(a1 / unit)
    t0, t1 = (low.tensors[s.src] for s in states)
    terms = [sorted((m * t.lo, m * t.hi)) for m, t in ((m0, t0), (m1, t1))]
    for i, (t_lo, t_hi) in enumerate(terms):
        check_width(node, f"its Add term {i}", t_lo, t_hi, "bring the scales of its inputs closer")
    lo, hi = terms[0][0] + terms[1][0], terms[0][1] + terms[1][1]
    rank = len(shape)
    out = low.add_node(
        ir.Add,
        node,
        [s.src for s in states],
        shape,
        IntType.for_range(lo, hi),
        lo,
        hi,
        scale0=ir.frozen_array(m0),
        scale1=ir.frozen_array(m1),
    )
    offset = compress(np.broadcast_to(affs[0].b, shape) + np.broadcast_to(affs[1].b, shape))
    low.set(node, State(out, Chain(rank).then(Affine(frac_array(unit, rank), offset))))


def _gcd_fraction(x: Fraction, y: Fraction) -> Fraction:
    den = math.lcm(x.denominator, y.denominator)
    return Fraction(math.gcd(int(x * den), int(y * den)), den)


def maxpool(low: Lowering, node) -> None:
    here = where(node)
    state = low.state(node, 0)
    src = low.tensors[state.src]
    geo = pool_attrs(low, node, src.shape)
    chain = state.chain
    pshape = chain.param_shape()
    if any(n != 1 for n in pshape[1:]):
        raise UnsupportedOpError(f"{here}: the pending float ops vary along the pooled axes")
    sign = np.array([_direction(chain, (c,) + (0,) * (len(pshape) - 1)) for c in range(pshape[0])], dtype=np.int64)
    sign = sign.reshape((pshape[0],) + (1,) * (len(pshape) - 1))
    out_shape = src.shape[:1] + geo.out_spatial
    check_inferred(low, node, out_shape)
    out = low.add_node(
        ir.MaxPool,
        node,
        [state.src],
        out_shape,
        src.dtype,
        src.lo,
        src.hi,
        kernel=geo.kernel,
        strides=geo.strides,
        pads=geo.pads,
        dilations=geo.dilations,
        sign=ir.frozen_array(sign),
    )
    low.set(node, State(out, chain, state.quant if _scalar_quant(state.quant) else None))


def _direction(chain, index) -> int:
    """+1 when the chain is non-decreasing at this element, -1 when decreasing (product of affine slopes)."""
    sign = 1
    for step, i in chain.scalar_steps(index):
        if isinstance(step, Affine):
            a = step.a[tuple(0 if n == 1 else k for n, k in zip(step.a.shape, i))]
            sign *= (a > 0) - (a < 0)
    return -1 if sign < 0 else 1


def _scalar_quant(quant) -> bool:
    return quant is not None and quant[0].size == 1 and quant[1].size == 1


def average_pool(low: Lowering, node) -> None:
    here = where(node)
    state = low.state(node, 0)
    in_shape = low.tensors[state.src].shape
    if len(in_shape) < 2:
        raise UnsupportedOpError(f"{here}: the input needs a channel axis and spatial axes, not shape {in_shape}")
    keep_dims = True
    if node.op_type == "AveragePool":
        geo = pool_attrs(low, node, in_shape)
        if any(d != 1 for d in geo.dilations):
            raise UnsupportedOpError(f"{here}: dilated average pooling is not supported")
        if any(geo.pads) and not low.attr_flag(node, "count_include_pad", 0):
            raise UnsupportedOpError(f"{here}: padding with count_include_pad=0 is not supported")
        kernel, strides, pads, out_shape = geo.kernel, geo.strides, geo.pads, in_shape[:1] + geo.out_spatial
    else:
        if node.op_type == "ReduceMean":
            _check_spatial_mean(low, node, len(in_shape))
            keep_dims = low.attr_flag(node, "keepdims", 1)
        kernel, strides, pads = tuple(in_shape[1:]), tuple(in_shape[1:]), (0,) * (2 * (len(in_shape) - 1))
        out_shape = in_shape[:1] + (1,) * (len(in_shape) - 1)
    check_inferred(low, node, out_shape if keep_dims else in_shape[:1])
    aff = state.chain.affine()
    if aff is None or any(n != 1 for n in aff.a.shape[1:] + aff.b.shape[1:]):
        raise UnsupportedOpError(f"{here}: the input must be a quantized tensor with per-channel parameters")
    pad_value = 0
    if any(pads):
        if any(av == 0 for av in aff.a.reshape(-1)):
            raise UnsupportedOpError(f"{here}: the input has scale 0")
        codes = {-bv / av for av in aff.a.reshape(-1) for bv in aff.b.reshape(-1)}
        if len(codes) != 1 or next(iter(codes)).denominator != 1:
            raise UnsupportedOpError(f"{here}: zero padding needs the value 0 to be an integer code of the input")
        pad_value = int(next(iter(codes)))
    count = int(np.prod(kernel))
    src = low.tensors[state.src]
    lo, hi = count * min(src.lo, pad_value), count * max(src.hi, pad_value)
    out = low.add_node(
        ir.SumPool,
        node,
        [state.src],
        out_shape,
        IntType.for_range(lo, hi),
        lo,
        hi,
        kernel=kernel,
        strides=strides,
        pads=pads,
        pad_value=pad_value,
    )
    rank = len(in_shape)
    result = State(out, Chain(rank).then(Affine(aff.a / count, aff.b)))
    if not keep_dims:
        from fpgaq.frontend.ops_shape import reshape_state

        result = reshape_state(low, node, result, in_shape[:1])
    low.set(node, result)


def _check_spatial_mean(low, node, rank):
    axes = low.attr_ints(node, "axes", None)
    if axes is None and len(node.input) > 1 and node.input[1]:
        values = low.const(node, 1, "axes").reshape(-1)
        if not np.all(values == np.round(values)):
            raise ModelError(f"{where(node)}: axes must be integers, not {values.tolist()}")
        axes = [int(v) for v in values]
    if axes and any(not -(rank + 1) <= a <= rank for a in axes):
        raise ModelError(f"{where(node)}: axes {list(axes)} are out of range for a tensor of rank {rank + 1}")
    axes = sorted(int(a) % (rank + 1) for a in (axes or []))
    if axes != list(range(2, rank + 1)):
        raise UnsupportedOpError(
            f"{where(node)}: only a mean over all spatial axes (global average pooling) is supported"
        )


HANDLERS = {
    "Gemm": gemm,
    "MatMul": matmul,
    "Conv": conv,
    "BatchNormalization": batchnorm,
    "Relu": relu,
    "Clip": clip,
    "Mul": elementwise,
    "Div": elementwise,
    "Add": elementwise,
    "Sub": elementwise,
    "MaxPool": maxpool,
    "AveragePool": average_pool,
    "GlobalAveragePool": average_pool,
    "ReduceMean": average_pool,
}
ARITY = {
    "Gemm": (2, 3),
    "MatMul": (2, 2),
    "Conv": (2, 3),
    "BatchNormalization": (5, 5),
    "Relu": (1, 1),
    "Clip": (1, 3),
    "Mul": (2, 2),
    "Div": (2, 2),
    "Add": (2, 2),
    "Sub": (2, 2),
    "MaxPool": (1, 1),
    "AveragePool": (1, 1),
    "GlobalAveragePool": (1, 1),
    "ReduceMean": (1, 2),
}
