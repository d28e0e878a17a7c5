"""Shape ops (Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Identity) on integer tensors.

The integer tensor is reshaped by an IR node; the parameters of its pending chain are reshaped with it. On the
float model input (before its quantizer) the ops are kept pending in a RawInput (see fpgaq.frontend.context).
"""

from __future__ import annotations

import numpy as np

from fpgaq.errors import ModelError, UnsupportedOpError
from fpgaq.frontend.context import Lowering, State, where
from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Chain, compress
from fpgaq.ir.types import IntType


def _map_chain(chain: Chain, fn, rank: int) -> Chain:
    return Chain(rank, tuple(step.rebuild(tuple(compress(fn(a)) for a in step.arrays())) for step in chain.steps))


def _keep_quant(state: State):
    quant = state.quant
    return quant if quant is not None and quant[0].size == 1 and quant[1].size == 1 else None


def reshape_state(low: Lowering, node, state: State, new_shape) -> State:
    old_shape = low.tensors[state.src].shape
    new_shape = tuple(int(d) for d in new_shape)
    if int(np.prod(old_shape)) != int(np.prod(new_shape)):
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: reshape changes the batch axis")
    if new_shape == old_shape:
        return state
    src = low.tensors[state.src]
    out = low.add_node(ir.Reshape, node, [state.src], new_shape, src.dtype, src.lo, src.hi, shape=new_shape)
    chain = _map_chain(state.chain, lambda a: np.broadcast_to(a, old_shape).reshape(new_shape), len(new_shape))
    return State(out, chain, _keep_quant(state))


def reshape(low: Lowering, node) -> None:
    """Flatten, Reshape, Squeeze, Unsqueeze: the output shape comes from qonnx's shape inference."""
    if node.op_type == "Flatten" and low.attr_int(node, "axis", 1) != 1:
        raise UnsupportedOpError(f"Flatten node {node.name!r}: only axis=1 (keep the batch axis) is supported")
    raw = low.raw(node)
    in_full, out_full = low.full_shape(node.input[0]), low.full_shape(node.output[0])
    if node.op_type in ("Squeeze", "Unsqueeze"):
        _check_axes(low, node, len(in_full) if node.op_type == "Squeeze" else len(out_full))
    if not out_full or out_full[0] != in_full[0]:
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: reshape changes the batch axis")
    if raw is not None:
        if int(np.prod(raw.shape)) != int(np.prod(out_full[1:])):
            raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: reshape changes the batch axis")
        shape = tuple(out_full[1:])
        low.set(node, raw if shape == raw.shape else raw.then(node, "reshape", shape, shape))
        return
    low.set(node, reshape_state(low, node, low.state(node, 0), out_full[1:]))


def _check_axes(low: Lowering, node, rank: int) -> None:
    """Squeeze/Unsqueeze axes (attribute or input 1) must lie in range and leave the batch axis alone."""
    axes = low.attr_ints(node, "axes", None)
    if axes is None and len(node.input) > 1 and node.input[1]:
        values = low.const(node, 1, "axes").reshape(-1)
        if not np.all(values == np.round(values)):
            raise ModelError(f"{where(node)}: axes must be integers, not {values.tolist()}")
        axes = tuple(int(v) for v in values)
    if axes is None:
        return
    if any(not -rank <= a < rank for a in axes):
        raise ModelError(f"{where(node)}: axes {list(axes)} are out of range for rank {rank}")
    if any(a % rank == 0 for a in axes):
        raise UnsupportedOpError(f"{where(node)}: axes {list(axes)} include the batch axis")


def _sample_perm(low: Lowering, node, rank: int) -> tuple[int, ...]:
    """The Transpose perm without the batch axis, checked: a permutation of 0..rank that keeps axis 0 first."""
    perm = low.attr_ints(node, "perm", tuple(range(rank, -1, -1)))
    if sorted(perm) != list(range(rank + 1)):
        raise ModelError(
            f"Transpose node {node.name!r}: perm {list(perm)} is not a permutation of 0..{rank} (the input has "
            f"{rank + 1} axes)"
        )
    if perm[0] != 0:
        raise UnsupportedOpError(f"Transpose node {node.name!r}: the batch axis must stay first, perm={list(perm)}")
    return tuple(p - 1 for p in perm[1:])


