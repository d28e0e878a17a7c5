"""Shape ops (Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Identity) on integer tensors.

The integer tensor is reshaped by an IR node; the parameters of its pending chain are reshaped with it.
"""

from __future__ import annotations

import numpy as np

from fpgaq.errors import UnsupportedOpError
from fpgaq.frontend.context import Lowering, State
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
    state = low.state(node, 0)
    in_full, out_full = low.full_shape(node.input[0]), low.full_shape(node.output[0])
    if node.op_type == "Flatten" and low.attr(node, "axis", 1) != 1:
        raise UnsupportedOpError(f"Flatten node {node.name!r}: only axis=1 (keep the batch axis) is supported")
    if not out_full or out_full[0] != in_full[0]:
        raise UnsupportedOpError(f"{node.op_type} node {node.name!r}: reshape changes the batch axis")
    low.set(node, reshape_state(low, node, state, out_full[1:]))


def transpose(low: Lowering, node) -> None:
    state = low.state(node, 0)
    perm = list(low.attr(node, "perm", []))
    rank = state.chain.rank
    if not perm:
        perm = list(range(rank, -1, -1))
    if perm[0] != 0:
        raise UnsupportedOpError(f"Transpose node {node.name!r}: the batch axis must stay first, perm={perm}")
    sample_perm = tuple(p - 1 for p in perm[1:])
    src = low.tensors[state.src]
    shape = tuple(src.shape[p] for p in sample_perm)
    out = low.add_node(ir.Transpose, node, [state.src], shape, src.dtype, src.lo, src.hi, perm=sample_perm)
    chain = _map_chain(state.chain, lambda a: a.transpose(sample_perm), rank)
    low.set(node, State(out, chain, _keep_quant(state)))


def concat(low: Lowering, node) -> None:
    where = f"Concat node {node.name!r}"
    states = [low.state(node, i) for i in range(len(node.input))]
    rank = states[0].chain.rank
    axis = int(low.attr(node, "axis")) % (rank + 1)
    if axis == 0:
        raise UnsupportedOpError(f"{where}: concatenation along the batch axis is not supported")
    kinds = {tuple((type(s).__name__, getattr(s, "mode", None)) for s in st.chain.steps) for st in states}
    if len(kinds) != 1:
        raise UnsupportedOpError(f"{where}: the inputs carry different pending float ops; quantize them first")
    shapes = [low.tensors[s.src].shape for s in states]
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
    out = low.add_node(
        ir.Concat, node, [s.src for s in states], low.sample_shape(node.output[0]), dtype, lo, hi, axis=axis - 1
    )
    quants = {None if q is None else (q[0].tobytes(), q[1].tobytes(), q[2]) for q in (_keep_quant(s) for s in states)}
    low.set(node, State(out, Chain(rank, tuple(steps)), _keep_quant(states[0]) if len(quants) == 1 else None))


def identity(low: Lowering, node) -> None:
    low.set(node, low.values[node.input[0]] if low.is_const(node, 0) else low.state(node, 0))


HANDLERS = {
    "Flatten": reshape,
    "Reshape": reshape,
    "Squeeze": reshape,
    "Unsqueeze": reshape,
    "Transpose": transpose,
    "Concat": concat,
    "Identity": identity,
}
