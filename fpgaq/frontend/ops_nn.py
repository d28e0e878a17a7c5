"""Dot products (Gemm, MatMul, Conv), float ops that extend a chain, pooling and the residual Add."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from fpgaq.errors import UnsupportedOpError
from fpgaq.frontend.consts import exact_sqrt
from fpgaq.frontend.context import Lowering, State, frac, input_affine
from fpgaq.frontend.ops_quant import sample_param
from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Affine, Chain, Clamp, compress, frac_array, none_array
from fpgaq.ir.types import IntType


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
    aff = input_affine(state, node, "the input")
    shape = low.tensors[state.src].shape
    if shape[-1] != ints.shape[1]:
        raise UnsupportedOpError(
            f"{node.op_type} node {node.name!r}: input has {shape[-1]} features, weights expect {ints.shape[1]}"
        )
    a = aff.a.reshape(-1)[0]
    b = np.broadcast_to(aff.b, (1,) * (len(shape) - 1) + (shape[-1],)).reshape(-1, shape[-1])
    if len(set(map(tuple, b.tolist()))) != 1:
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: input offset varies across tokens")
    b = b[0]
    gain = [alpha * a * ws for ws in wscale]
    offset = [alpha * ws * sum(int(w) * bk for w, bk in zip(row, b) if w) for ws, row in zip(wscale, ints.tolist())]
    if bias is not None:
        offset = [o + beta * frac(v) for o, v in zip(offset, np.asarray(bias).reshape(-1))]
    int_bias, offset = _split_integer_bias(gain, offset, quantized_bias)
    out_shape = shape[:-1] + (ints.shape[0],)
    out = low.add_dot_product(ir.Dense, node, state, ints, int_bias, out_shape, weight_type)
    rank = len(out_shape)
    chain_rank = (1,) * (rank - 1)
    low.set(node, State(out, _affine_chain(rank, gain, offset, chain_rank + (len(gain),))))


def _split_integer_bias(gain, offset, quantized_bias: bool):
    """A quantized bias enters the accumulator as the integer nearest offset / gain (its code, for Int32Bias).

    The remainder (the bias scale in the file is float32(s_in * s_w), not the exact product) stays in the
    chain's offset, so the split is exact. A float bias stays wholly in the offset (thresholds absorb it).
    """
    if not quantized_bias or any(g == 0 for g in gain):
        return None, offset
    q = [round(o / g) for o, g in zip(offset, gain)]
    return np.array(q, dtype=np.int64), [o - v * g for o, v, g in zip(offset, q, gain)]


def _affine_chain(rank, gain, offset, shape):

    return Chain(rank).then(Affine(compress(_obj(gain).reshape(shape)), compress(_obj(offset).reshape(shape))))


def _obj(values) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def gemm(low: Lowering, node) -> None:
    if low.attr(node, "transA", 0):
        raise UnsupportedOpError(f"Gemm node {node.name!r}: transA=1 is not supported")
    state = low.state(node, 0)
    weight = low.quant_const(node, 1, "the weight")
    ints = weight.ints if low.attr(node, "transB", 0) else weight.ints.T
    axis = 0 if low.attr(node, "transB", 0) else 1
    wscale = weight.channel_scale(axis, f"Gemm node {node.name!r}")
    bias = low.const(node, 2, "the bias")
    _dense_from(
        low,
        node,
        state,
        ints,
        wscale,
        bias,
        low.is_quant_const(node, 2),
        weight.dtype,
        frac(low.attr(node, "alpha", 1.0)),
        frac(low.attr(node, "beta", 1.0)),
    )


def matmul(low: Lowering, node) -> None:
    state = low.state(node, 0)
    weight = low.quant_const(node, 1, "the weight")
    if weight.ints.ndim != 2:
        raise UnsupportedOpError(f"MatMul node {node.name!r}: weights must be a matrix")
    wscale = weight.channel_scale(1, f"MatMul node {node.name!r}")
    _dense_from(low, node, state, weight.ints.T, wscale, None, False, weight.dtype)


def conv(low: Lowering, node) -> None:
    where = f"Conv node {node.name!r}"
    state = low.state(node, 0)
    weight = low.quant_const(node, 1, "the weight")
    ints = weight.ints
    nd = ints.ndim - 2
    if nd not in (1, 2):
        raise UnsupportedOpError(f"{where}: only 1D and 2D convolutions are supported")
    if low.attr(node, "auto_pad", "NOTSET") != "NOTSET":
        raise UnsupportedOpError(f"{where}: auto_pad is not supported; export with explicit pads")
    group = int(low.attr(node, "group", 1))
    strides = tuple(low.attr(node, "strides", [1] * nd))
    dilations = tuple(low.attr(node, "dilations", [1] * nd))
    pads = tuple(low.attr(node, "pads", [0] * 2 * nd))
    aff = input_affine(state, node, "the input")
    shape = low.tensors[state.src].shape
    channels = shape[0]
    a = aff.a.reshape(-1)[0]
    b = np.broadcast_to(aff.b, shape)
    b_per_channel = b.reshape(channels, -1)
    if any(len(set(row)) != 1 for row in b_per_channel.tolist()):
        raise UnsupportedOpError(f"{where}: the input offset varies within a channel")
    b_c = [row[0] for row in b_per_channel.tolist()]
    pad_value = 0
    if any(pads):
        pad_codes = {-bc / a for bc in b_c}
        if len(pad_codes) != 1 or next(iter(pad_codes)).denominator != 1:
            raise UnsupportedOpError(f"{where}: zero padding needs the value 0 to be an integer code of the input")
        pad_value = int(next(iter(pad_codes)))
    wscale = weight.channel_scale(0, where)
    oc, icg = ints.shape[:2]
    per_group = oc // group
    gain = [a * ws for ws in wscale]
    offset = []
    for o in range(oc):
        g = o // per_group
        sums = ints[o].reshape(icg, -1).sum(axis=1).tolist()
        offset.append(wscale[o] * sum(int(s) * b_c[g * icg + c] for c, s in enumerate(sums) if s))
    bias = low.const(node, 2, "the bias")
    if bias is not None:
        offset = [o + frac(v) for o, v in zip(offset, np.asarray(bias).reshape(-1))]
    int_bias, offset = _split_integer_bias(gain, offset, low.is_quant_const(node, 2))
    out_shape = low.sample_shape(node.output[0])
    out = low.add_dot_product(
        ir.Conv,
        node,
        state,
        ints,
        int_bias,
        out_shape,
        weight.dtype,
        strides=strides,
        pads=pads,
        dilations=dilations,
        group=group,
        pad_value=pad_value,
    )
    rank = len(out_shape)
    low.set(node, State(out, _affine_chain(rank, gain, offset, (oc,) + (1,) * (rank - 1))))


def batchnorm(low: Lowering, node) -> None:
    state = low.state(node, 0)
    rank = state.chain.rank
    eps = frac(low.attr(node, "epsilon", 1e-5))
    gamma, beta, mean, var = (low.const(node, i, n) for i, n in enumerate(("scale", "bias", "mean", "var"), 1))
    gain, offset = [], []
    for g, bt, m, v in zip(*(np.asarray(p, dtype=np.float32).reshape(-1) for p in (gamma, beta, mean, var))):
        k = frac(g) / exact_sqrt(frac(v) + eps)
        gain.append(k)
        offset.append(frac(bt) - frac(m) * k)
    shape = (len(gain),) + (1,) * (rank - 1)
    _extend(low, node, state, Affine(compress(_obj(gain).reshape(shape)), compress(_obj(offset).reshape(shape))))


def relu(low: Lowering, node) -> None:
    state = low.state(node, 0)
    rank = state.chain.rank
    _extend(low, node, state, Clamp(frac_array(0, rank), none_array(rank)))


def clip(low: Lowering, node) -> None:
    state = low.state(node, 0)
    rank = state.chain.rank
    bounds = []
    for index, attr in ((1, "min"), (2, "max")):
        value = low.const(node, index, attr) if len(node.input) > index else low.attr(node, attr)
        bounds.append(none_array(rank) if value is None else sample_param(value, rank + 1, node.name))
    _extend(low, node, state, Clamp(*bounds))


def elementwise(low: Lowering, node) -> None:
    """Mul/Div/Add/Sub by a float constant extend the chain; Add of two activations is a residual add."""
    if node.op_type == "Add" and not low.is_const(node, 0) and not low.is_const(node, 1):
        residual_add(low, node)
        return
    const_index = 1 if low.is_const(node, 1) else 0
    if not low.is_const(node, const_index):
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: one input must be a constant")
    if const_index == 0 and node.op_type in ("Sub", "Div"):
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: the constant must be the second input")
    state = low.state(node, 1 - const_index)
    rank = state.chain.rank
    c = sample_param(low.const(node, const_index, "the constant"), rank + 1, f"{node.op_type} node {node.name!r}")
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
    where = f"Add node {node.name!r}"
    states = [low.state(node, 0), low.state(node, 1)]
    affs = [input_affine(s, node, f"input {i}") for i, s in enumerate(states)]
    shape = low.sample_shape(node.output[0])
    for s in states:
        if low.tensors[s.src].shape != shape:
            raise UnsupportedOpError(f"{where}: broadcasting adds are not supported")
    a0, a1 = (aff.a.reshape(-1)[0] for aff in affs)
    unit = _gcd_fraction(a0, a1)
    m0, m1 = int(a0 / unit), int(a1 / unit)
    t0, t1 = (low.tensors[s.src] for s in states)
    lo = min(m0 * t0.lo, m0 * t0.hi) + min(m1 * t1.lo, m1 * t1.hi)
    hi = max(m0 * t0.lo, m0 * t0.hi) + max(m1 * t1.lo, m1 * t1.hi)
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
    from math import gcd, lcm

    den = lcm(x.denominator, y.denominator)
    return Fraction(gcd(int(x * den), int(y * den)), den)


def maxpool(low: Lowering, node) -> None:
    where = f"MaxPool node {node.name!r}"
    state = low.state(node, 0)
    kernel, strides, pads, dilations = _pool_attrs(low, node, where)
    chain = state.chain
    pshape = chain.param_shape()
    if any(n != 1 for n in pshape[1:]):
        raise UnsupportedOpError(f"{where}: the pending float ops vary along the pooled axes")
    sign = np.array([_direction(chain, (c,) + (0,) * (len(pshape) - 1)) for c in range(pshape[0])], dtype=np.int64)
    sign = sign.reshape((pshape[0],) + (1,) * (len(pshape) - 1))
    src = low.tensors[state.src]
    out = low.add_node(
        ir.MaxPool,
        node,
        [state.src],
        low.sample_shape(node.output[0]),
        src.dtype,
        src.lo,
        src.hi,
        kernel=kernel,
        strides=strides,
        pads=pads,
        dilations=dilations,
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


def _pool_attrs(low, node, where):
    kernel = tuple(low.attr(node, "kernel_shape"))
    nd = len(kernel)
    if low.attr(node, "auto_pad", "NOTSET") != "NOTSET" or low.attr(node, "ceil_mode", 0):
        raise UnsupportedOpError(f"{where}: auto_pad and ceil_mode are not supported")
    strides = tuple(low.attr(node, "strides", [1] * nd))
    pads = tuple(low.attr(node, "pads", [0] * 2 * nd))
    dilations = tuple(low.attr(node, "dilations", [1] * nd))
    return kernel, strides, pads, dilations


def average_pool(low: Lowering, node) -> None:
    where = f"{node.op_type} node {node.name!r}"
    state = low.state(node, 0)
    in_shape = low.tensors[state.src].shape
    if node.op_type == "AveragePool":
        kernel, strides, pads, dilations = _pool_attrs(low, node, where)
        if any(d != 1 for d in dilations):
            raise UnsupportedOpError(f"{where}: dilated average pooling is not supported")
        if any(pads) and not low.attr(node, "count_include_pad", 0):
            raise UnsupportedOpError(f"{where}: padding with count_include_pad=0 is not supported")
    else:
        if node.op_type == "ReduceMean":
            _check_spatial_mean(low, node, where, len(in_shape))
        kernel, strides, pads = tuple(in_shape[1:]), tuple(in_shape[1:]), (0,) * (2 * (len(in_shape) - 1))
    aff = state.chain.affine()
    if aff is None or any(n != 1 for n in aff.a.shape[1:] + aff.b.shape[1:]):
        raise UnsupportedOpError(f"{where}: the input must be a quantized tensor with per-channel parameters")
    pad_value = 0
    if any(pads):
        codes = {-bv / av for av in aff.a.reshape(-1) for bv in aff.b.reshape(-1)}
        if len(codes) != 1 or next(iter(codes)).denominator != 1:
            raise UnsupportedOpError(f"{where}: zero padding needs the value 0 to be an integer code of the input")
        pad_value = int(next(iter(codes)))
    count = int(np.prod(kernel))
    src = low.tensors[state.src]
    lo, hi = count * min(src.lo, pad_value), count * max(src.hi, pad_value)
    out_shape = low.sample_shape(node.output[0])
    if len(out_shape) != len(in_shape):  # ReduceMean with keepdims=0
        out_shape = in_shape[:1] + (1,) * (len(in_shape) - 1)
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
    step = Affine(aff.a / count, aff.b)

    result = State(out, Chain(rank).then(step))
    if low.sample_shape(node.output[0]) != out_shape:
        from fpgaq.frontend.ops_shape import reshape_state

        result = reshape_state(low, node, result, low.sample_shape(node.output[0]))
    low.set(node, result)


def _check_spatial_mean(low, node, where, rank):
    axes = low.attr(node, "axes")
    if axes is None and len(node.input) > 1:
        axes = low.const(node, 1, "axes").reshape(-1).tolist()
    axes = sorted(int(a) % (rank + 1) for a in (axes or []))
    if axes != list(range(2, rank + 1)):
        raise UnsupportedOpError(f"{where}: only a mean over all spatial axes (global average pooling) is supported")


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
