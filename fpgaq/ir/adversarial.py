"""Adversarial inputs that drive accumulators to the ends of their exact ranges.

For a dot-product layer and each output channel o, the frame whose every input in o's receptive field sits at
the input type's maximum where o's weight is positive and at its minimum elsewhere reaches o's exact maximum
(and the mirror frame its minimum); for a sum pool, all-maximum and all-minimum frames. Fed through
`layer_graph` (the layer alone, with integer codes straight in), they show that a width holds every reachable
value and that one bit less does not.
"""

from __future__ import annotations

import numpy as np

from fpgaq.ir import graph as ir
from fpgaq.ir.chain import Chain
from fpgaq.ir.types import Rounding


def layer_graph(graph: ir.Graph, node: ir.Node) -> ir.Graph:
    """A graph holding only `node`, whose input codes are given directly (single-input layers)."""
    if len(node.inputs) != 1:
        raise ValueError(f"layer {node.name} has {len(node.inputs)} inputs; only single-input layers")
    inp, out = graph.tensors[node.inputs[0]], graph.tensors[node.output]
    one, zero = np.ones((1,) * len(inp.shape), np.float32), np.zeros((1,) * len(inp.shape), np.float32)
    spec = ir.InputSpec(inp.name, "quant", one, zero, inp.dtype.bits, inp.dtype.signed, False, Rounding.ROUND)
    output = ir.OutputSpec(out.name, Chain(len(out.shape)), None, out.shape)
    return ir.Graph(spec, {inp.name: inp, out.name: out}, (node,), output)


def adversarial_codes(graph: ir.Graph, node: ir.Node) -> np.ndarray:
    """Input frames of a single-input layer that drive its result to the ends of its range (for a dot product,
    2 per output channel: max then min). Multi-input layers: adversarial_inputs."""
    if len(node.inputs) != 1:
        raise ValueError(f"layer {node.name} has {len(node.inputs)} inputs; use adversarial_inputs")
    return adversarial_inputs(graph, node)[0]


def adversarial_inputs(graph: ir.Graph, node: ir.Node) -> tuple[np.ndarray, ...]:
    """Frames for each input of a layer (same count for every input) that reach the ends of its result."""
    return FRAMES[type(node)](graph, node)


def _extremes(graph: ir.Graph, node: ir.Node) -> tuple[np.ndarray, ...]:
    """Every input at its maximum, then every input at its minimum: the ends of a monotone layer's range
    (a sum pool, a residual add with non-negative multipliers, a threshold, a max pool, data movement)."""
    frames = []
    for name in node.inputs:
        t = graph.tensors[name]
        frames.append(np.stack([np.full(t.shape, t.hi), np.full(t.shape, t.lo)]).astype(np.int64))
    return tuple(frames)


def _add(graph: ir.Graph, node: ir.Add) -> tuple[np.ndarray, ...]:
    """Each input at the end its multiplier's sign maximises (then minimises) the sum."""
    frames = []
    for name, m in zip(node.inputs, (int(node.scale0), int(node.scale1)), strict=True):
        t = graph.tensors[name]
        high, low = (t.hi, t.lo) if m >= 0 else (t.lo, t.hi)
        frames.append(np.stack([np.full(t.shape, high), np.full(t.shape, low)]).astype(np.int64))
    return tuple(frames)


def _dense(graph: ir.Graph, node: ir.Dense) -> tuple[np.ndarray, ...]:
    inp = graph.tensors[node.inputs[0]]
    frames = []
    for row in node.weight:
        for positive, negative in ((inp.hi, inp.lo), (inp.lo, inp.hi)):
            frames.append(np.broadcast_to(np.where(row > 0, positive, negative), inp.shape))
    return (np.array(frames, dtype=np.int64),)


def _conv(graph: ir.Graph, node: ir.Conv) -> tuple[np.ndarray, ...]:
    return (_conv_frames(node, graph.tensors[node.inputs[0]]),)


def _conv_frames(node: ir.Conv, inp: ir.Tensor) -> np.ndarray:
    spatial = inp.shape[1:]
    kernel = node.weight.shape[2:]
    nd = len(kernel)
    origin = []
    for axis in range(nd):
        span = (kernel[axis] - 1) * node.dilations[axis]
        pad = node.pads[axis]
        # the first output position whose window lies wholly inside the input (no padding in it)
        o = next(
            (
                o
                for o in range(spatial[axis])
                if o * node.strides[axis] - pad >= 0 and o * node.strides[axis] - pad + span <= spatial[axis] - 1
            ),
            None,
        )
        if o is None:
            raise ValueError(f"layer {node.name}: no output position has a window free of padding")
        origin.append(o * node.strides[axis] - pad)
    base = min(max(0, inp.lo), inp.hi)
    oc, icg = node.weight.shape[:2]
    per_group = oc // node.group
    frames = []
    for o in range(oc):
        g = o // per_group
        for positive, negative in ((inp.hi, inp.lo), (inp.lo, inp.hi)):
            frame = np.full(inp.shape, base, dtype=np.int64)
            for index in np.ndindex(icg, *kernel):
                c, k = index[0], index[1:]
                pos = tuple(origin[a] + k[a] * node.dilations[a] for a in range(nd))
                frame[(g * icg + c,) + pos] = positive if node.weight[(o,) + index] > 0 else negative
            frames.append(frame)
    return np.array(frames, dtype=np.int64)


FRAMES = {
    ir.Dense: _dense,
    ir.Conv: _conv,
    ir.SumPool: _extremes,
    ir.Add: _add,
    ir.Threshold: _extremes,
    ir.MaxPool: _extremes,
    ir.Concat: _extremes,
    ir.Reshape: _extremes,
    ir.Transpose: _extremes,
}