def transpose(low: Lowering, node) -> None:
    raw = low.raw(node)
    if raw is not None:
        perm = _sample_perm(low, node, len(raw.shape))
        low.set(node, raw.then(node, "transpose", perm, tuple(raw.shape[p] for p in perm)))
        return
    state = low.state(node, 0)
    rank = state.chain.rank
    sample_perm = _sample_perm(low, node, rank)
    src = low.tensors[state.src]
    shape = tuple(src.shape[p] for p in sample_perm)
    out = low.add_node(ir.Transpose, node, [state.src], shape, src.dtype, src.lo, src.hi, perm=sample_perm)
    chain = _map_chain(state.chain, lambda a: a.transpose(sample_perm), rank)
    low.set(node, State(out, chain, _keep_quant(state)))


def concat(low: Lowering, node) -> None:
    here = where(node)
    states = [low.state(node, i) for i in range(len(node.input))]
    rank = states[0].chain.rank
    axis = low.attr_int(node, "axis", None)
    if axis is None:
        raise ModelError(f"{here}: attribute axis is missing")
    if not -(rank + 1) <= axis <= rank:
        raise ModelError(f"{here}: axis {axis} is out of range for tensors of rank {rank + 1}")
    axis %= rank + 1
    if axis == 0:
        raise UnsupportedOpError(f"{here}: concatenation along the batch axis is not supported")
    shapes = [low.tensors[s.src].shape for s in states]
    if any(len(s) != rank or s[: axis - 1] + s[axis:] != shapes[0][: axis - 1] + shapes[0][axis:] for s in shapes):
        raise ModelError(f"{here}: the input shapes {[list(s) for s in shapes]} differ outside axis {axis}")
    kinds = {tuple((type(s).__name__, getattr(s, "mode", None)) for s in st.chain.steps) for st in states}
    if len(kinds) != 1:
        raise UnsupportedOpError(f"{here}: the inputs carry different pending float ops; quantize them first")
    steps = []
    for k, step in enumerate(states[0].chain.steps):
        arrays = []
        for j in range(len(step.arrays())):
            parts = [np.broadcast_to(s.chain.steps[k].arrays()[j], shp) for s, shp in zip(states, shapes)]
            arrays.append(compress(np.concatenate(parts, axis=axis - 1)))
        steps.append(step.rebuild(tuple(arrays)))
    tensors = [low.tensors[s.src] for s in states]
    lo, hi = min(t.lo for t in tensors), max(t.hi for t in tensors)
    dtype = max(t.dtype for t in tensors) if len({t.dtype for t in tensors}) == 1 else IntType.for_range(lo, hi)
    out_shape = list(shapes[0])
    out_shape[axis - 1] = sum(s[axis - 1] for s in shapes)
    out = low.add_node(ir.Concat, node, [s.src for s in states], tuple(out_shape), dtype, lo, hi, axis=axis - 1)
    quants = {None if q is None else (q[0].tobytes(), q[1].tobytes(), q[2]) for q in (_keep_quant(s) for s in states)}
    low.set(node, State(out, Chain(rank, tuple(steps)), _keep_quant(states[0]) if len(quants) == 1 else None))


def identity(low: Lowering, node) -> None:
    value = low.values.get(node.input[0])
    low.set(node, value if low.is_const(node, 0) or low.raw(node) is not None else low.state(node, 0))


HANDLERS = {
    "Flatten": reshape,
    "Reshape": reshape,
    "Squeeze": reshape,
    "Unsqueeze": reshape,
    "Transpose": transpose,
    "Concat": concat,
    "Identity": identity,
}
ARITY = {
    "Flatten": (1, 1),
    "Reshape": (1, 2),
    "Squeeze": (1, 2),
    "Unsqueeze": (1, 2),
    "Transpose": (1, 1),
    "Concat": (1, None),
    "Identity": (1, 1),
}
